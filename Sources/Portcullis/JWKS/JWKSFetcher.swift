import AsyncHTTPClient
import Logging
import NIOCore
import Synchronization

/// Fetches every `jwks_url` of the current config and keeps the issuers' remote key sets
/// current (SPEC section 2): at start, every `refresh`, and on a token naming an unknown `kid`
/// (at most once per `unknownKeyIDInterval` per issuer, counting any fetch).
///
/// One per process. ``follow(_:)`` points it at a runtime, first at start and then on each
/// reload *before* the new runtime is swapped in: the new verifier is seeded with the last good
/// set of every URL it lists, so a reload neither makes the gateway unready nor refetches an
/// unchanged URL. A failed fetch changes nothing: the last good set stays. Each issuer has one
/// fetch loop (a task) that is idle between rounds; the HTTP client, on the gateway's
/// event loops, is created once a config lists a `jwks_url`. Call ``shutdown()`` before the
/// event loop group is shut down.
///
/// The unknown-`kid` signal comes from the request path: the verifier answers the token at
/// once (401 `invalid_token`, as without a refetch) and only notes the miss; the refetch runs
/// in the background, so a client retrying after it succeeds is accepted.
public final class JWKSFetcher: Sendable {
    public struct Settings: Sendable {
        /// One fetch, connection to last byte.
        public var timeout: Duration = .seconds(10)
        /// A larger answer is a failed fetch.
        public var maximumBodyBytes = 1 << 20
        /// An unknown `kid` refetches only if no fetch for its issuer started within this.
        public var unknownKeyIDInterval: Duration = .seconds(30)
        /// The first retry after a failed fetch; each further failure doubles it.
        public var firstRetryDelay: Duration = .seconds(1)
        public var maximumRetryDelay: Duration = .seconds(30)
        /// The clock of the unknown-`kid` rate limit (tests move one by hand).
        public var rateLimitClock: @Sendable () -> NIODeadline = { .now() }

        public init() {}
    }

    /// A URL as one issuer lists it: each issuer keeps its own last good set.
    private struct Origin: Hashable, Sendable {
        var issuer: String
        var url: String
    }

    private struct Feed: Sendable {
        var feed: JWKSIssuerFeed
        var loop: Task<Void, Never>
    }

    private struct State: Sendable {
        var client: HTTPClient?
        /// The verifier that fetched sets are installed into: the current runtime's.
        var verifier: TokenVerifier?
        var feeds: [String: Feed] = [:]
        var lastGood: [Origin: JWKSKeySet] = [:]
        /// Per issuer, kept across reloads so the counts only grow.
        var counters: [String: JWKSCounters] = [:]
        var isShutDown = false
    }

    private let group: any EventLoopGroup
    private let logger: Logger
    private let metrics: GatewayMetrics?
    private let settings: Settings
    private let download: JWKSDownload
    private let state = Mutex(State())

    /// `metrics`: where fetches and unknown-`kid` refetches are also counted.
    public init(group: any EventLoopGroup, logger: Logger, metrics: GatewayMetrics? = nil, settings: Settings = Settings()) {
        self.group = group
        self.logger = logger
        self.metrics = metrics
        self.settings = settings
        self.download = JWKSDownload(timeout: settings.timeout, maximumBodyBytes: settings.maximumBodyBytes)
    }

    /// Makes `runtime` the one to keep supplied: seeds its verifier with the last good sets,
    /// starts fetching URLs it adds and stops fetching URLs it drops. Does not block (no I/O);
    /// call it before `runtime` is swapped in. Does nothing after ``shutdown()``.
    public func follow(_ runtime: GatewayRuntime) {
        var wanted: [(issuer: String, sources: [JWKSSchedule.Source])] = []
        for issuer in runtime.config.jwt.issuers {
            let sources = issuer.keys.compactMap { source -> JWKSSchedule.Source? in
                guard case .jwksURL(let url, let refresh) = source.kind else { return nil }
                return JWKSSchedule.Source(url: url, refresh: refresh)
            }
            if !sources.isEmpty { wanted.append((issuer.issuer, sources)) }
        }
        let verifier = runtime.verifier
        state.withLock { state in
            guard !state.isShutDown else { return }
            state.verifier = verifier
            if !wanted.isEmpty, state.client == nil {
                var configuration = HTTPClient.Configuration()
                // The fetch loop retries with its own backoff; AsyncHTTPClient's retrying would
                // turn a refused connection into a 10 s timeout that hides the reason.
                configuration.connectionPool.retryConnectionEstablishment = false
                state.client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
            }
            let kept = Set(wanted.map(\.issuer))
            for (issuer, feed) in state.feeds where !kept.contains(issuer) {
                feed.loop.cancel()
                state.feeds[issuer] = nil
            }
            var listed: Set<Origin> = []
            for (issuer, sources) in wanted {
                listed.formUnion(sources.map { Origin(issuer: issuer, url: $0.url) })
                let feed: JWKSIssuerFeed
                if let existing = state.feeds[issuer]?.feed {
                    existing.update(sources: sources)
                    feed = existing
                } else {
                    let counters = state.counters[issuer] ?? JWKSCounters(issuer: issuer, metrics: metrics)
                    state.counters[issuer] = counters
                    feed = JWKSIssuerFeed(issuer: issuer, sources: sources, counters: counters, settings: settings)
                    state.feeds[issuer] = Feed(feed: feed, loop: Task { await self.run(feed) })
                }
                verifier.observeUnknownKeyIDs(forIssuer: issuer) { feed.unknownKeyIDSeen() }
                let known = feed.urls.compactMap { state.lastGood[Origin(issuer: issuer, url: $0)] }
                if !known.isEmpty {
                    verifier.replaceRemoteKeys(forIssuer: issuer, with: known.flatMap(\.keys))
                }
            }
            state.lastGood = state.lastGood.filter { listed.contains($0.key) }
        }
    }

    /// Stops every fetch loop, waits for them, and shuts the HTTP client down.
    public func shutdown() async {
        let (loops, client) = state.withLock { state in
            state.isShutDown = true
            defer { state.feeds = [:] }
            return (state.feeds.values.map(\.loop), state.client)
        }
        for loop in loops { loop.cancel() }
        for loop in loops { await loop.value }
        try? await client?.shutdown()
    }

    /// Per issuer with a `jwks_url` (now or earlier since the start): fetches and unknown-`kid`
    /// refetches so far.
    ///
    /// Read under the lock a round installs its keys in, so a count of successes never runs
    /// ahead of the keys it counts.
    public var statistics: [String: JWKSStatistics] {
        state.withLock { $0.counters.mapValues(\.snapshot) }
    }

    /// The statistics of `issuer`; all zero for an issuer never fetched for.
    public func statistics(forIssuer issuer: String) -> JWKSStatistics {
        statistics[issuer] ?? JWKSStatistics()
    }

    /// One issuer's fetch loop: a round fetches every due URL at once, then installs.
    private func run(_ feed: JWKSIssuerFeed) async {
        while !Task.isCancelled {
            let due = feed.startRound()
            if !due.isEmpty, let client = state.withLock({ $0.client }) {
                let download = self.download
                let results = await withTaskGroup(of: (String, Result<JWKSKeySet, JWKSFetchFailure>).self) { group in
                    for url in due {
                        group.addTask { (url, await download.fetch(url, using: client)) }
                    }
                    var results: [(String, Result<JWKSKeySet, JWKSFetchFailure>)] = []
                    for await result in group { results.append(result) }
                    return results
                }
                guard !Task.isCancelled else { return }  // shutting down: nothing to record
                finish(feed, results)
            }
            await feed.waitForNextRound()
        }
    }

    /// Records a round's results, installs the issuer's new union if a set changed, and logs.
    private func finish(_ feed: JWKSIssuerFeed, _ results: [(String, Result<JWKSKeySet, JWKSFetchFailure>)]) {
        let issuer = feed.issuer
        var successes: [(url: String, keys: Int, changed: Bool)] = []
        var failures: [(url: String, reason: String, retry: Duration, keeping: Bool)] = []
        state.withLock { state in
            var changed = false
            for (url, result) in results {
                switch result {
                case .success(let set):
                    feed.recordSuccess(url: url)
                    feed.counters.countFetch(success: true)
                    let origin = Origin(issuer: issuer, url: url)
                    let isNew = state.lastGood[origin]?.body != set.body
                    if isNew { state.lastGood[origin] = set }
                    changed = changed || isNew
                    successes.append((url, set.keys.count, isNew))
                case .failure(let failure):
                    let retry = feed.recordFailure(url: url)
                    feed.counters.countFetch(success: false)
                    failures.append((url, failure.reason, retry, state.lastGood[Origin(issuer: issuer, url: url)] != nil))
                }
            }
            guard changed, let verifier = state.verifier else { return }
            let known = feed.urls.compactMap { state.lastGood[Origin(issuer: issuer, url: $0)] }
            verifier.replaceRemoteKeys(forIssuer: issuer, with: known.flatMap(\.keys))
        }
        for success in successes {
            logger.info(
                "jwks_url fetched",
                metadata: [
                    "portcullis.issuer": "\(issuer)", "portcullis.jwks_url": "\(success.url)",
                    "portcullis.keys": "\(success.keys)", "portcullis.changed": "\(success.changed)",
                ])
        }
        for failure in failures {
            logger.warning(
                failure.keeping
                    ? "jwks_url fetch failed; the last good key set stays in use"
                    : "jwks_url fetch failed; the issuer has no keys from it yet",
                metadata: [
                    "portcullis.issuer": "\(issuer)", "portcullis.jwks_url": "\(failure.url)",
                    "portcullis.reason": "\(failure.reason)", "portcullis.retry_in": "\(failure.retry)",
                ])
        }
    }
}
