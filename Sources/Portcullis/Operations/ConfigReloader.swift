import Logging
import NIOConcurrencyHelpers

/// Re-reads the config file and swaps a new runtime in (SPEC section 6), for SIGHUP and
/// `POST /admin/reload`.
///
/// The file is read, validated and built completely before anything changes; a broken file
/// leaves the running config alone. Requests in flight keep the runtime they started with.
/// The blocklist plugin is created anew only when the `blocklist` section changed; the old
/// service is then released, and it stops its workers and destroys its plugin once the last
/// request using it is done (`RevocationService.deinit`).
public final class ConfigReloader: Sendable {
    /// What a reload did; a failure carries one line per problem (`FILE:LINE:COLUMN: ...`).
    public enum Outcome: Sendable, Equatable {
        case reloaded(pluginReplaced: Bool)
        case failed([String])
    }

    private let file: String
    private let pluginDirectory: String?
    private let box: RuntimeBox
    private let logger: Logger
    /// Seeds each new runtime with the remote keys already fetched, before it is swapped in.
    private let jwks: JWKSFetcher?
    /// One reload at a time; also guards the counts.
    private let state = NIOLockedValueBox((successes: 0, failures: 0))

    public init(file: String, pluginDirectory: String?, box: RuntimeBox, logger: Logger, jwks: JWKSFetcher? = nil) {
        self.file = file
        self.pluginDirectory = pluginDirectory
        self.box = box
        self.logger = logger
        self.jwks = jwks
    }

    /// Reloads successes and failures so far, for `portcullis_config_reloads_total{result}`.
    public var counts: (successes: Int, failures: Int) {
        state.withLockedValue { $0 }
    }

    /// Blocking (reads the file, may create a plugin): call it off the event loops.
    public func reload() -> Outcome {
        state.withLockedValue { counts in
            let outcome = load()
            switch outcome {
            case .reloaded(let replaced):
                counts.successes += 1
                box.metrics.recordReload(success: true)
                logger.info("config reloaded", metadata: ["portcullis.plugin_replaced": "\(replaced)"])
            case .failed(let problems):
                counts.failures += 1
                box.metrics.recordReload(success: false)
                for problem in problems { logger.error("config reload failed, the running config stays: \(problem)") }
            }
            return outcome
        }
    }

    private func load() -> Outcome {
        let built: Result<GatewayRuntime, ConfigErrors> = Result { () throws(ConfigErrors) in
            try GatewayRuntime.build(ConfigLoader.load(file: file))
        }
        let validated: GatewayRuntime
        switch built {
        case .failure(let errors): return .failed(errors.errors.map(\.description))
        case .success(let runtime): validated = runtime
        }
        let current = box.runtime
        for change in restartOnlyChanges(from: current.config, to: validated.config) {
            logger.warning("\(change) changed; it takes effect only after a restart")
        }
        if let kept = current.revocation,
            kept.settings.isSameSection(as: validated.config.blocklist),
            current.config.directory == validated.config.directory
        {
            swapIn(validated.with(revocation: kept))
            return .reloaded(pluginReplaced: false)
        }
        let created: Result<RevocationService, PluginLoadError> = Result { () throws(PluginLoadError) in
            try RevocationService.load(validated.config, pluginDirectory: pluginDirectory, logger: logger)
        }
        switch created {
        case .failure(let error): return .failed(["blocklist plugin \(error)"])
        case .success(let service):
            swapIn(validated.with(revocation: service))
            return .reloaded(pluginReplaced: true)
        }
    }

    private func swapIn(_ runtime: GatewayRuntime) {
        jwks?.follow(runtime)
        box.replace(with: runtime)
    }

    /// Settings bound when the process starts (listeners, worker threads).
    private func restartOnlyChanges(from old: GatewayConfig, to new: GatewayConfig) -> [String] {
        var changes: [String] = []
        if old.server.listen != new.server.listen { changes.append("server.listen") }
        if old.server.workers != new.server.workers { changes.append("server.workers") }
        if old.admin?.listen != new.admin?.listen { changes.append("admin.listen") }
        return changes
    }
}

extension BlocklistSettings {
    /// Same plugin, plugin config, `on_error` and `timeout` (positions in the file aside).
    func isSameSection(as other: BlocklistSettings) -> Bool {
        plugin == other.plugin && config == other.config && onError == other.onError && timeout == other.timeout
    }
}
