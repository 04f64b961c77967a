import NIOCore

/// When each `jwks_url` of one issuer is fetched next: a pure state machine, driven by the
/// issuer's fetch loop and tested without sockets or clocks.
///
/// A URL is due at once when it appears, then `refresh` after each success. After a failure
/// it is retried after `firstRetryDelay`, doubling with each further failure up to
/// `maximumRetryDelay`, and never later than `refresh` would have it.
struct JWKSSchedule: Sendable {
    /// One `jwks_url` source of the issuer.
    struct Source: Sendable, Equatable {
        var url: String
        var refresh: Duration
    }

    private struct Entry: Sendable {
        var refresh: Duration
        var due: NIODeadline
        /// Failures since the last success.
        var failures = 0
        var inFlight = false
        /// Made due while being fetched: fetch again as soon as this fetch ends.
        var dueAgain = false
        var lastSuccess: NIODeadline?
    }

    let firstRetryDelay: Duration
    let maximumRetryDelay: Duration
    /// The issuer's URLs, in config order.
    private(set) var urls: [String] = []
    private var entries: [String: Entry] = [:]

    init(sources: [Source], now: NIODeadline, firstRetryDelay: Duration, maximumRetryDelay: Duration) {
        self.firstRetryDelay = firstRetryDelay
        self.maximumRetryDelay = maximumRetryDelay
        update(sources: sources, now: now)
    }

    /// Follows a reload: a URL still listed keeps its timing (a changed `refresh` counts from
    /// its last success), a new one is due at once, one no longer listed is forgotten.
    /// The same URL listed twice is fetched once, at the shorter `refresh`.
    mutating func update(sources: [Source], now: NIODeadline) {
        var refreshes: [String: Duration] = [:]
        var urls: [String] = []
        for source in sources {
            if let known = refreshes[source.url] {
                refreshes[source.url] = min(known, source.refresh)
            } else {
                refreshes[source.url] = source.refresh
                urls.append(source.url)
            }
        }
        var entries: [String: Entry] = [:]
        for url in urls {
            let refresh = refreshes[url]!  // every url was put in `refreshes` above
            if var entry = self.entries[url] {
                if entry.refresh != refresh, let lastSuccess = entry.lastSuccess, entry.failures == 0 {
                    entry.due = lastSuccess + TimeAmount(refresh)
                }
                entry.refresh = refresh
                entries[url] = entry
            } else {
                entries[url] = Entry(refresh: refresh, due: now)
            }
        }
        self.urls = urls
        self.entries = entries
    }

    /// Every URL due at `now` and not being fetched, marked as being fetched.
    mutating func takeDue(now: NIODeadline) -> [String] {
        var due: [String] = []
        for url in urls where entries[url].map({ !$0.inFlight && $0.due <= now }) == true {
            entries[url]?.inFlight = true
            due.append(url)
        }
        return due
    }

    /// Makes every URL due at `now` (a token named a key we do not have).
    mutating func makeAllDue(now: NIODeadline) {
        for url in urls {
            guard var entry = entries[url] else { continue }
            if entry.inFlight { entry.dueAgain = true } else { entry.due = min(entry.due, now) }
            entries[url] = entry
        }
    }

    mutating func recordSuccess(url: String, now: NIODeadline) {
        guard var entry = entries[url] else { return }  // dropped by a reload meanwhile
        entry.inFlight = false
        entry.failures = 0
        entry.lastSuccess = now
        entry.due = entry.dueAgain ? now : now + TimeAmount(entry.refresh)
        entry.dueAgain = false
        entries[url] = entry
    }

    /// Returns how long until the next attempt.
    @discardableResult
    mutating func recordFailure(url: String, now: NIODeadline) -> Duration {
        guard var entry = entries[url] else { return .zero }
        entry.inFlight = false
        entry.failures += 1
        let delay = entry.dueAgain ? .zero : retryDelay(failures: entry.failures, refresh: entry.refresh)
        entry.due = now + TimeAmount(delay)
        entry.dueAgain = false
        entries[url] = entry
        return delay
    }

    /// Whether `url` was ever fetched successfully (under this schedule).
    func hasSucceeded(_ url: String) -> Bool { entries[url]?.lastSuccess != nil }

    /// The earliest time a URL not being fetched is due; `nil` when there is none.
    var nextDue: NIODeadline? {
        entries.values.filter { !$0.inFlight }.map(\.due).min()
    }

    private func retryDelay(failures: Int, refresh: Duration) -> Duration {
        var delay = firstRetryDelay
        var doublings = failures - 1
        while doublings > 0, delay < maximumRetryDelay {
            delay *= 2
            doublings -= 1
        }
        return min(delay, maximumRetryDelay, refresh)
    }
}
