import Synchronization

/// What the JWKS fetcher has done for one issuer since the process started (reloads do not
/// reset it): the numbers behind the fetch and unknown-`kid` metrics.
public struct JWKSStatistics: Sendable, Equatable {
    /// `jwks_url` fetches that installed a key set (one per URL fetched).
    public var fetchSuccesses: Int
    /// Fetches that failed: unreachable, timed out, non-2xx, too large, unparsable or no usable key.
    public var fetchFailures: Int
    /// Tokens naming an unknown `kid` that started a refetch.
    public var unknownKeyIDRefetches: Int
    /// Tokens naming an unknown `kid` that did not, because a fetch for the issuer started
    /// less than the rate-limit interval ago or a refetch was already on its way.
    public var unknownKeyIDSuppressed: Int

    public init(fetchSuccesses: Int = 0, fetchFailures: Int = 0, unknownKeyIDRefetches: Int = 0, unknownKeyIDSuppressed: Int = 0) {
        self.fetchSuccesses = fetchSuccesses
        self.fetchFailures = fetchFailures
        self.unknownKeyIDRefetches = unknownKeyIDRefetches
        self.unknownKeyIDSuppressed = unknownKeyIDSuppressed
    }
}

/// The live counters of one issuer; the unknown-`kid` ones are bumped on event loops, so they
/// are plain atomics. Each count also goes to the gateway's metrics when there are any.
final class JWKSCounters: Sendable {
    let issuer: String
    let metrics: GatewayMetrics?
    let fetchSuccesses = Atomic<Int>(0)
    let fetchFailures = Atomic<Int>(0)
    let unknownKeyIDRefetches = Atomic<Int>(0)
    let unknownKeyIDSuppressed = Atomic<Int>(0)

    init(issuer: String, metrics: GatewayMetrics?) {
        self.issuer = issuer
        self.metrics = metrics
    }

    func countFetch(success: Bool) {
        if success {
            fetchSuccesses.add(1, ordering: .relaxed)
        } else {
            fetchFailures.add(1, ordering: .relaxed)
        }
        metrics?.recordJWKSFetch(issuer: issuer, success: success)
    }

    func countUnknownKeyID(refetched: Bool) {
        if refetched {
            unknownKeyIDRefetches.add(1, ordering: .relaxed)
        } else {
            unknownKeyIDSuppressed.add(1, ordering: .relaxed)
        }
        metrics?.recordUnknownKeyID(issuer: issuer, refetched: refetched)
    }

    var snapshot: JWKSStatistics {
        JWKSStatistics(
            fetchSuccesses: fetchSuccesses.load(ordering: .relaxed),
            fetchFailures: fetchFailures.load(ordering: .relaxed),
            unknownKeyIDRefetches: unknownKeyIDRefetches.load(ordering: .relaxed),
            unknownKeyIDSuppressed: unknownKeyIDSuppressed.load(ordering: .relaxed)
        )
    }
}
