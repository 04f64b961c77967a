import CPortcullisPlugin
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Checks waiting for a blocking plugin, run on a worker pool, never on an event loop.
///
/// A drainer takes every check that is waiting at that moment (up to `maxBatch`) and hands
/// them to the plugin in one `is_revoked_batch` call, so under load one round trip to Redis
/// answers many requests. One drainer runs while the backend keeps up; another starts (up to
/// `maxDrainers`) only when more than `backlogPerDrainer` checks wait per running drainer,
/// that is when the backend is slow. Starting a drainer per check instead wakes a sleeping
/// worker for nearly every request: with SQLite that cost a third of the throughput.
/// The queue is bounded: beyond `maxPending` waiting checks, new ones fail at once rather
/// than pile up behind a stuck backend.
///
/// Answers go back to each check's event loop, one task per loop per batch: a batch of
/// checks from one loop costs that loop one wake-up, not one per check.
final class RevocationBatchQueue: Sendable {
    typealias Delivery = @Sendable (Result<Bool, PluginCallError>) -> Void

    private struct Item {
        var token: RevocationToken
        var loop: EventLoop
        var deliver: Delivery
    }

    private struct State {
        var pending: [Item] = []
        var drainers = 0
    }

    private let plugin: BlocklistPlugin
    private let workers: NIOThreadPool
    private let maxDrainers: Int
    private let maxBatch: Int
    private let maxPending: Int
    private let state = NIOLockedValueBox(State())
    /// Waiting checks per running drainer beyond which one more drainer starts.
    static let backlogPerDrainer = 64

    init(plugin: BlocklistPlugin, workers: NIOThreadPool, maxDrainers: Int, maxBatch: Int = 256, maxPending: Int = 8192) {
        self.plugin = plugin
        self.workers = workers
        self.maxDrainers = maxDrainers
        self.maxBatch = plugin.capabilities.contains(.batch) ? maxBatch : 1
        self.maxPending = maxPending
    }

    /// Queues a check; `deliver` is called once, on `loop` (also when the queue is full).
    func submit(_ token: RevocationToken, on loop: EventLoop, deliver: @escaping Delivery) {
        enum Admission { case queued, queuedWithNewDrainer, full }
        let admission = state.withLockedValue { state -> Admission in
            guard state.pending.count < maxPending else { return .full }
            state.pending.append(Item(token: token, loop: loop, deliver: deliver))
            guard state.drainers == 0 || (state.drainers < maxDrainers && state.pending.count > state.drainers * Self.backlogPerDrainer)
            else { return .queued }
            state.drainers += 1
            return .queuedWithNewDrainer
        }
        switch admission {
        case .queued:
            break
        case .queuedWithNewDrainer:
            workers.submit { [self] _ in drain() }
        case .full:
            let error = PluginCallError(status: PC_ERR_UNAVAILABLE, message: "\(maxPending) revocation checks are already waiting")
            loop.execute { deliver(.failure(error)) }
        }
    }

    private func drain() {
        while true {
            let batch = state.withLockedValue { state -> [Item]? in
                guard !state.pending.isEmpty else {
                    state.drainers -= 1
                    return nil
                }
                let count = min(maxBatch, state.pending.count)
                let batch = Array(state.pending.prefix(count))
                state.pending.removeFirst(count)
                return batch
            }
            guard let batch else { return }
            run(batch)
        }
    }

    private func run(_ batch: [Item]) {
        let answers: [Result<Bool, PluginCallError>]
        do throws(PluginCallError) {
            if batch.count == 1 {
                answers = [.success(try plugin.isRevoked(batch[0].token))]
            } else {
                answers = try plugin.isRevoked(batch: batch.map(\.token)).map { .success($0) }
            }
        } catch {
            answers = Array(repeating: .failure(error), count: batch.count)
        }
        Self.deliver(answers, to: batch)
    }

    /// One task per run of consecutive checks from the same loop (with one loop, one task).
    private static func deliver(_ answers: [Result<Bool, PluginCallError>], to batch: [Item]) {
        var start = 0
        while start < batch.count {
            let loop = batch[start].loop
            var end = start + 1
            while end < batch.count, batch[end].loop === loop { end += 1 }
            let items = batch[start..<end]
            let slice = answers[start..<end]
            loop.execute {
                for (item, answer) in zip(items, slice) { item.deliver(answer) }
            }
            start = end
        }
    }
}
