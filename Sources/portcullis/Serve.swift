import ArgumentParser
import Dispatch
import Foundation
import Logging
import NIOCore
import NIOPosix
import Portcullis

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway.")

    @OptionGroup var options: ConfigOptions

    /// How long SIGTERM/SIGINT waits for requests in flight (SPEC section 6).
    static let shutdownGracePeriod: Duration = .seconds(30)

    func run() async throws {
        let validated = try options.loadRuntime()
        let config = validated.config
        let settings = config.log
        LoggingSystem.bootstrap { label in
            GatewayLogHandler(label: label, level: settings.level, format: settings.format)
        }
        let logger = Logger(label: "portcullis")
        for warning in InactiveFeatures.warnings(for: config) {
            logger.warning("\(warning)")
        }
        let box: RuntimeBox
        do {
            // Only the box holds the service, so that a reload that replaces it lets it go.
            let revocation = try options.loadRevocation(config, logger: logger, failureCode: 2)
            logBlocklistHealth(revocation, logger: logger)
            box = RuntimeBox(validated.with(revocation: revocation))
        }
        let threads = config.server.workers ?? System.coreCount
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        // Fetching starts now; until every jwks_url issuer has keys, readiness is 503.
        let jwks = JWKSFetcher(group: group, logger: logger)
        jwks.follow(box.runtime)
        let reloader = ConfigReloader(
            file: options.configPath, pluginDirectory: options.pluginDir, box: box, logger: logger, jwks: jwks)
        let server: GatewayServer
        do {
            server = try await GatewayServer.start(runtime: box, group: group, logger: logger)
        } catch {
            logger.error("cannot listen on \(config.server.listen): \(error)")
            await jwks.shutdown()
            try? await group.shutdownGracefully()
            box.runtime.revocation?.shutdown()
            throw ExitCode(2)
        }
        logger.info(
            "listening",
            metadata: [
                "portcullis.listen": "\(config.server.listen.host):\(server.port)",
                "portcullis.workers": "\(threads)", "portcullis.routes": "\(config.routes.count)",
            ]
        )
        var admin: AdminServer?
        if let settings = config.admin {
            do {
                let started = try await AdminServer.start(runtime: box, group: group, logger: logger, reloader: reloader)
                admin = started
                logger.info("admin listening", metadata: ["portcullis.listen": "\(settings.listen.host):\(started.port)"])
            } catch {
                logger.error("cannot listen on \(settings.listen) (admin): \(error)")
                try? await server.close()
                await jwks.shutdown()
                try? await group.shutdownGracefully()
                box.runtime.revocation?.shutdown()
                throw ExitCode(2)
            }
        }
        let hangups = ReloadSignal.install(reloader)
        let signal = await TerminationSignal.wait()
        hangups.cancel()
        logger.info("shutting down: no new connections, finishing requests in flight (up to 30 s)", metadata: ["portcullis.signal": "\(signal)"])
        if await server.shutdown(gracePeriod: Self.shutdownGracePeriod) {
            logger.info("every connection finished")
        } else {
            logger.warning("grace period over; the remaining connections were closed")
        }
        try? await admin?.close()
        await jwks.shutdown()
        try? await group.shutdownGracefully()
        box.runtime.revocation?.shutdown()
    }

    /// A plugin that loads but fails `health` does not stop the gateway (SPEC section 1): the
    /// backend may come up later. It is logged, and readiness reports it.
    private func logBlocklistHealth(_ revocation: RevocationService, logger: Logger) {
        let plugin = revocation.plugin
        let metadata: Logger.Metadata = [
            "portcullis.plugin": "\(plugin.path)", "portcullis.plugin_version": "\(plugin.name) \(plugin.version)",
            "portcullis.plugin_capabilities": "\(plugin.capabilities)",
        ]
        let health: Result<Void, PluginCallError> = Result { () throws(PluginCallError) in try plugin.health() }
        switch health {
        case .success:
            logger.info("blocklist plugin ready", metadata: metadata)
        case .failure(let error):
            logger.error("blocklist plugin is not healthy; serving anyway, not ready: \(error)", metadata: metadata)
        }
    }
}

/// SIGHUP reloads the config (SPEC section 6), on a dispatch queue: never an event loop.
enum ReloadSignal {
    static func install(_ reloader: ConfigReloader) -> DispatchSourceSignal {
        Foundation.signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "portcullis.reload"))
        source.setEventHandler { _ = reloader.reload() }
        source.resume()
        return source
    }
}

/// Waits for SIGINT or SIGTERM.
enum TerminationSignal {
    static func wait() async -> String {
        await withCheckedContinuation { continuation in
            let queue = DispatchQueue(label: "portcullis.signals")
            let resumed = NIOLockedBox(false)
            var sources: [DispatchSourceSignal] = []
            for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
                Foundation.signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler {
                    guard !resumed.swap(true) else { return }
                    continuation.resume(returning: name)
                }
                source.resume()
                sources.append(source)
            }
            SignalSources.keep(sources)
        }
    }
}

/// Keeps the dispatch sources alive for the life of the process.
private enum SignalSources {
    nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []
    static func keep(_ new: [DispatchSourceSignal]) { sources = new }
}

/// A tiny thread-safe flag.
private final class NIOLockedBox: @unchecked Sendable {
    // Guarded by `lock`; used only for the one-shot signal continuation.
    private var value: Bool
    private let lock = NSLock()

    init(_ value: Bool) { self.value = value }

    func swap(_ new: Bool) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let old = value
        value = new
        return old
    }
}
