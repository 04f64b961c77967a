import NIOCore
import NIOSSL
import NIOTLS

/// Completes a promise with the server's certificate once the TLS handshake completed, or
/// with the error (or close) that ended the connection before that. Placed after
/// `NIOSSLClientHandler`.
final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var promise: EventLoopPromise<NIOSSLCertificate?>?

    init(_ promise: EventLoopPromise<NIOSSLCertificate?>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event, let promise {
            self.promise = nil
            let tls = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self)
            promise.succeed(tls?.peerCertificate)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(ChannelError.eof)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        fail(ChannelError.ioOnClosedChannel)
    }

    private func fail(_ error: any Error) {
        guard let promise else { return }
        self.promise = nil
        promise.fail(error)
    }
}

@available(*, unavailable)
extension TLSHandshakeWaiter: Sendable {}
