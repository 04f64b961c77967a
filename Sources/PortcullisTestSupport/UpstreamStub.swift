import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An HTTP/1.1 server on `127.0.0.1` that stands in for the user's service in integration tests:
/// it records every request the gateway forwards and answers according to a `Behavior`.
///
/// Start one per test, point an upstream at `url`, and `shutdown()` it at the end (it also closes
/// every connection still open, so a gateway's keep-alive pool sees them go). Runs on
/// `MultiThreadedEventLoopGroup.singleton`; every member is safe to use from any task.
public final class UpstreamStub: Sendable {
    /// How the stub answers each request.
    public enum Behavior: Sendable {
        /// 200 `application/json`: `{"method":..,"uri":..,"headers":[[name,value],...],
        /// "body_bytes":N,"body_checksum":"<fnv1a64 in hex>"}`.
        case echo
        /// 200 with a `Content-Length` body of `bytes` bytes, byte `i` being `i % 251`
        /// (`streamChecksum(count:)`), written in 64 KiB chunks only while the channel is writable.
        case stream(bytes: Int)
        /// As `.stream`, but without a `Content-Length`: the body goes out chunked, one chunk
        /// per 64 KiB write.
        case streamChunked(bytes: Int)
        /// Waits this long after the request before sending the `.echo` answer (for 504 tests).
        case delay(Duration)
        /// This status with a small JSON body (`{"status":N}`; none for 1xx, 204 and 304).
        case status(Int)
        /// Closes the connection as soon as a request head arrives, without answering (for 502 tests).
        case closeImmediately
    }

    /// Thrown by `waitForRequests` when the deadline passes first.
    public struct TimedOut: Error, CustomStringConvertible {
        public var expected: Int
        public var received: Int
        public var description: String { "UpstreamStub: expected \(expected) requests, received \(received)" }
    }

    private struct State {
        var requests: [RecordedRequest] = []
        /// With `recordingBytes`: the bytes of each connection, in accept order.
        var received: [[UInt8]] = []
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiterID: UInt64 = 0
    }

    private struct Waiter {
        var count: Int
        var continuation: CheckedContinuation<[RecordedRequest], any Error>
    }

    private let serverChannel: any Channel
    private let state: NIOLockedValueBox<State>
    private let channels: OpenChannels

    /// The bound port.
    public let port: Int
    /// `https` when started with a TLS context, else `http`.
    public let scheme: String

    /// `http://127.0.0.1:PORT` (`https://` when serving TLS).
    public var url: String { "\(scheme)://127.0.0.1:\(port)" }

    /// Every request received so far, in order of completion.
    public var requests: [RecordedRequest] { state.withLockedValue { $0.requests } }

    /// Connections accepted so far (to check that a keep-alive pool reuses them).
    public var acceptedConnections: Int { channels.accepted }

    /// Every byte each connection delivered (after TLS), one array per connection in accept
    /// order: what the gateway really wrote, before any HTTP parsing. Always empty unless the
    /// stub was started with `recordingBytes`, so large-body tests keep nothing in memory.
    public var receivedBytes: [[UInt8]] { state.withLockedValue { $0.received } }

    private init(serverChannel: any Channel, state: NIOLockedValueBox<State>, channels: OpenChannels, scheme: String) throws {
        self.channels = channels
        guard let port = serverChannel.localAddress?.port else {
            throw ChannelError.unknownLocalAddress
        }
        self.serverChannel = serverChannel
        self.state = state
        self.port = port
        self.scheme = scheme
    }

    /// Binds `127.0.0.1` on a free port and starts serving, over TLS with `tls`. A connection
    /// whose handshake fails is closed and records nothing. With `recordingBytes`, the raw bytes
    /// of every connection are kept too (`receivedBytes`).
    public static func start(
        behavior: Behavior = .echo, tls: NIOSSLContext? = nil, recordingBytes: Bool = false
    ) async throws -> UpstreamStub {
        let state = NIOLockedValueBox(State())
        let channels = OpenChannels()
        let serverChannel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    channels.track(channel)
                    let handler = UpstreamStubHandler(behavior: behavior) { Self.record($0, in: state) }
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    if recordingBytes {
                        let recorder = ReceivedBytesRecorder(Self.bytesRecorder(in: state))
                        try channel.pipeline.syncOperations.addHandler(recorder)
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return try UpstreamStub(serverChannel: serverChannel, state: state, channels: channels, scheme: tls == nil ? "http" : "https")
    }

    /// Stops accepting, closes every open connection, and fails pending `waitForRequests` calls.
    public func shutdown() async throws {
        try await serverChannel.close()
        await channels.closeAll()
        let waiters = state.withLockedValue { state in
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters {
            waiter.continuation.resume(throwing: ChannelError.ioOnClosedChannel)
        }
    }

    /// Returns the recorded requests as soon as at least `count` have been received; throws
    /// `TimedOut` when `timeout` passes first.
    public func waitForRequests(count: Int, timeout: Duration) async throws -> [RecordedRequest] {
        try await withThrowingTaskGroup(of: [RecordedRequest].self) { group in
            group.addTask { try await self.requests(atLeast: count) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw TimedOut(expected: count, received: self.requests.count)
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            return first
        }
    }

    private func requests(atLeast count: Int) async throws -> [RecordedRequest] {
        let id = state.withLockedValue { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                enum Outcome {
                    case ready([RecordedRequest])
                    case cancelled
                    case waiting
                }
                // Checked under the lock, so a cancellation handler that ran before the waiter was
                // registered (and found nothing to cancel) is still seen here.
                let outcome: Outcome = state.withLockedValue { state in
                    if state.requests.count >= count { return .ready(state.requests) }
                    if Task.isCancelled { return .cancelled }
                    state.waiters[id] = Waiter(count: count, continuation: continuation)
                    return .waiting
                }
                switch outcome {
                case .ready(let requests): continuation.resume(returning: requests)
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .waiting: break
                }
            }
        } onCancel: {
            let waiter = state.withLockedValue { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// A new connection's slot in `received`, and the function that appends to it.
    private static func bytesRecorder(in state: NIOLockedValueBox<State>) -> @Sendable (ByteBuffer) -> Void {
        let connection = state.withLockedValue { state in
            state.received.append([])
            return state.received.count - 1
        }
        return { bytes in state.withLockedValue { $0.received[connection] += bytes.readableBytesView } }
    }

    private static func record(_ request: RecordedRequest, in state: NIOLockedValueBox<State>) {
        let (requests, ready) = state.withLockedValue { state in
            state.requests.append(request)
            let ready = state.waiters.filter { $0.value.count <= state.requests.count }
            for id in ready.keys { state.waiters[id] = nil }
            return (state.requests, Array(ready.values))
        }
        for waiter in ready {
            waiter.continuation.resume(returning: requests)
        }
    }
}
