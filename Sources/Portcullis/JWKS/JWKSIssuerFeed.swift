import NIOCore
import Synchronization

/// The remote keys of one issuer: when its `jwks_url`s are fetched next, the signal that wakes
/// its fetch loop, and the unknown-`kid` rate limit. Lives as long as the issuer has a
/// `jwks_url` in the config, across reloads.
final class JWKSIssuerFeed: Sendable {
    let issuer: String
    let counters: JWKSCounters
    private let schedule: Mutex<JWKSSchedule>
    private let wake = JWKSWakeSignal()
    /// When the last fetch round started, in `clock` nanoseconds; `.min` before the first.
    private let lastFetchStart = Atomic<Int64>(.min)
    /// A refetch was asked for and its round has not started yet.
    private let refetchRequested = Atomic<Bool>(false)
    private let refetchInterval: Int64
    private let clock: @Sendable () -> NIODeadline

    init(issuer: String, sources: [JWKSSchedule.Source], counters: JWKSCounters, settings: JWKSFetcher.Settings) {
        self.issuer = issuer
        self.counters = counters
        self.schedule = Mutex(
            JWKSSchedule(
                sources: sources, now: .now(), firstRetryDelay: settings.firstRetryDelay,
                maximumRetryDelay: settings.maximumRetryDelay))
        self.refetchInterval = TimeAmount(settings.unknownKeyIDInterval).nanoseconds
        self.clock = settings.rateLimitClock
    }

    /// The issuer's URLs, in config order.
    var urls: [String] { schedule.withLock { $0.urls } }

    /// A token named a key the issuer lacks. Runs on an event loop: two atomic reads on the
    /// common (rate-limited) path, a short lock and a wake-up when it starts a refetch.
    func unknownKeyIDSeen() {
        let now = Int64(clamping: clock().uptimeNanoseconds)
        let last = lastFetchStart.load(ordering: .acquiring)
        if last != .min, now &- last < refetchInterval {
            counters.countUnknownKeyID(refetched: false)
            return
        }
        guard refetchRequested.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else {
            counters.countUnknownKeyID(refetched: false)
            return
        }
        counters.countUnknownKeyID(refetched: true)
        schedule.withLock { $0.makeAllDue(now: .now()) }
        wake.signal()
    }

    /// Follows a reload (see ``JWKSSchedule/update(sources:now:)``) and wakes the loop.
    func update(sources: [JWKSSchedule.Source]) {
        schedule.withLock { $0.update(sources: sources, now: .now()) }
        wake.signal()
    }

    /// The URLs to fetch now, marked as being fetched. Starting a round restarts the
    /// unknown-`kid` interval: any fetch counts.
    func startRound() -> [String] {
        let due = schedule.withLock { $0.takeDue(now: .now()) }
        if !due.isEmpty {
            lastFetchStart.store(Int64(clamping: clock().uptimeNanoseconds), ordering: .releasing)
            refetchRequested.store(false, ordering: .releasing)
        }
        return due
    }

    func recordSuccess(url: String) {
        schedule.withLock { $0.recordSuccess(url: url, now: .now()) }
    }

    /// Returns how long until the next attempt.
    func recordFailure(url: String) -> Duration {
        schedule.withLock { $0.recordFailure(url: url, now: .now()) }
    }

    /// Sleeps until a URL is due, a refetch is asked for, the sources change, or cancellation.
    func waitForNextRound() async {
        let next = schedule.withLock { $0.nextDue }
        let delay: Duration
        if let next {
            let nanoseconds = (next - .now()).nanoseconds
            guard nanoseconds > 0 else { return }
            delay = .nanoseconds(nanoseconds)
        } else {
            delay = .seconds(3600)  // nothing scheduled: only a signal matters
        }
        await wake.wait(for: delay)
    }
}
