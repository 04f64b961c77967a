import CPortcullisPlugin
import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Revocation checks and revocations for the gateway, scheduled by plugin capability:
/// a `PC_CAP_NONBLOCKING` plugin is called inline on the event loop; any other plugin on a
/// bounded worker pool, with `blocklist.timeout` bounding each check.
///
/// One service per `blocklist` section; a reload that keeps the section keeps the service.
public final class RevocationService: Sendable {
    /// What a check found. `failed` is the plugin's error or a timeout; the caller applies
    /// `on_error`.
    package enum Outcome: Sendable, Equatable {
        case notRevoked
        case revoked
        case failed(String)
    }

    /// A check answered at once (inline plugin), or later on the caller's loop (a full queue
    /// answers there too, at once).
    package enum Check {
        case done(Outcome)
        case pending(EventLoopFuture<Outcome>)
    }

    public let plugin: BlocklistPlugin
    public let settings: BlocklistSettings
    private let workers: NIOThreadPool?
    private let queue: RevocationBatchQueue?
    private let timeout: TimeAmount
    private let logger: Logger
    private let failures = NIOLockedValueBox(0)

    /// Worker threads for a blocking plugin: enough to overlap a few backend round trips,
    /// few enough not to crowd the event loops on a small machine.
    static let workerThreads = 4

    /// Takes ownership of `plugin`; `shutdown()` closes it.
    public init(plugin: BlocklistPlugin, settings: BlocklistSettings, logger: Logger) {
        self.plugin = plugin
        self.settings = settings
        self.logger = logger
        let (seconds, attoseconds) = settings.timeout.components
        self.timeout = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        if plugin.capabilities.contains(.nonblocking) {
            workers = nil
            queue = nil
        } else {
            let workers = NIOThreadPool(numberOfThreads: Self.workerThreads)
            workers.start()
            self.workers = workers
            queue = RevocationBatchQueue(
                plugin: plugin, workers: workers,
                maxDrainers: plugin.capabilities.contains(.threadsafe) ? Self.workerThreads : 1
            )
        }
    }

    /// How many checks failed or timed out since start (for `on_error: allow` accounting).
    public var failureCount: Int {
        failures.withLockedValue { $0 }
    }

    /// Checks `token` for a request on `loop`. Inline plugins answer at once; others answer
    /// on `loop` within `blocklist.timeout`.
    package func check(_ token: RevocationToken, on loop: EventLoop) -> Check {
        guard !answersInline else { return .done(checkInline(token)) }
        let answer = loop.firstOf(timeout: checkTimeout, orElse: { [self] in timedOut() }) { deliver in
            enqueueCheck(token, on: loop, answer: deliver)
        }
        return .pending(answer)
    }

    /// True when checks are answered inline by `checkInline` (a `PC_CAP_NONBLOCKING` plugin).
    package var answersInline: Bool { queue == nil }

    /// A check by a nonblocking plugin, on the caller's thread. Only when `answersInline`.
    package func checkInline(_ token: RevocationToken) -> Outcome {
        do throws(PluginCallError) {
            return try plugin.isRevoked(token) ? .revoked : .notRevoked
        } catch {
            return failed(error)
        }
    }

    /// Queues a check for a worker; `answer` runs once, on `loop`. This does not bound the
    /// wait: the caller does, for `checkTimeout`, and takes `timedOut()` when it passes (the
    /// request path uses its connection's timer, which costs no task per check).
    package func enqueueCheck(_ token: RevocationToken, on loop: EventLoop, answer: @escaping @Sendable (Outcome) -> Void) {
        guard let queue else {
            let outcome = checkInline(token)
            loop.execute { answer(outcome) }
            return
        }
        queue.submit(token, on: loop) { [self] result in
            switch result {
            case .success(let revoked): answer(revoked ? .revoked : .notRevoked)
            case .failure(let error): answer(failed(error))
            }
        }
    }

    /// `blocklist.timeout`.
    package var checkTimeout: TimeAmount { timeout }

    /// The outcome of a check that did not answer within `checkTimeout`.
    package func timedOut() -> Outcome {
        failed(.timedOut(after: settings.timeout))
    }

    /// Runs a revocation (or another plugin call) where the plugin may be called: inline for
    /// a nonblocking plugin, else on a worker. Not bounded by `blocklist.timeout`: a
    /// revocation that is slow should still land.
    func perform<Value: Sendable>(
        on loop: EventLoop, _ body: @escaping @Sendable (BlocklistPlugin) throws(PluginCallError) -> Value
    ) -> EventLoopFuture<Result<Value, PluginCallError>> {
        guard let workers else {
            do throws(PluginCallError) {
                return loop.makeSucceededFuture(.success(try body(plugin)))
            } catch {
                return loop.makeSucceededFuture(.failure(error))
            }
        }
        let plugin = self.plugin
        return workers.runIfActive(eventLoop: loop) { () -> Result<Value, PluginCallError> in
            do throws(PluginCallError) {
                return .success(try body(plugin))
            } catch {
                return .failure(error)
            }
        }.flatMapErrorThrowing { error in
            .failure(PluginCallError(status: PC_ERR_UNAVAILABLE, message: "the revocation workers are stopped: \(error)"))
        }
    }

    private func failed(_ error: PluginCallError) -> Outcome {
        failures.withLockedValue { $0 += 1 }
        return .failed(error.description)
    }

    /// Stops the workers and closes the plugin. Call once no request can use the service.
    /// Idempotent.
    public func shutdown() {
        try? workers?.syncShutdownGracefully()
        plugin.close()
    }

    /// Reached when a reload has replaced this service and the last request, check or
    /// revocation using it is done (each holds a reference): the workers stop and the plugin is
    /// destroyed on a background queue, never on the event loop that dropped the reference.
    /// After `shutdown()` this does nothing more.
    deinit {
        let plugin = self.plugin
        if let workers {
            workers.shutdownGracefully(queue: .global()) { _ in plugin.close() }
        } else {
            DispatchQueue.global().async { plugin.close() }
        }
    }
}
