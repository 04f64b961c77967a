import ArgumentParser
import Logging
import Portcullis

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate the config, its keys and the blocklist plugin, and print the route table."
    )

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let runtime = try options.loadRuntime()
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "portcullis.check")
        logger.logLevel = .warning
        // The plugin is really loaded, created and asked for its health (SPEC section 1).
        let revocation = try options.loadRevocation(runtime.config, logger: logger, failureCode: 1)
        defer { revocation.shutdown() }
        let health: Result<Void, PluginCallError> = Result { () throws(PluginCallError) in try revocation.plugin.health() }
        if case .failure(let error) = health {
            printError("blocklist plugin \(revocation.plugin.path): health check failed: \(error)")
            throw ExitCode(1)
        }
        print(RouteTableReport(runtime.config).render())
    }
}
