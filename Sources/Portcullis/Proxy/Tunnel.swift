import NIOCore

/// A WebSocket connection after the upstream's `101`: bytes are copied both ways unchanged,
/// with backpressure both ways (reads on one side wait while the other side is not
/// writable), until either side closes or nothing moves in either direction for the idle
/// timeout. The gateway never looks inside: authorization happened once, at the handshake.
///
/// The client's `ClientConnectionHandler` owns it and passes on the client side's events;
/// the `UpstreamConnection` sends its events here directly once handed over. Everything
/// runs on the event loop both connections share.
final class Tunnel: UpstreamResponseDelegate {
    private var client: ChannelHandlerContext?
    private let upstream: UpstreamConnection
    private let eventLoop: EventLoop
    private let idleTimeout: TimeAmount
    private var idleTimer: Scheduled<Void>?
    private var lastActivity: NIODeadline
    private var clientReadPending = false
    private var upstreamNeedsFlush = false
    /// Called once when the upstream side ends the tunnel (or the idle timeout does); the
    /// client's handler then closes the client connection once its pending bytes are out.
    private var ended: (() -> Void)?

    /// `client` is the client handler's context; its writes and reads go through it.
    init(client: ChannelHandlerContext, upstream: UpstreamConnection, idleTimeout: TimeAmount, ended: @escaping () -> Void) {
        self.client = client
        self.upstream = upstream
        self.eventLoop = client.eventLoop
        self.idleTimeout = idleTimeout
        self.ended = ended
        self.lastActivity = client.eventLoop.now
    }

    /// Takes the upstream connection over; `early` are client bytes that arrived behind the
    /// handshake head (frames a client sent without waiting for the 101).
    func start(early: ByteBuffer?) {
        guard let client else { return }
        upstream.handOver(to: self)
        upstream.setReadPaused(!client.channel.isWritable)
        if let early {
            upstream.write(early)
            upstream.flush()
        }
        scheduleIdleCheck(at: lastActivity + idleTimeout)
    }

    // MARK: Client side (called by the client's handler)

    func clientBytes(_ bytes: ByteBuffer) {
        upstream.write(bytes)
        upstreamNeedsFlush = true
    }

    func clientReadComplete() {
        lastActivity = eventLoop.now
        if upstreamNeedsFlush {
            upstreamNeedsFlush = false
            upstream.flush()
        }
    }

    /// The client channel asks for more bytes: granted while the upstream can take them.
    func clientRead() {
        guard let client else { return }
        if upstream.isWritable {
            client.read()
        } else {
            clientReadPending = true
        }
    }

    func clientWritabilityChanged(_ writable: Bool) {
        upstream.setReadPaused(!writable)
    }

    /// The client connection closed (by the client, an error or shutdown): the upstream
    /// connection follows once the client's last bytes have been written to it.
    func clientClosed() {
        guard ended != nil else { return }
        ended = nil
        client = nil
        idleTimer?.cancel()
        upstream.closeAfterWrites()
    }

    // MARK: UpstreamResponseDelegate (the upstream side)

    func upstreamResponseHead(_ head: ResponseHead) {
        // Never called: after a 101 the connection carries no more HTTP.
    }

    func upstreamResponseBody(_ bytes: ByteBuffer) {
        guard let client else { return }
        client.write(NIOAny(bytes), promise: nil)
        if !client.channel.isWritable { upstream.setReadPaused(true) }
    }

    func upstreamResponseFlush() {
        lastActivity = eventLoop.now
        client?.flush()
    }

    func upstreamResponseEnd(reusable: Bool) {
        end()
    }

    func upstreamFailed(_ failure: UpstreamFailure) {
        end()
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        guard writable, clientReadPending, let client else { return }
        clientReadPending = false
        client.read()
    }

    // MARK: Ending

    private func end() {
        guard let ended else { return }
        self.ended = nil
        client = nil
        idleTimer?.cancel()
        upstream.close()
        ended()
    }

    /// One timer per idle period rather than one per read: it is moved on by the reads
    /// seen since it was set, and ends the tunnel when none came.
    private func scheduleIdleCheck(at deadline: NIODeadline) {
        guard ended != nil else { return }
        idleTimer = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            guard let self else { return }
            let due = self.lastActivity + self.idleTimeout
            if due <= self.eventLoop.now {
                self.end()
            } else {
                self.scheduleIdleCheck(at: due)
            }
        }
    }
}

@available(*, unavailable)
extension Tunnel: Sendable {}
