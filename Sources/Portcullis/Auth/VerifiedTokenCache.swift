import CoreMetrics

/// Tokens whose signature, issuer, audience and required claims already passed, keyed by the
/// exact token string, so a repeated token costs one dictionary lookup instead of a signature check.
///
/// Not thread-safe: keep one per event loop. Time and type are checked on every hit by
/// ``TokenVerifier``. The cache empties itself when it is used with another verifier (a
/// reload) or when the verifier's key generation changes (a remote key set was replaced, so
/// a key it relied on may be gone). Eviction is CLOCK (second chance): O(1) amortised, and
/// the cache never holds more than `capacity` tokens.
public final class VerifiedTokenCache {
    private struct Slot {
        var token: String
        var value: VerifiedToken
        var referenced: Bool
    }

    public let capacity: Int
    private var index: [String: Int] = [:]
    private var slots: [Slot] = []
    private var hand = 0
    private var verifier: UInt64 = 0
    private var generation: UInt64 = 0

    /// Lookups answered from the cache (for tests and metrics).
    public private(set) var hits = 0
    /// Lookups that had to verify.
    public private(set) var misses = 0

    /// Metric counters bumped with `hits` and `misses`.
    private let counters: (hits: CoreMetrics.Counter, misses: CoreMetrics.Counter)?

    public convenience init(capacity: Int = 10_000) {
        self.init(capacity: capacity, counters: nil)
    }

    init(capacity: Int = 10_000, counters: (hits: CoreMetrics.Counter, misses: CoreMetrics.Counter)?) {
        precondition(capacity >= 0, "capacity must not be negative")
        self.capacity = capacity
        self.counters = counters
    }

    /// Tokens held now.
    public var count: Int { index.count }

    /// Drops every entry.
    public func removeAll() {
        index.removeAll(keepingCapacity: true)
        slots.removeAll(keepingCapacity: true)
        hand = 0
    }

    func lookup(_ token: String, verifier: UInt64, generation: UInt64) -> VerifiedToken? {
        if verifier != self.verifier || generation != self.generation {
            removeAll()
            self.verifier = verifier
            self.generation = generation
        }
        guard let slot = index[token] else {
            misses += 1
            counters?.misses.increment()
            return nil
        }
        hits += 1
        counters?.hits.increment()
        slots[slot].referenced = true
        return slots[slot].value
    }

    /// Stores a verdict reached under `generation`; a verdict older than the cache's is dropped.
    func insert(_ token: String, _ value: VerifiedToken, verifier: UInt64, generation: UInt64) {
        guard capacity > 0 else { return }
        if verifier != self.verifier || generation > self.generation {
            removeAll()
            self.verifier = verifier
            self.generation = generation
        } else if generation < self.generation {
            return
        }
        guard index[token] == nil else { return }
        if slots.count < capacity {
            index[token] = slots.count
            slots.append(Slot(token: token, value: value, referenced: false))
            return
        }
        while slots[hand].referenced {
            slots[hand].referenced = false
            hand = (hand + 1) % capacity
        }
        index.removeValue(forKey: slots[hand].token)
        slots[hand] = Slot(token: token, value: value, referenced: false)
        index[token] = hand
        hand = (hand + 1) % capacity
    }
}

@available(*, unavailable)
extension VerifiedTokenCache: Sendable {}
