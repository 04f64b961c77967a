import CPortcullisPlugin
import NIOConcurrencyHelpers
import NIOPosix

/// Checks waiting for a blocking plugin, run on a worker pool, never on an event loop.
///
/// Up to `maxDrainers` workers drain the queue at once. A drainer takes every check that is
/// waiting at that moment (up to `maxBatch`) and hands them to the plugin in one
/// `is_revoked_batch` call, so under load one round trip to Redis answers many requests.
/// The queue is bounded: beyond `maxPending` waiting checks, new ones fail at once rather
/// than pile up behind a stuck backend.
final class RevocationBatchQueue: Sendable {
    typealias Delivery = @Sendable (Result<Bool, PluginCallError>) -> Void

    private struct Item {
        var token: RevocationToken
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

    init(plugin: BlocklistPlugin, workers: NIOThreadPool, maxDrainers: Int, maxBatch: Int = 256, maxPending: Int = 8192) {
        self.plugin = plugin
        self.workers = workers
        self.maxDrainers = maxDrainers
        self.maxBatch = plugin.capabilities.contains(.batch) ? maxBatch : 1
        self.maxPending = maxPending
    }

    /// Queues a check; `deliver` is called once, on a worker thread (or at once when full).
    func submit(_ token: RevocationToken, deliver: @escaping Delivery) {
        enum Admission { case queued, queuedWithNewDrainer, full }
        let admission = state.withLockedValue { state -> Admission in
            guard state.pending.count < maxPending else { return .full }
            state.pending.append(Item(token: token, deliver: deliver))
            guard state.drainers < maxDrainers else { return .queued }
            state.drainers += 1
            return .queuedWithNewDrainer
        }
        switch admission {
        case .queued:
            break
        case .queuedWithNewDrainer:
            workers.submit { [self] _ in drain() }
        case .full:
            deliver(.failure(PluginCallError(status: PC_ERR_UNAVAILABLE, message: "\(maxPending) revocation checks are already waiting")))
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
        do throws(PluginCallError) {
            if batch.count == 1 {
                let revoked = try plugin.isRevoked(batch[0].token)
                batch[0].deliver(.success(revoked))
            } else {
                let verdicts = try plugin.isRevoked(batch: batch.map(\.token))
                for (item, revoked) in zip(batch, verdicts) { item.deliver(.success(revoked)) }
            }
        } catch {
            for item in batch { item.deliver(.failure(error)) }
        }
    }
}
