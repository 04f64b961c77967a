import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The gateway's client-facing listener: one `ClientConnectionHandler` per connection, one
/// `LoopContext` (pools, token cache) per event loop.
public final class GatewayServer: Sendable {
    private let channel: Channel
    private let contexts: [NIOLoopBound<LoopContext>]

    /// The address actually bound (port 0 in the config gives an ephemeral port).
    public var localAddress: SocketAddress? { channel.localAddress }
    public var port: Int { channel.localAddress?.port ?? 0 }

    private init(channel: Channel, contexts: [NIOLoopBound<LoopContext>]) {
        self.channel = channel
        self.contexts = contexts
    }

    /// Binds `server.listen` of the current runtime's config. Each accepted connection speaks
    /// TLS when the runtime current at that moment has `server.tls`, so a reload's certificate
    /// serves new connections while open ones keep theirs.
    public static func start(
        runtime runtimeBox: RuntimeBox, group: MultiThreadedEventLoopGroup, logger: Logger
    ) async throws -> GatewayServer {
        var contexts: [NIOLoopBound<LoopContext>] = []
        for loop in group.makeIterator() {
            let context = try await loop.submit {
                NIOLoopBound(LoopContext(eventLoop: loop, runtimeBox: runtimeBox, logger: logger), eventLoop: loop)
            }.get()
            contexts.append(context)
        }
        let server = runtimeBox.runtime.config.server
        let limit = ConnectionLimit(server.maxConnections)
        let loopContexts = contexts
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                guard limit.admit() else {
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in limit.release() }
                let loop = channel.eventLoop
                // One context per loop of the group; the child's loop is always one of them.
                let context = loopContexts.first { $0.eventLoop === loop }!.value
                let tls = runtimeBox.runtime.tls.listener
                return loop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    guard let tls else {
                        try pipeline.addHandler(ClientConnectionHandler(loop: context, scheme: "http"))
                        return
                    }
                    // A failed handshake reaches ClientConnectionHandler as an error, which closes the connection.
                    try pipeline.addHandler(NIOSSLServerHandler(context: tls))
                    try pipeline.addHandler(ClientConnectionHandler(loop: context, scheme: "https"))
                }
            }
            .bind(host: server.listen.host, port: server.listen.port)
            .get()
        return GatewayServer(channel: channel, contexts: contexts)
    }

    /// Graceful shutdown (SPEC section 6): stops accepting, lets requests in flight finish
    /// and closes every connection once it is idle, for at most `gracePeriod`; then closes
    /// whatever is left. Returns whether every connection finished in time.
    @discardableResult
    public func shutdown(gracePeriod: Duration) async -> Bool {
        try? await channel.close()
        var drains: [EventLoopFuture<Void>] = []
        for context in contexts {
            if let drain = try? await context.eventLoop.submit({ context.value.beginDrain() }).get() {
                drains.append(drain)
            }
        }
        let loop = contexts.first?.eventLoop ?? channel.eventLoop
        let all = EventLoopFuture.andAllSucceed(drains, on: loop)
        let (seconds, attoseconds) = gracePeriod.components
        let timeout = loop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) {}
        let finished = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let resumed = NIOLockedValueBox(false)
            @Sendable func resume(_ value: Bool) {
                let first = resumed.withLockedValue { done in
                    defer { done = true }
                    return !done
                }
                if first { continuation.resume(returning: value) }
            }
            all.whenComplete { _ in resume(true) }
            timeout.futureResult.whenComplete { _ in resume(false) }
        }
        timeout.cancel()
        for context in contexts {
            try? await context.eventLoop.submit {
                context.value.closeAllConnections()
                context.value.closeIdleConnections()
            }.get()
        }
        return finished
    }

    /// Stops accepting; connections in flight are not waited for here.
    public func close() async throws {
        try await channel.close()
        for context in contexts {
            try await context.eventLoop.submit { context.value.closeIdleConnections() }.get()
        }
    }
}

/// Counts open client connections against `server.max_connections`.
final class ConnectionLimit: Sendable {
    private let open = Atomic<Int>(0)
    private let limit: Int

    init(_ limit: Int) {
        self.limit = limit
    }

    /// Takes a slot, or returns false when the limit is reached.
    func admit() -> Bool {
        let count = open.add(1, ordering: .relaxed).newValue
        if count > limit {
            open.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func release() {
        open.subtract(1, ordering: .relaxed)
    }
}
