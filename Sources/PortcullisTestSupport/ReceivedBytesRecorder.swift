import NIOCore

/// Hands every byte a connection reads to `record` before passing it on, so an
/// `UpstreamStub` can show what arrived on the wire, not only what its HTTP decoder made of it.
final class ReceivedBytesRecorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let record: @Sendable (ByteBuffer) -> Void

    init(_ record: @escaping @Sendable (ByteBuffer) -> Void) {
        self.record = record
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        record(unwrapInboundIn(data))
        context.fireChannelRead(data)
    }
}

@available(*, unavailable)
extension ReceivedBytesRecorder: Sendable {}
