import NIOCore
import NIOPosix
import NIOSSL

/// Keep-alive connections to one upstream, owned by one event loop (no locks: every call
/// happens on that loop). At most `max_connections` are open or opening; further requests
/// wait in order for one to be released.
final class UpstreamPool {
    typealias Lease = (Result<UpstreamConnection, UpstreamFailure>) -> Void

    private let eventLoop: EventLoop
    private var target: UpstreamTarget
    private var idle: [UpstreamConnection] = []
    private var openCount = 0
    private var waiters = CircularBuffer<Lease>()

    init(eventLoop: EventLoop, target: UpstreamTarget) {
        self.eventLoop = eventLoop
        self.target = target
    }

    /// An https target of a newer runtime (a reload re-read its CA file): connections opened
    /// from now on use its TLS context; open ones keep the one they were verified with.
    func adopt(_ newer: UpstreamTarget) {
        if let tls = newer.tls, tls.context !== target.tls?.context { target = newer }
    }

    /// Calls `lease` with a connection, at once when one is idle.
    func acquire(_ lease: @escaping Lease) {
        eventLoop.assertInEventLoop()
        while let connection = idle.popLast() {
            if !connection.isClosed {
                lease(.success(connection))
                return
            }
        }
        if openCount < target.settings.maxConnections {
            connect(lease)
        } else {
            waiters.append(lease)
        }
    }

    /// Gives a connection whose exchange ended cleanly back for reuse.
    func release(_ connection: UpstreamConnection) {
        eventLoop.assertInEventLoop()
        guard !connection.isClosed else { return }
        if let waiter = waiters.popFirst() {
            waiter(.success(connection))
        } else {
            idle.append(connection)
        }
    }

    /// Called by a connection when its channel closed.
    func connectionClosed(_ connection: UpstreamConnection) {
        openCount -= 1
        idle.removeAll { $0 === connection }
        if let waiter = waiters.popFirst() {
            connect(waiter)
        }
    }

    private func connect(_ lease: @escaping Lease) {
        if let tls = target.tls {
            connect(tls: tls, lease)
            return
        }
        openCount += 1
        let connection = UpstreamConnection()
        connection.pool = self
        let settings = target.settings
        let timeout = TimeAmount.nanoseconds(Int64(settings.connectTimeout.components.seconds) * 1_000_000_000
            + settings.connectTimeout.components.attoseconds / 1_000_000_000)
        let future = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.autoRead, value: true)
            .channelInitializer { [connection = NIOLoopBound(connection, eventLoop: eventLoop)] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(connection.value)
                }
            }
            .connect(host: settings.host, port: settings.port)
        // Strong captures: a connect attempt ends within connect_timeout, and a weak reference
        // would put every retain of the pool (one per request) on the runtime's slow path.
        future.assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success:
                lease(.success(connection))
            case .failure(let error):
                openCount -= 1
                if let error = error as? ChannelError, case .connectTimeout = error {
                    lease(.failure(.timeout))
                } else {
                    lease(.failure(.connect))
                }
            }
        }
    }

    /// https: the connection is leased only once its handshake completed, certificate and host
    /// name verified; a failed handshake is a connect failure (502). `connect_timeout` covers
    /// the TCP connect and the handshake together (504).
    private func connect(tls: UpstreamTLS, _ lease: @escaping Lease) {
        openCount += 1
        let connection = UpstreamConnection()
        connection.pool = self
        let settings = target.settings
        let timeout = TimeAmount(settings.connectTimeout)
        let outcome = PendingLease(lease)
        let deadline = eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            outcome.settle(.failure(.timeout))
            connection.close()
        }
        let handshake = UpstreamTLSHandshake { result in
            deadline.cancel()
            switch result {
            case .success:
                outcome.settle(.success(connection))
            case .failure:
                outcome.settle(.failure(.connect))
                connection.close()
            }
        }
        ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.autoRead, value: true)
            .channelInitializer { [loop = eventLoop, connection = NIOLoopBound(connection, eventLoop: eventLoop),
                handshake = NIOLoopBound(handshake, eventLoop: eventLoop)] channel in
                loop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverHostname))
                    try pipeline.addHandler(handshake.value)
                    try pipeline.addHandler(connection.value)
                }
            }
            .connect(host: settings.host, port: settings.port)
            .assumeIsolated().whenFailure { [self] error in
                // The channel never became active, so `connectionClosed` will not be called.
                deadline.cancel()
                openCount -= 1
                if let error = error as? ChannelError, case .connectTimeout = error {
                    outcome.settle(.failure(.timeout))
                } else {
                    outcome.settle(.failure(.connect))
                }
            }
    }

    /// Closes idle connections (shutdown, or a reload that dropped this upstream).
    func closeIdle() {
        let connections = idle
        idle.removeAll()
        for connection in connections { connection.close() }
    }
}

@available(*, unavailable)
extension UpstreamPool: Sendable {}

/// The lease of one https connect, answered once by whichever comes first: the TCP connect
/// failing, the handshake ending, or `connect_timeout`.
private final class PendingLease {
    private var lease: UpstreamPool.Lease?

    init(_ lease: @escaping UpstreamPool.Lease) {
        self.lease = lease
    }

    func settle(_ result: Result<UpstreamConnection, UpstreamFailure>) {
        guard let lease else { return }
        self.lease = nil
        lease(result)
    }
}

@available(*, unavailable)
extension PendingLease: Sendable {}
