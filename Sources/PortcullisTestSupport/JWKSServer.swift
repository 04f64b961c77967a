import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP/1.1 server on `127.0.0.1` publishing a JWK Set for `jwks_url` tests: what it answers
/// can be changed at any time, it counts the requests it gets, and a test can await a count.
///
/// Every request is answered from the `Answer` in force when its head arrives; the request
/// is counted then, before the answer is written. `shutdown()` stops listening and closes every
/// connection, so a client's keep-alive pool cannot keep reaching it.
public final class JWKSServer: Sendable {
    public enum Answer: Sendable {
        /// 200 `application/json` with these bytes.
        case body([UInt8])
        /// This status with a small JSON error body.
        case status(Int)
        /// Closes the connection without answering.
        case close
    }

    /// Thrown by `waitForRequests` when the deadline passes first.
    public struct TimedOut: Error, CustomStringConvertible {
        public var expected: Int
        public var received: Int
        public var description: String { "JWKSServer: expected \(expected) requests, received \(received)" }
    }

    fileprivate struct Waiter {
        var count: Int
        var continuation: CheckedContinuation<Void, any Error>
    }

    fileprivate struct State {
        var answer: Answer
        var requests = 0
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiterID: UInt64 = 0
    }

    private let serverChannel: any Channel
    private let state: NIOLockedValueBox<State>
    private let channels: OpenChannels

    public let port: Int

    /// `http://127.0.0.1:PORT/jwks.json`.
    public var url: String { "http://127.0.0.1:\(port)/jwks.json" }

    /// Requests received so far.
    public var requestCount: Int { state.withLockedValue { $0.requests } }

    private init(serverChannel: any Channel, state: NIOLockedValueBox<State>, channels: OpenChannels) throws {
        self.channels = channels
        guard let port = serverChannel.localAddress?.port else { throw ChannelError.unknownLocalAddress }
        self.serverChannel = serverChannel
        self.state = state
        self.port = port
    }

    /// Binds a free port on `127.0.0.1` and answers every request with `answer`.
    public static func start(answer: Answer) async throws -> JWKSServer {
        let state = NIOLockedValueBox(State(answer: answer))
        let channels = OpenChannels()
        let serverChannel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    channels.track(channel)
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        JWKSServerHandler { JWKSServer.countRequest(in: state) })
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return try JWKSServer(serverChannel: serverChannel, state: state, channels: channels)
    }

    /// Answers every later request with `answer`.
    public func answer(with answer: Answer) {
        state.withLockedValue { $0.answer = answer }
    }

    /// Returns once at least `count` requests have arrived; throws `TimedOut` when `timeout`
    /// passes first.
    public func waitForRequests(count: Int, timeout: Duration = .seconds(15)) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.requests(atLeast: count) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw TimedOut(expected: count, received: self.requestCount)
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Stops accepting, closes every open connection, and fails pending waits.
    public func shutdown() async throws {
        try await serverChannel.close()
        await channels.closeAll()
        let waiters = state.withLockedValue { state in
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.continuation.resume(throwing: ChannelError.ioOnClosedChannel) }
    }

    private func requests(atLeast count: Int) async throws {
        let id = state.withLockedValue { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome { case ready, cancelled, waiting }
                // Under the lock, so a cancellation that ran before the waiter was stored is seen.
                let outcome: Outcome = state.withLockedValue { state in
                    if state.requests >= count { return .ready }
                    if Task.isCancelled { return .cancelled }
                    state.waiters[id] = Waiter(count: count, continuation: continuation)
                    return .waiting
                }
                switch outcome {
                case .ready: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .waiting: break
                }
            }
        } onCancel: {
            let waiter = state.withLockedValue { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Counts a request and returns the answer it gets.
    private static func countRequest(in state: NIOLockedValueBox<State>) -> Answer {
        let (answer, ready) = state.withLockedValue { state in
            state.requests += 1
            let ready = state.waiters.filter { $0.value.count <= state.requests }
            for id in ready.keys { state.waiters[id] = nil }
            return (state.answer, Array(ready.values))
        }
        for waiter in ready { waiter.continuation.resume() }
        return answer
    }
}

/// Answers one connection of a `JWKSServer`.
private final class JWKSServerHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let countRequest: @Sendable () -> JWKSServer.Answer
    private var answer: JWKSServer.Answer?
    private var keepAlive = true

    init(countRequest: @escaping @Sendable () -> JWKSServer.Answer) {
        self.countRequest = countRequest
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            let answer = countRequest()
            if case .close = answer {
                context.close(promise: nil)
                return
            }
            self.answer = answer
            keepAlive = head.isKeepAlive
        case .body:
            break
        case .end:
            guard let answer else { return }
            self.answer = nil
            let (status, body): (Int, [UInt8]) =
                switch answer {
                case .body(let bytes): (200, bytes)
                case .status(let code): (code, Array(#"{"error":"test"}"#.utf8))
                case .close: (0, [])  // closed at the head
                }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: "\(body.count)")
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
            let keepAlive = self.keepAlive
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }
}

@available(*, unavailable)
extension JWKSServerHandler: Sendable {}
