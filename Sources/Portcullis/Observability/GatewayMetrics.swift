import CoreMetrics
import NIOCore
import Prometheus

/// The gateway's metrics (SPEC section 5), recorded through swift-metrics into one
/// swift-prometheus registry per process, and served as Prometheus text on the admin
/// listener's `/metrics`.
///
/// Not bootstrapped into the global `MetricsSystem`: every gateway in a process (tests run
/// several) has its own registry. It outlives reloads, so counters keep counting across them.
///
/// Labels come from bounded sets only: route and upstream names from the config, numeric
/// status codes, the auth error codes, and fixed kinds. A handle for a label set is made
/// once (the registry takes a lock) and then cached per event loop (``LoopMetrics``), so
/// the request path only does atomic adds and one short histogram lock.
public final class GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    let revocationErrors: CoreMetrics.Counter
    let revocationCheckDuration: CoreMetrics.Timer
    let tokenCacheHits: CoreMetrics.Counter
    let tokenCacheMisses: CoreMetrics.Counter

    /// For a proxy: 100 µs (a cached token and a fast upstream) to 10 s (a slow upstream).
    static let requestBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    /// An in-process plugin answers in microseconds, a remote one in a round trip; the check
    /// is bounded by `blocklist.timeout` (100 ms by default).
    static let revocationBuckets: [Duration] = [
        .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250),
        .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
    ]

    enum Name {
        static let requests = "portcullis_requests_total"
        static let requestDuration = "portcullis_request_duration_seconds"
        static let authDecisions = "portcullis_auth_decisions_total"
        static let revocationCheckDuration = "portcullis_revocation_check_duration_seconds"
        static let revocationErrors = "portcullis_revocation_errors_total"
        static let upstreamErrors = "portcullis_upstream_errors_total"
        static let configReloads = "portcullis_config_reloads_total"
        static let tokenCache = "portcullis_token_cache_lookups_total"
        static let jwksFetches = "portcullis_jwks_fetches_total"
        static let jwksRefetches = "portcullis_jwks_unknown_kid_refetches_total"
    }

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = [
            Name.requestDuration: Self.requestBuckets,
            Name.revocationCheckDuration: Self.revocationBuckets,
        ]
        self.registry = registry
        self.factory = factory
        revocationErrors = CoreMetrics.Counter(label: Name.revocationErrors, factory: factory)
        revocationCheckDuration = CoreMetrics.Timer(label: Name.revocationCheckDuration, factory: factory)
        tokenCacheHits = CoreMetrics.Counter(label: Name.tokenCache, dimensions: [("result", "hit")], factory: factory)
        tokenCacheMisses = CoreMetrics.Counter(label: Name.tokenCache, dimensions: [("result", "miss")], factory: factory)
        // Both outcomes are visible from the start, so a rate() over them never sees a gap.
        for result in ["success", "failure"] {
            _ = CoreMetrics.Counter(label: Name.configReloads, dimensions: [("result", result)], factory: factory)
        }
    }

    /// The Prometheus text exposition of every metric.
    public func render() -> [UInt8] {
        registry.emitToBuffer()
    }

    // MARK: Handles (each call takes the registry's lock: cache what the request path uses)

    func requests(route: String, code: Int) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: Name.requests, dimensions: [("route", route), ("code", String(code))], factory: factory)
    }

    func requestDuration(route: String) -> CoreMetrics.Timer {
        CoreMetrics.Timer(label: Name.requestDuration, dimensions: [("route", route)], factory: factory)
    }

    func authDecisions(route: String, result: String) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: Name.authDecisions, dimensions: [("route", route), ("result", result)], factory: factory)
    }

    func recordUpstreamError(upstream: String, kind: UpstreamFailure) {
        CoreMetrics.Counter(label: Name.upstreamErrors, dimensions: [("upstream", upstream), ("kind", kind.rawValue)], factory: factory)
            .increment()
    }

    func recordReload(success: Bool) {
        CoreMetrics.Counter(label: Name.configReloads, dimensions: [("result", success ? "success" : "failure")], factory: factory)
            .increment()
    }

    /// A JWKS fetch for `issuer` ended; `success` when the set was installed.
    public func recordJWKSFetch(issuer: String, success: Bool) {
        CoreMetrics.Counter(
            label: Name.jwksFetches, dimensions: [("issuer", issuer), ("result", success ? "success" : "failure")],
            factory: factory
        ).increment()
    }

    /// A token named a `kid` the cached set of `issuer` lacks: `started` when it caused a
    /// refetch, else the 30 s rate limit held it back.
    public func recordUnknownKeyID(issuer: String, refetched: Bool) {
        CoreMetrics.Counter(
            label: Name.jwksRefetches, dimensions: [("issuer", issuer), ("result", refetched ? "started" : "rate_limited")],
            factory: factory
        ).increment()
    }
}

/// One event loop's cache of metric handles by route, so that the request path never takes
/// the registry's lock. Loop-bound: no locks of its own.
final class LoopMetrics {
    let shared: GatewayMetrics
    private var routes: [String: RouteMetrics] = [:]

    init(_ shared: GatewayMetrics) {
        self.shared = shared
    }

    func route(_ name: String) -> RouteMetrics {
        if let metrics = routes[name] { return metrics }
        let metrics = RouteMetrics(name: name, shared: shared)
        routes[name] = metrics
        return metrics
    }

    /// Counts one answered request.
    func recordRequest(route: String, status: Int, auth: String, duration: TimeAmount) {
        let metrics = self.route(route)
        metrics.requests(code: status).increment()
        metrics.duration.recordNanoseconds(duration.nanoseconds)
        // `public` (an `auth: none` route) and `-` (refused before any auth) decided nothing.
        if auth != "public", auth != "-" {
            metrics.decisions(result: auth).increment()
        }
    }
}

/// The handles of one route label.
final class RouteMetrics {
    let name: String
    let duration: CoreMetrics.Timer
    private let shared: GatewayMetrics
    private var byCode: [Int: CoreMetrics.Counter] = [:]
    private var byResult: [String: CoreMetrics.Counter] = [:]

    init(name: String, shared: GatewayMetrics) {
        self.name = name
        self.shared = shared
        self.duration = shared.requestDuration(route: name)
    }

    func requests(code: Int) -> CoreMetrics.Counter {
        if let counter = byCode[code] { return counter }
        let counter = shared.requests(route: name, code: code)
        byCode[code] = counter
        return counter
    }

    func decisions(result: String) -> CoreMetrics.Counter {
        if let counter = byResult[result] { return counter }
        let counter = shared.authDecisions(route: name, result: result)
        byResult[result] = counter
        return counter
    }
}

@available(*, unavailable)
extension LoopMetrics: Sendable {}

@available(*, unavailable)
extension RouteMetrics: Sendable {}
