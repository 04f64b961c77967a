import ArgumentParser
import Dispatch
import Foundation
import Logging
import NIOCore
import NIOPosix
import Portcullis
import ServiceLifecycle
import UnixSignals

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let validated = try options.loadRuntime()
        let config = validated.config
        let settings = config.log
        LoggingSystem.bootstrap { label in
            GatewayLogHandler(label: label, level: settings.level, format: settings.format)
        }
        let logger = Logger(label: "portcullis")
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
        let jwks = JWKSFetcher(group: group, logger: logger, metrics: box.metrics)
        jwks.follow(box.runtime)
        let reloader = ConfigReloader(
            file: options.configPath, pluginDirectory: options.pluginDir, box: box, logger: logger, jwks: jwks
        )
        // Trapped before anything listens, so that a SIGHUP right after start reloads
        // instead of killing the process; the group traps SIGTERM/SIGINT before its services run.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let services = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: GatewayService(box: box, reloader: reloader, group: group, workers: threads, logger: logger)),
                    .init(service: ReloadService(signals: hangups, reloader: reloader)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        var listening = true
        do {
            try await services.run()
        } catch {
            listening = false  // the listeners could not be bound (logged by the service)
        }
        await jwks.shutdown()
        // The revocation workers stop before the loops: a check still running in the plugin
        // (one that outlived blocklist.timeout) delivers its answer to its loop when it returns.
        box.runtime.revocation?.shutdown()
        try? await group.shutdownGracefully()
        if !listening { throw ExitCode(2) }
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

/// The proxy and admin listeners as one service: binds them, serves until the service
/// group's graceful shutdown (SIGTERM or SIGINT), then drains (SPEC section 6): no new
/// connections, requests in flight finish for up to 30 s, what is left is closed.
struct GatewayService: Service {
    let box: RuntimeBox
    let reloader: ConfigReloader
    let group: MultiThreadedEventLoopGroup
    let workers: Int
    let logger: Logger

    /// How long SIGTERM/SIGINT waits for requests in flight (SPEC section 6).
    static let shutdownGracePeriod: Duration = .seconds(30)

    struct ListenFailure: Error {}

    func run() async throws {
        let config = box.runtime.config
        let server: GatewayServer
        do {
            server = try await GatewayServer.start(runtime: box, group: group, logger: logger)
        } catch {
            logger.error("cannot listen on \(config.server.listen): \(error)")
            throw ListenFailure()
        }
        logger.info(
            "listening",
            metadata: [
                "portcullis.listen": "\(config.server.listen.host):\(server.port)",
                "portcullis.workers": "\(workers)",
                "portcullis.routes": "\(config.routes.count)",
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
                throw ListenFailure()
            }
        }
        // Returns at the group's graceful shutdown; throws only when the group is cancelled,
        // which drains the same way.
        try? await gracefulShutdown()
        logger.info("shutting down: no new connections, finishing requests in flight (up to 30 s)")
        if await server.shutdown(gracePeriod: Self.shutdownGracePeriod) {
            logger.info("every connection finished")
        } else {
            logger.warning("grace period over; the remaining connections were closed")
        }
        try? await admin?.close()
    }
}

/// SIGHUP reloads the config (SPEC section 6). The reload reads files and may create a
/// plugin, so it runs on a dispatch queue: never an event loop, never the cooperative pool.
struct ReloadService: Service {
    let signals: UnixSignalsSequence
    let reloader: ConfigReloader

    func run() async {
        for await _ in signals.cancelOnGracefulShutdown() {
            let reloader = self.reloader
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async {
                    _ = reloader.reload()
                    continuation.resume()
                }
            }
        }
    }
}
