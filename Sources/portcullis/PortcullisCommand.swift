import ArgumentParser
import Logging
import Foundation
import Portcullis

/// `portcullis`: the gateway executable (SPEC section 1).
///
/// Exit codes: 0 ok; 1 invalid config or arguments (usage errors included, not
/// ArgumentParser's 64); 2 runtime failure.
@main
struct PortcullisCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "portcullis",
        abstract: "A JWT-verifying reverse proxy with token revocation.",
        subcommands: [Serve.self, Check.self, Token.self, Revoke.self, Version.self]
    )

    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(1)
        }
    }
}

/// Options shared by the commands that read a config.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "Config file (default: $PORTCULLIS_CONFIG, else ./gateway.yaml).")
    var config: String?

    @Option(name: .long, help: "Folder of the blocklist plugins (default: the executable's folder).")
    var pluginDir: String?

    var configPath: String {
        config ?? ProcessInfo.processInfo.environment["PORTCULLIS_CONFIG"] ?? "gateway.yaml"
    }

    /// Loads and builds the runtime, or prints every error as FILE:LINE:COLUMN and exits 1.
    func loadRuntime() throws -> GatewayRuntime {
        let result: Result<GatewayRuntime, ConfigErrors> = Result { () throws(ConfigErrors) in
            try GatewayRuntime.build(ConfigLoader.load(file: configPath))
        }
        switch result {
        case .success(let runtime): return runtime
        case .failure(let errors):
            for error in errors.errors { printError(error.description) }
            throw ExitCode(1)
        }
    }
}

extension ConfigOptions {
    /// Loads the configured blocklist plugin and creates its instance, or prints
    /// `PATH: reason` and exits with `failureCode` (2 for serve and revoke, 1 for check).
    func loadRevocation(_ config: GatewayConfig, logger: Logger, failureCode: Int32) throws -> RevocationService {
        let result: Result<RevocationService, PluginLoadError> = Result { () throws(PluginLoadError) in
            try RevocationService.load(config, pluginDirectory: pluginDir, logger: logger)
        }
        switch result {
        case .success(let service): return service
        case .failure(let error):
            printError("blocklist plugin \(error)")
            throw ExitCode(failureCode)
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
