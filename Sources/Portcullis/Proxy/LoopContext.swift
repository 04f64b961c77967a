import Logging
import NIOCore

/// State owned by one event loop and shared by every client connection on it: upstream
/// pools, the verified-token cache and the request-id generator. Never touched from another
/// thread, so it needs no locks.
final class LoopContext {
    let eventLoop: EventLoop
    let runtimeBox: RuntimeBox
    let logger: Logger
    /// Access-log lines go here: the gateway's logger, never quieter than info, so that
    /// `log.level: warning` keeps the access log (as nginx's access_log is independent of
    /// its error_log level).
    let accessLogger: Logger
    let tokenCache: VerifiedTokenCache
    let metrics: LoopMetrics
    var revocationFailureLog = RevocationFailureLog()
    private var pools: [String: UpstreamPool] = [:]
    /// Open client connections on this loop, for graceful shutdown.
    private var connections: [ObjectIdentifier: ClientConnectionHandler] = [:]
    /// Set once shutdown has begun: connections close as soon as they are idle.
    private(set) var draining = false
    private var drained: EventLoopPromise<Void>?
    private var requestIDs = RequestIDGenerator()

    init(eventLoop: EventLoop, runtimeBox: RuntimeBox, logger: Logger) {
        self.eventLoop = eventLoop
        self.runtimeBox = runtimeBox
        self.logger = logger
        var accessLogger = logger
        accessLogger.logLevel = min(logger.logLevel, .info)
        accessLogger[metadataKey: "portcullis.log"] = "access"
        self.accessLogger = accessLogger
        self.metrics = LoopMetrics(runtimeBox.metrics)
        self.tokenCache = VerifiedTokenCache(
            counters: (hits: runtimeBox.metrics.tokenCacheHits, misses: runtimeBox.metrics.tokenCacheMisses)
        )
    }

    func pool(for target: UpstreamTarget) -> UpstreamPool {
        if let pool = pools[target.poolKey] {
            pool.adopt(target)
            return pool
        }
        let pool = UpstreamPool(eventLoop: eventLoop, target: target)
        pools[target.poolKey] = pool
        return pool
    }

    /// 32 lowercase hex digits (128 random bits).
    func makeRequestID() -> String {
        requestIDs.make()
    }

    func register(_ connection: ClientConnectionHandler) {
        connections[ObjectIdentifier(connection)] = connection
    }

    func unregister(_ connection: ClientConnectionHandler) {
        connections[ObjectIdentifier(connection)] = nil
        if draining, connections.isEmpty {
            drained?.succeed()
            drained = nil
        }
    }

    /// Stops keep-alive: idle connections close now, busy ones after their current response.
    /// Succeeds once every connection of this loop is closed.
    func beginDrain() -> EventLoopFuture<Void> {
        draining = true
        for connection in Array(connections.values) { connection.closeIfIdle() }
        guard !connections.isEmpty else { return eventLoop.makeSucceededVoidFuture() }
        let promise = drained ?? eventLoop.makePromise(of: Void.self)
        drained = promise
        return promise.futureResult
    }

    /// After the grace period: whatever is still open is closed.
    func closeAllConnections() {
        for connection in Array(connections.values) { connection.forceClose() }
    }

    func closeIdleConnections() {
        for pool in pools.values { pool.closeIdle() }
    }
}

@available(*, unavailable)
extension LoopContext: Sendable {}
