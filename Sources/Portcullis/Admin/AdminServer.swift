import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The admin listener on `admin.listen` (SPEC section 5): health, readiness and the
/// revocation API, on the gateway's event loops but a socket of its own. Low traffic, so
/// plain NIOHTTP1 rather than the proxy's byte-level parser.
public final class AdminServer: Sendable {
    private let channel: Channel

    /// The address actually bound (port 0 in the config gives an ephemeral port).
    public var localAddress: SocketAddress? { channel.localAddress }
    public var port: Int { channel.localAddress?.port ?? 0 }

    private init(channel: Channel) {
        self.channel = channel
    }

    /// Binds `admin.listen` of the current runtime's config; each request reads the runtime
    /// current when it completes. Throws when the config has no `admin` section or the
    /// address cannot be bound.
    public static func start(
        runtime runtimeBox: RuntimeBox, group: MultiThreadedEventLoopGroup, logger: Logger,
        reloader: ConfigReloader? = nil
    ) async throws -> AdminServer {
        guard let settings = runtimeBox.runtime.config.admin else {
            throw AdminServerError.notConfigured
        }
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                    try pipeline.addHandler(AdminConnectionHandler(runtimeBox: runtimeBox, reloader: reloader, logger: logger))
                }
            }
            .bind(host: settings.listen.host, port: settings.listen.port)
            .get()
        return AdminServer(channel: channel)
    }

    /// Stops accepting; admin requests in flight are not waited for.
    public func close() async throws {
        try await channel.close()
    }
}

/// Why the admin listener could not start.
public enum AdminServerError: Error, CustomStringConvertible {
    case notConfigured

    public var description: String {
        switch self {
        case .notConfigured: return "the config has no admin section"
        }
    }
}
