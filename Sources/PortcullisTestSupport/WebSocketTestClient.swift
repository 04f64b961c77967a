import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A WebSocket client over a plain TCP connection: it sends the handshake as text, reads the
/// answer with `RawHTTPClient`'s parser, then writes masked frames and reads frames, so the
/// tests see exactly what the gateway put on the wire.
public final class WebSocketTestClient: Sendable {
    private let channel: Channel
    private let reader: ByteReader

    private init(channel: Channel, reader: ByteReader) {
        self.channel = channel
        self.reader = reader
    }

    /// Connects; `first` is written as soon as the connection is up, from the event loop, so
    /// no wait for a busy test thread pool can delay it past the gateway's `header_timeout`.
    public static func connect(port: Int, host: String = "127.0.0.1", sending first: String? = nil) async throws -> WebSocketTestClient {
        let reader = ByteReader()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(reader) }
            }
            .connect(host: host, port: port)
            .flatMap { channel in
                guard let first else { return channel.eventLoop.makeSucceededFuture(channel) }
                return channel.writeAndFlush(ByteBuffer(string: first)).map { channel }
            }
            .get()
        return WebSocketTestClient(channel: channel, reader: reader)
    }

    /// A handshake request for `path` (RFC 6455 section 4.1) with `Authorization: Bearer`
    /// when a token is given; `headers` are extra lines, each without CRLF.
    public static func handshake(path: String, token: String?, headers: [String] = []) -> String {
        var lines = [
            "GET \(path) HTTP/1.1", "Host: ws.example", "Upgrade: websocket", "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
        ]
        if let token { lines.append("Authorization: Bearer \(token)") }
        return (lines + headers).joined(separator: "\r\n") + "\r\n\r\n"
    }

    public func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    public func send(_ bytes: ByteBuffer) async throws {
        try await channel.writeAndFlush(bytes).get()
    }

    public func send(_ frame: WebSocketTestFrame) async throws {
        try await send(frame.encodedMasked())
    }

    /// Sends `frame` `count` times, one every `interval`, paced on the connection's event
    /// loop (so a busy test thread pool cannot stretch the pauses); returns after the last.
    public func send(_ frame: WebSocketTestFrame, times count: Int, every interval: TimeAmount) async throws {
        let channel = self.channel
        let done = channel.eventLoop.makePromise(of: Void.self)
        @Sendable func tick(_ remaining: Int) {
            channel.writeAndFlush(frame.encodedMasked()).whenComplete { result in
                switch result {
                case .failure(let error):
                    done.fail(error)
                case .success where remaining == 1:
                    done.succeed()
                case .success:
                    channel.eventLoop.scheduleTask(in: interval) { tick(remaining - 1) }
                }
            }
        }
        channel.eventLoop.execute { tick(count) }
        try await done.futureResult.get()
    }

    /// The next HTTP response; after a `101` only its head is taken, frames stay buffered.
    public func response(timeout: Duration = .seconds(10)) async throws -> RawResponse {
        try await reader.next(on: channel.eventLoop, timeout: timeout) { buffer, closed in
            ResponseCollector.parse(&buffer, isHead: false, closed: closed, keepBody: true)
        }
    }

    /// The next frame from the gateway.
    public func frame(timeout: Duration = .seconds(10)) async throws -> WebSocketTestFrame {
        try await reader.next(on: channel.eventLoop, timeout: timeout) { buffer, _ in WebSocketTestFrame.parse(&buffer) }
    }

    /// Completes when the gateway closed the connection; throws `RawClientError.timedOut`
    /// after `timeout`.
    public func waitForClose(timeout: Duration = .seconds(10)) async throws {
        let loop = channel.eventLoop
        let promise = loop.makePromise(of: Void.self)
        let (seconds, attoseconds) = timeout.components
        let deadline = loop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) {
            promise.fail(RawClientError.timedOut)
        }
        channel.closeFuture.cascade(to: promise)
        defer { deadline.cancel() }
        try await promise.futureResult.get()
    }

    public var isActive: Bool { channel.isActive }

    public func close() async {
        try? await channel.close()
    }
}

/// Keeps what the connection received and hands it to one waiting parser at a time.
private final class ByteReader: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    private struct State {
        var buffer = ByteBuffer()
        var closed = false
        /// Tries to take what it waits for off the buffer; true once it is done (or failed).
        var waiter: (@Sendable (inout ByteBuffer, Bool) -> Bool)?
    }

    private let state = NIOLockedValueBox(State())

    func next<Value: Sendable>(
        on loop: EventLoop, timeout: Duration, _ parse: @escaping @Sendable (inout ByteBuffer, Bool) -> Value?
    ) async throws -> Value {
        let promise = loop.makePromise(of: Value.self)
        let (seconds, attoseconds) = timeout.components
        let deadline = loop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) {
            promise.fail(RawClientError.timedOut)
        }
        loop.execute {
            self.state.withLockedValue { state in
                state.waiter = { buffer, closed in
                    if let value = parse(&buffer, closed) {
                        promise.succeed(value)
                        return true
                    }
                    guard closed else { return false }
                    promise.fail(RawClientError.closed)
                    return true
                }
            }
            self.tryComplete()
        }
        defer { deadline.cancel() }
        do {
            return try await promise.futureResult.get()
        } catch {
            loop.execute { self.state.withLockedValue { $0.waiter = nil } }
            throw error
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        state.withLockedValue { _ = $0.buffer.writeBuffer(&bytes) }
        tryComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.withLockedValue { $0.closed = true }
        tryComplete()
        context.fireChannelInactive()
    }

    /// Runs on the channel's loop only, so the waiter's promise is completed outside the lock
    /// but never by two callers at once.
    private func tryComplete() {
        let (waiter, buffer, closed) = state.withLockedValue { state in
            defer { state.waiter = nil }
            return (state.waiter, state.buffer, state.closed)
        }
        guard let waiter else { return }
        var remaining = buffer
        let done = waiter(&remaining, closed)
        state.withLockedValue { state in
            state.buffer = remaining
            if !done { state.waiter = waiter }
        }
    }
}
