import NIOCore

/// A connection's timeout, re-armed by moving its deadline instead of scheduling a new task.
///
/// Scheduling and cancelling an event-loop task for every request (header, idle and upstream
/// response timeouts) cost more of the request path than parsing the head. Here a task is
/// scheduled only when none is pending or the new deadline is earlier than the pending one;
/// a task that fires before the current deadline (it was moved later meanwhile) schedules
/// itself for the rest, and one that fires while disarmed does nothing. On a keep-alive
/// connection under steady traffic that is one task per timeout period instead of one per
/// request.
///
/// Bound to its event loop; `onExpiry` runs on it.
final class DeadlineTimer {
    private let eventLoop: EventLoop
    private let onExpiry: () -> Void
    private var deadline: NIODeadline?
    private var task: Scheduled<Void>?
    private var taskDeadline: NIODeadline?

    /// `onExpiry` must not hold its owner strongly (the owner holds the timer).
    init(eventLoop: EventLoop, onExpiry: @escaping () -> Void) {
        self.eventLoop = eventLoop
        self.onExpiry = onExpiry
    }

    var isArmed: Bool { deadline != nil }

    /// Expires `timeout` from now, replacing any earlier arming.
    func arm(in timeout: TimeAmount) {
        let deadline = eventLoop.now + timeout
        self.deadline = deadline
        if let taskDeadline, taskDeadline <= deadline { return }  // it fires first and reschedules
        task?.cancel()
        schedule(at: deadline)
    }

    /// Stops the timeout; a pending task is left to fire and find nothing.
    func disarm() {
        deadline = nil
    }

    /// Disarms and drops the pending task (the connection is going away).
    func cancel() {
        deadline = nil
        task?.cancel()
        task = nil
        taskDeadline = nil
    }

    private func schedule(at when: NIODeadline) {
        taskDeadline = when
        task = eventLoop.assumeIsolated().scheduleTask(deadline: when) { [weak self] in
            self?.fired()
        }
    }

    private func fired() {
        task = nil
        taskDeadline = nil
        guard let deadline else { return }
        if deadline > eventLoop.now {
            schedule(at: deadline)
            return
        }
        self.deadline = nil
        onExpiry()
    }
}

@available(*, unavailable)
extension DeadlineTimer: Sendable {}
