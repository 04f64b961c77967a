import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// Everything the request path needs from one config, built once per (re)load and then only
/// read: the token verifier, the route table, and per-route forwarding data precomputed so
/// that no request repeats work that depends only on the config.
///
/// A reload builds a new runtime and swaps it in `RuntimeBox`; requests in flight keep the
/// snapshot they started with.
public final class GatewayRuntime: Sendable {
    public let config: GatewayConfig
    public let verifier: TokenVerifier
    public let routeTable: RouteTable
    package let routes: [CompiledRoute]
    let upstreams: [UpstreamTarget]
    /// Lowercased names of every `forward_claims` header of every route: removed from every
    /// incoming request so a client can never spoof them.
    let claimHeaderNames: [[UInt8]]
    let leewaySeconds: Int64
    /// Where `/logout` reads the access token (every `jwt.access_token` location).
    let logoutAccessSources: [CredentialLocation]
    /// Where `/logout` reads the refresh token, in file order, `json_body` included.
    let logoutRefreshLocations: [TokenLocation]
    /// The blocklist every verified token is checked against. `nil` only for runtimes built
    /// to test the synchronous decision alone; `serve` always has one.
    public let revocation: RevocationService?
    /// The TLS contexts read for this runtime; new client connections take the listener's.
    let tls: RuntimeTLS

    init(config: GatewayConfig, verifier: TokenVerifier, revocation: RevocationService?, tls: RuntimeTLS) {
        self.config = config
        self.verifier = verifier
        self.revocation = revocation
        self.tls = tls
        self.routeTable = RouteTable(routes: config.routes)
        let upstreams = config.upstreams.map { UpstreamTarget($0, tls: tls.upstreams[$0.name]) }
        self.upstreams = upstreams
        self.routes = config.routes.map { route in
            CompiledRoute(
                settings: route,
                upstreamIndex: upstreams.firstIndex { $0.settings.name == route.upstream } ?? 0,
                credentialSources: CredentialLocation.compile(
                    route.auth.kind == .refresh ? config.jwt.refreshToken : config.jwt.accessToken
                )
            )
        }
        var names: [[UInt8]] = []
        for route in config.routes {
            for forward in route.forwardClaims {
                let name = Array(forward.header.lowercased().utf8)
                if !names.contains(name) { names.append(name) }
            }
        }
        self.claimHeaderNames = names
        self.leewaySeconds = Int64(config.jwt.leeway.components.seconds)
        self.logoutAccessSources = CredentialLocation.compile(config.jwt.accessToken)
        self.logoutRefreshLocations = config.jwt.refreshToken
    }

    /// Builds the runtime for a validated config; key material errors (JWT keys, TLS
    /// certificates and keys, CA files) carry their positions. Reads the TLS files: call it
    /// off the event loops. The blocklist is loaded separately (its failures are runtime
    /// failures, exit 2) and handed in, so that a reload can keep the one it has.
    public static func build(
        _ config: GatewayConfig, revocation: RevocationService? = nil
    ) throws(ConfigErrors) -> GatewayRuntime {
        let verifier = try TokenVerifier(settings: config.jwt)
        var errors: [ConfigError] = []
        for route in config.routes where config.upstream(named: route.upstream) == nil {
            errors.append(ConfigError("undefined upstream '\(route.upstream)'", at: route.upstreamLocation))
        }
        var tls = RuntimeTLS.none
        do throws(ConfigErrors) {
            tls = try RuntimeTLS.load(config)
        } catch {
            errors += error.errors
        }
        guard errors.isEmpty else { throw ConfigErrors(errors.sorted(by: Self.fileOrder)) }
        return GatewayRuntime(config: config, verifier: verifier, revocation: revocation, tls: tls)
    }

    /// Errors with a position first, by line and column.
    private static func fileOrder(_ lhs: ConfigError, _ rhs: ConfigError) -> Bool {
        let left = lhs.location.map { ($0.line, $0.column) } ?? (Int.max, Int.max)
        let right = rhs.location.map { ($0.line, $0.column) } ?? (Int.max, Int.max)
        return left < right
    }
}

extension GatewayRuntime {
    /// The same runtime checking tokens against `revocation` (loaded after the config was
    /// validated, so that a broken config is reported before any plugin is touched).
    public func with(revocation: RevocationService) -> GatewayRuntime {
        GatewayRuntime(config: config, verifier: verifier, revocation: revocation, tls: tls)
    }
}

/// A route with what the request path needs precomputed.
package struct CompiledRoute: Sendable {
    var settings: RouteSettings
    var upstreamIndex: Int
    /// Where this route reads its credential (the refresh locations for `auth: refresh`).
    var credentialSources: [CredentialLocation]
}

/// A token location with its header name lowercased once per config, not per request.
enum CredentialLocation: Sendable {
    case authorization
    case header(lowercasedName: [UInt8])
    case cookie(String)

    /// `json_body` locations are read only by `/logout`, never by a route.
    static func compile(_ locations: [TokenLocation]) -> [CredentialLocation] {
        locations.compactMap { location in
            switch location {
            case .header(let name):
                let lowercased = Array(name.lowercased().utf8)
                return lowercased == Array("authorization".utf8) ? .authorization : .header(lowercasedName: lowercased)
            case .cookie(let name): return .cookie(name)
            case .jsonBody: return nil
            }
        }
    }
}

/// An upstream with its forwarding constants.
struct UpstreamTarget: Sendable {
    var settings: UpstreamSettings
    /// `host:port` used as the pool key, so a reload that changes the address gets a new pool.
    var poolKey: String
    /// https only: the client context of the runtime this target belongs to.
    var tls: UpstreamTLS?

    init(_ settings: UpstreamSettings, tls: UpstreamTLS?) {
        self.settings = settings
        self.poolKey = "\(settings.name)|\(settings.scheme.rawValue)://\(settings.host):\(settings.port)"
        self.tls = tls
    }
}

/// The current runtime, swapped atomically on reload, and what lives across reloads: the
/// metrics.
public final class RuntimeBox: Sendable {
    private let current: NIOLockedValueBox<GatewayRuntime>
    public let metrics: GatewayMetrics

    public init(_ runtime: GatewayRuntime, metrics: GatewayMetrics = GatewayMetrics()) {
        self.current = NIOLockedValueBox(runtime)
        self.metrics = metrics
    }

    public var runtime: GatewayRuntime {
        current.withLockedValue { $0 }
    }

    public func replace(with runtime: GatewayRuntime) {
        current.withLockedValue { $0 = runtime }
    }
}
