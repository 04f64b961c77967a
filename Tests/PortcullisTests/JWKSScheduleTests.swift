import NIOCore
import Testing

@testable import Portcullis

/// When each `jwks_url` of an issuer is fetched: at once, every `refresh` after a success,
/// with a doubling retry after failures, and across reloads.
@Suite("JWKS schedule")
struct JWKSScheduleTests {
    private let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    private let a = JWKSSchedule.Source(url: "http://a.test/jwks", refresh: .seconds(600))
    private let b = JWKSSchedule.Source(url: "http://b.test/jwks", refresh: .seconds(60))

    private func schedule(_ sources: [JWKSSchedule.Source]) -> JWKSSchedule {
        JWKSSchedule(sources: sources, now: start, firstRetryDelay: .seconds(1), maximumRetryDelay: .seconds(30))
    }

    private func at(_ seconds: Int64) -> NIODeadline { start + .seconds(seconds) }

    @Test("every URL is due at once, is not handed out twice while being fetched, and is due `refresh` after a success")
    func dueAtOnceThenAfterRefresh() {
        var schedule = schedule([a, b])
        #expect(schedule.takeDue(now: start) == [a.url, b.url])
        #expect(schedule.takeDue(now: start).isEmpty)
        #expect(schedule.nextDue == nil)
        schedule.recordSuccess(url: a.url, now: at(1))
        schedule.recordSuccess(url: b.url, now: at(1))
        #expect(schedule.nextDue == at(61))
        #expect(schedule.takeDue(now: at(60)).isEmpty)
        #expect(schedule.takeDue(now: at(61)) == [b.url])
        #expect(schedule.takeDue(now: at(601)) == [a.url])
    }

    @Test("failures are retried after 1 s, doubling up to 30 s, never later than refresh, and a success resets it")
    func retryBackoff() {
        var schedule = schedule([a])
        var delays: [Duration] = []
        for _ in 0..<8 {
            _ = schedule.takeDue(now: .distantFuture)
            delays.append(schedule.recordFailure(url: a.url, now: start))
        }
        #expect(delays == [1, 2, 4, 8, 16, 30, 30, 30].map { Duration.seconds($0) })
        _ = schedule.takeDue(now: .distantFuture)
        schedule.recordSuccess(url: a.url, now: start)
        _ = schedule.takeDue(now: .distantFuture)
        #expect(schedule.recordFailure(url: a.url, now: start) == .seconds(1))

        var short = self.schedule([JWKSSchedule.Source(url: a.url, refresh: .seconds(5))])
        var shortDelays: [Duration] = []
        for _ in 0..<5 {
            _ = short.takeDue(now: .distantFuture)
            shortDelays.append(short.recordFailure(url: a.url, now: start))
        }
        #expect(shortDelays == [1, 2, 4, 5, 5].map { Duration.seconds($0) })
    }

    @Test("a reload keeps the timing of a URL still listed, makes a new one due at once and forgets a dropped one")
    func reloadKeepsTiming() {
        var schedule = schedule([a, b])
        _ = schedule.takeDue(now: start)
        schedule.recordSuccess(url: a.url, now: start)
        schedule.recordSuccess(url: b.url, now: start)
        let c = JWKSSchedule.Source(url: "http://c.test/jwks", refresh: .seconds(600))
        schedule.update(sources: [a, c], now: at(10))
        #expect(schedule.urls == [a.url, c.url])
        #expect(schedule.takeDue(now: at(10)) == [c.url])
        schedule.recordSuccess(url: b.url, now: at(11))  // a fetch of the dropped URL ending late
        #expect(schedule.urls == [a.url, c.url])
        #expect(schedule.takeDue(now: at(599)).isEmpty)
        #expect(schedule.takeDue(now: at(600)) == [a.url])
    }

    @Test("a changed refresh counts from the last success; the same URL listed twice is fetched once at the shorter refresh")
    func refreshChanges() {
        var schedule = schedule([a])
        _ = schedule.takeDue(now: start)
        schedule.recordSuccess(url: a.url, now: start)
        schedule.update(sources: [JWKSSchedule.Source(url: a.url, refresh: .seconds(120)), a], now: at(5))
        #expect(schedule.urls == [a.url])
        #expect(schedule.nextDue == at(120))
    }

    @Test("an unknown kid makes every URL due now, and one being fetched is fetched again as soon as it ends")
    func makeAllDue() {
        var schedule = schedule([a, b])
        _ = schedule.takeDue(now: start)
        schedule.recordSuccess(url: a.url, now: start)
        schedule.makeAllDue(now: at(5))
        #expect(schedule.takeDue(now: at(5)) == [a.url])
        schedule.recordSuccess(url: a.url, now: at(6))
        schedule.recordFailure(url: b.url, now: at(6))
        #expect(schedule.nextDue == at(6))
        #expect(schedule.takeDue(now: at(6)) == [b.url])
    }
}
