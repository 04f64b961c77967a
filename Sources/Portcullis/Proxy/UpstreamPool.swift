import NIOCore
import NIOPosix

/// Keep-alive connections to one upstream, owned by one event loop (no locks: every call
/// happens on that loop). At most `max_connections` are open or opening; further requests
/// wait in order for one to be released.
final class UpstreamPool {
    typealias Lease = (Result<UpstreamConnection, UpstreamFailure>) -> Void

    private let eventLoop: EventLoop
    private let target: UpstreamTarget
    private var idle: [UpstreamConnection] = []
    private var openCount = 0
    private var waiters = CircularBuffer<Lease>()

    init(eventLoop: EventLoop, target: UpstreamTarget) {
        self.eventLoop = eventLoop
        self.target = target
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
        guard target.settings.scheme == .http else {
            // https upstreams need the TLS client, which is not part of this build yet.
            lease(.failure(.connect))
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
        future.assumeIsolated().whenComplete { [weak self] result in
            switch result {
            case .success:
                lease(.success(connection))
            case .failure(let error):
                self?.openCount -= 1
                if let error = error as? ChannelError, case .connectTimeout = error {
                    lease(.failure(.timeout))
                } else {
                    lease(.failure(.connect))
                }
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
