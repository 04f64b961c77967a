import Foundation
import Logging
import NIOCore
import NIOPosix
import Portcullis

/// A gateway running in-process on 127.0.0.1 port 0, built from YAML text as an operator
/// would write it. `{{UPSTREAM}}` in the YAML is replaced by `upstreamURL`. The blocklist
/// plugin is the real one the config names, loaded from the build folder.
public final class GatewayHarness: Sendable {
    public let server: GatewayServer
    public let runtime: RuntimeBox
    private let group: MultiThreadedEventLoopGroup

    public var port: Int { server.port }

    private init(server: GatewayServer, runtime: RuntimeBox, group: MultiThreadedEventLoopGroup) {
        self.server = server
        self.runtime = runtime
        self.group = group
    }

    public static func start(
        yaml: String, upstreamURL: String = "http://127.0.0.1:9", directory: String = NSTemporaryDirectory(),
        environment: [String: String] = [:], workers: Int = 1, logger: Logger? = nil
    ) async throws -> GatewayHarness {
        let text = yaml.replacingOccurrences(of: "{{UPSTREAM}}", with: upstreamURL)
        let config = try ConfigLoader.parse(yaml: text, file: "test.yaml", directory: directory, environment: environment)
        let logger = logger ?? {
            var logger = Logger(label: "portcullis.test")
            logger.logLevel = .critical
            return logger
        }()
        let revocation = try RevocationService.load(config, pluginDirectory: BuiltPlugins.directory, logger: logger)
        let box: RuntimeBox
        do {
            box = RuntimeBox(try GatewayRuntime.build(config, revocation: revocation))
        } catch {
            revocation.shutdown()
            throw error
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: workers)
        let server = try await GatewayServer.start(runtime: box, group: group, logger: logger)
        return GatewayHarness(server: server, runtime: box, group: group)
    }

    public func shutdown() async throws {
        try await server.close()
        try await group.shutdownGracefully()
        runtime.runtime.revocation?.shutdown()
    }
}
