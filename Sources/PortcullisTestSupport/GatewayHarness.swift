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
    /// The admin listener, when the config has an `admin` section.
    public let admin: AdminServer?
    public let runtime: RuntimeBox
    /// Fetches the config's `jwks_url`s, as `serve` does.
    public let jwks: JWKSFetcher
    private let group: MultiThreadedEventLoopGroup

    public var port: Int { server.port }
    public var adminPort: Int? { admin?.port }

    private init(
        server: GatewayServer, admin: AdminServer?, runtime: RuntimeBox, jwks: JWKSFetcher, group: MultiThreadedEventLoopGroup
    ) {
        self.server = server
        self.admin = admin
        self.runtime = runtime
        self.jwks = jwks
        self.group = group
    }

    public static func start(
        yaml: String, upstreamURL: String = "http://127.0.0.1:9", directory: String = NSTemporaryDirectory(),
        environment: [String: String] = [:], workers: Int = 1, logger: Logger? = nil,
        jwks jwksSettings: JWKSFetcher.Settings = JWKSFetcher.Settings()
    ) async throws -> GatewayHarness {
        let text = yaml.replacingOccurrences(of: "{{UPSTREAM}}", with: upstreamURL)
        let config = try ConfigLoader.parse(yaml: text, file: "test.yaml", directory: directory, environment: environment)
        // Without a logger from the test, nothing is written (access lines included).
        let logger = logger ?? Logger(label: "portcullis.test", factory: { _ in SwiftLogNoOpLogHandler() })
        let revocation = try RevocationService.load(config, pluginDirectory: BuiltPlugins.directory, logger: logger)
        let box: RuntimeBox
        do {
            box = RuntimeBox(try GatewayRuntime.build(config, revocation: revocation))
        } catch {
            revocation.shutdown()
            throw error
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: workers)
        let jwks = JWKSFetcher(group: group, logger: logger, metrics: box.metrics, settings: jwksSettings)
        jwks.follow(box.runtime)
        let server: GatewayServer
        let admin: AdminServer?
        do {
            server = try await GatewayServer.start(runtime: box, group: group, logger: logger)
            do {
                admin = config.admin == nil ? nil : try await AdminServer.start(runtime: box, group: group, logger: logger)
            } catch {
                try? await server.close()
                throw error
            }
        } catch {
            await jwks.shutdown()
            revocation.shutdown()
            try? await group.shutdownGracefully()
            throw error
        }
        return GatewayHarness(server: server, admin: admin, runtime: box, jwks: jwks, group: group)
    }

    public func shutdown() async throws {
        do {
            try await server.close()
        } catch ChannelError.alreadyClosed {
            // The test already ran the server's graceful shutdown.
        }
        try await admin?.close()
        await jwks.shutdown()
        // Workers before loops, as `serve` does: a late answer needs its loop.
        runtime.runtime.revocation?.shutdown()
        try await group.shutdownGracefully()
    }

    /// Runs `body` with an upstream stub and a gateway in front of it, and shuts both down
    /// whether `body` throws or not.
    public static func withUpstream(
        yaml: String, behavior: UpstreamStub.Behavior = .echo, directory: String = NSTemporaryDirectory(),
        workers: Int = 1, logger: Logger? = nil, _ body: (GatewayHarness, UpstreamStub) async throws -> Void
    ) async throws {
        try await with(
            UpstreamStub.start(behavior: behavior), yaml: yaml, directory: directory, workers: workers, logger: logger, body
        )
    }

    /// Runs `body` with a gateway in front of `upstream` (already started; `{{UPSTREAM}}` in
    /// the YAML becomes its URL), and shuts both down whether `body` throws or not.
    public static func with<Upstream: TestUpstream>(
        _ upstream: Upstream, yaml: String, directory: String = NSTemporaryDirectory(), workers: Int = 1,
        logger: Logger? = nil, _ body: (GatewayHarness, Upstream) async throws -> Void
    ) async throws {
        let gateway: GatewayHarness
        do {
            gateway = try await start(
                yaml: yaml, upstreamURL: upstream.url, directory: directory, workers: workers, logger: logger
            )
        } catch {
            try? await upstream.shutdown()
            throw error
        }
        do {
            try await body(gateway, upstream)
        } catch {
            try? await gateway.shutdown()
            try? await upstream.shutdown()
            throw error
        }
        try await gateway.shutdown()
        try await upstream.shutdown()
    }
}

/// A server a test puts behind the gateway.
public protocol TestUpstream: Sendable {
    /// What `{{UPSTREAM}}` in a test config becomes.
    var url: String { get }
    func shutdown() async throws
}

extension UpstreamStub: TestUpstream {}
extension WebSocketUpstream: TestUpstream {}
