import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// A WebSocket service on `127.0.0.1` for tunnelling tests, built on NIOHTTP1 and NIOWebSocket's
/// server upgrader: it records every request that reaches it (handshakes included) and every
/// tunnel that opens and closes, and answers per its `Behavior`.
///
/// Runs on `MultiThreadedEventLoopGroup.singleton`; every member is safe from any task.
public final class WebSocketUpstream: Sendable {
    public enum Behavior: Sendable {
        /// Accepts every handshake and echoes text, binary and continuation frames as they
        /// come, answers ping with pong and close with close (then closes). The text frame
        /// `close-now` makes it close the connection at once, without a close frame. A request
        /// that is not a handshake gets 200 `{"status":200}`.
        case echo
        /// Refuses every handshake: every request gets this status with `{"status":N}`. The
        /// connection stays open, except after a refused handshake: NIOHTTP1's decoder parses
        /// nothing after a request that asked for an upgrade, so that answer says
        /// `Connection: close` and the connection closes.
        case refuse(status: Int)
    }

    /// What the upstream has seen so far.
    public struct Observed: Sendable {
        /// Every request that reached it, handshakes included, in order.
        public var requests: [RecordedRequest] = []
        public var tunnelsOpened = 0
        public var tunnelsClosed = 0
    }

    private struct Waiter {
        var condition: @Sendable (Observed) -> Bool
        var continuation: CheckedContinuation<Observed, any Error>
    }

    private struct State {
        var observed = Observed()
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiterID: UInt64 = 0
    }

    public struct TimedOut: Error, CustomStringConvertible {
        public var observed: Observed
        public var description: String {
            "WebSocketUpstream: condition not met; \(observed.requests.count) requests, "
                + "\(observed.tunnelsOpened) tunnels opened, \(observed.tunnelsClosed) closed"
        }
    }

    private let serverChannel: any Channel
    private let state: NIOLockedValueBox<State>
    private let channels: OpenChannels
    public let port: Int
    public var url: String { "http://127.0.0.1:\(port)" }
    public var observed: Observed { state.withLockedValue { $0.observed } }

    private init(serverChannel: any Channel, state: NIOLockedValueBox<State>, channels: OpenChannels, port: Int) {
        self.channels = channels
        self.serverChannel = serverChannel
        self.state = state
        self.port = port
    }

    public static func start(behavior: Behavior = .echo) async throws -> WebSocketUpstream {
        let state = NIOLockedValueBox(State())
        let channels = OpenChannels()
        let httpHandlerName = "websocket-upstream-http"
        let serverChannel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    channels.track(channel)
                    let upgrader = NIOWebSocketServerUpgrader(
                        maxFrameSize: 16 << 20,
                        shouldUpgrade: { channel, _ in
                            guard case .echo = behavior else { return channel.eventLoop.makeSucceededFuture(nil) }
                            return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
                        },
                        upgradePipelineHandler: { channel, head in
                            update(state) {
                                $0.requests.append(record(head))
                                $0.tunnelsOpened += 1
                            }
                            channel.closeFuture.whenComplete { _ in update(state) { $0.tunnelsClosed += 1 } }
                            return channel.eventLoop.makeCompletedFuture {
                                channel.pipeline.syncOperations.removeHandler(name: httpHandlerName, promise: nil)
                                try channel.pipeline.syncOperations.addHandler(WebSocketEchoHandler())
                            }
                        }
                    )
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in })
                    )
                    let status: Int
                    switch behavior {
                    case .echo: status = 200
                    case .refuse(let refusal): status = refusal
                    }
                    let plain = PlainRequestHandler(status: status) { head in update(state) { $0.requests.append(record(head)) } }
                    try channel.pipeline.syncOperations.addHandler(plain, name: httpHandlerName)
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        guard let port = serverChannel.localAddress?.port else { throw ChannelError.unknownLocalAddress }
        return WebSocketUpstream(serverChannel: serverChannel, state: state, channels: channels, port: port)
    }

    /// Returns what was observed once `condition` holds; throws `TimedOut` after `timeout`.
    @discardableResult
    public func wait(timeout: Duration = .seconds(10), until condition: @escaping @Sendable (Observed) -> Bool) async throws -> Observed {
        let id = state.withLockedValue { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return try await withThrowingTaskGroup(of: Observed.self) { group in
            group.addTask {
                try await withCheckedThrowingContinuation { continuation in
                    // Checked under the lock that `defer` takes, so a waiter is never left behind.
                    let now: Result<Observed, any Error>? = self.state.withLockedValue { state in
                        if condition(state.observed) { return .success(state.observed) }
                        if Task.isCancelled { return .failure(CancellationError()) }
                        state.waiters[id] = Waiter(condition: condition, continuation: continuation)
                        return nil
                    }
                    if let now { continuation.resume(with: now) }
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw TimedOut(observed: self.observed)
            }
            defer {
                group.cancelAll()
                let waiter = state.withLockedValue { $0.waiters.removeValue(forKey: id) }
                waiter?.continuation.resume(throwing: CancellationError())
            }
            guard let first = try await group.next() else { throw CancellationError() }
            return first
        }
    }

    /// Stops accepting and closes every connection still open.
    public func shutdown() async throws {
        try await serverChannel.close()
        await channels.closeAll()
        let waiters = state.withLockedValue { state in
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.continuation.resume(throwing: ChannelError.ioOnClosedChannel) }
    }

    private static func update(_ state: NIOLockedValueBox<State>, _ change: (inout Observed) -> Void) {
        let (ready, observed) = state.withLockedValue { state in
            change(&state.observed)
            let ready = state.waiters.filter { $0.value.condition(state.observed) }
            for id in ready.keys { state.waiters[id] = nil }
            return (Array(ready.values), state.observed)
        }
        for waiter in ready { waiter.continuation.resume(returning: observed) }
    }

    private static func record(_ head: HTTPRequestHead) -> RecordedRequest {
        RecordedRequest(
            method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) },
            bodyBytes: 0, bodyChecksum: FNV1a64.offsetBasis
        )
    }
}

/// Answers a request that is not (or may not be) upgraded, once its end arrived.
private final class PlainRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let status: Int
    private let record: (HTTPRequestHead) -> Void
    private var head: HTTPRequestHead?

    init(status: Int, record: @escaping (HTTPRequestHead) -> Void) {
        self.status = status
        self.record = record
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
        case .body:
            break
        case .end:
            guard let requestHead = head else { return }
            head = nil
            record(requestHead)
            let body = ByteBuffer(string: #"{"status":\#(status)}"#)
            var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "\(body.readableBytes)")])
            let close = !requestHead.isKeepAlive || requestHead.headers.contains(name: "Upgrade")
            if close { headers.add(name: "Connection", value: "close") }
            let responseHead = HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers)
            context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if close { written.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
        }
    }
}

/// The tunnel's far end: echoes data frames, answers ping and close.
private final class WebSocketEchoHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let payload = frame.unmaskedData
        switch frame.opcode {
        case .text where payload.readableBytesView.elementsEqual("close-now".utf8):
            context.close(promise: nil)
        case .text, .binary, .continuation:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: frame.fin, opcode: frame.opcode, data: payload)), promise: nil)
        case .ping:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: payload)), promise: nil)
        case .connectionClose:
            let reply = WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)
            context.writeAndFlush(wrapOutboundOut(reply)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        default:
            break
        }
    }
}
