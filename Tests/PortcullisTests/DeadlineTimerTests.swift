import NIOCore
import NIOEmbedded
import Testing

@testable import Portcullis

/// The lazily re-armed connection timeout, on an embedded loop whose clock the test moves.
@Suite("Deadline timer")
struct DeadlineTimerTests {
    private final class Fired {
        var count = 0
    }

    @Test("re-arming later moves the expiry without a new task; it fires once, at the last deadline")
    func rearmLater() {
        let loop = EmbeddedEventLoop()
        let fired = Fired()
        let timer = DeadlineTimer(eventLoop: loop) { fired.count += 1 }
        timer.arm(in: .seconds(10))
        loop.advanceTime(by: .seconds(5))
        timer.arm(in: .seconds(10))  // now due at 15 s
        loop.advanceTime(by: .seconds(5))
        #expect(fired.count == 0)
        #expect(timer.isArmed)
        loop.advanceTime(by: .seconds(5))
        #expect(fired.count == 1)
        #expect(!timer.isArmed)
        loop.advanceTime(by: .seconds(60))
        #expect(fired.count == 1)
    }

    @Test("re-arming earlier fires at the earlier deadline")
    func rearmEarlier() {
        let loop = EmbeddedEventLoop()
        let fired = Fired()
        let timer = DeadlineTimer(eventLoop: loop) { fired.count += 1 }
        timer.arm(in: .seconds(60))
        timer.arm(in: .seconds(2))
        loop.advanceTime(by: .seconds(2))
        #expect(fired.count == 1)
        loop.advanceTime(by: .seconds(60))
        #expect(fired.count == 1)
    }

    @Test("disarmed or cancelled, it never fires; armed again after a disarm, it does")
    func disarmAndCancel() {
        let loop = EmbeddedEventLoop()
        let fired = Fired()
        let timer = DeadlineTimer(eventLoop: loop) { fired.count += 1 }
        timer.arm(in: .seconds(1))
        timer.disarm()
        loop.advanceTime(by: .seconds(5))
        #expect(fired.count == 0)
        timer.arm(in: .seconds(1))
        timer.cancel()
        loop.advanceTime(by: .seconds(5))
        #expect(fired.count == 0)
        timer.arm(in: .seconds(3))
        loop.advanceTime(by: .seconds(3))
        #expect(fired.count == 1)
    }
}
