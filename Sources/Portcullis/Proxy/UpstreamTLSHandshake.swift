import NIOCore
import NIOSSL
import NIOTLS

/// Sits between `NIOSSLClientHandler` and `UpstreamConnection` on an https upstream
/// connection. Reports the end of the TLS handshake once, so that the pool leases only
/// connections whose certificate and host name were verified; afterwards it keeps a close
/// without `close_notify` from reaching `UpstreamConnection` as an error, so that the close
/// itself ends the exchange exactly as it does over plain TCP (a response delimited by the
/// close ends; one cut short is a reset).
final class UpstreamTLSHandshake: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Called once: success when the handshake completed, failure when the connection failed
    /// or closed before that. Never called when the TCP connect itself fails (the connect
    /// future reports that).
    private var onHandshake: ((Result<Void, any Error>) -> Void)?
    private var isActive = false

    init(onHandshake: @escaping (Result<Void, any Error>) -> Void) {
        self.onHandshake = onHandshake
    }

    func channelActive(context: ChannelHandlerContext) {
        isActive = true
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            report(.success(()))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if onHandshake != nil {
            // Not leased yet: the pool owns the outcome, and NIOSSL closes the channel.
            if isActive { report(.failure(error)) }
            return
        }
        if let error = error as? NIOSSLError, error == .uncleanShutdown { return }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        report(.failure(ChannelError.eof))
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        onHandshake = nil
    }

    private func report(_ result: Result<Void, any Error>) {
        guard let onHandshake else { return }
        self.onHandshake = nil
        onHandshake(result)
    }
}

@available(*, unavailable)
extension UpstreamTLSHandshake: Sendable {}
