import Logging

/// A validated `gateway.yaml`: plain immutable values, built once per (re)load by `ConfigLoader`.
///
/// Everything here is data; runtime objects (key sets, route table, upstream pools) are built
/// from it by `GatewayRuntime`. Positions are kept where a later build step may still fail
/// (key material, upstream references) so that every error names FILE:LINE:COLUMN.
public struct GatewayConfig: Sendable {
    /// The config file path as given on the command line (used in error messages).
    public var file: String
    /// Absolute folder of the config file; relative paths in the file are resolved against it.
    public var directory: String
    public var server: ServerSettings
    public var admin: AdminSettings?
    public var log: LogSettings
    public var jwt: JWTSettings
    public var blocklist: BlocklistSettings
    /// Upstreams in file order.
    public var upstreams: [UpstreamSettings]
    /// Routes in file order; the first match wins.
    public var routes: [RouteSettings]
    /// `nil` when `logout: false`.
    public var logout: LogoutSettings?
    /// Sections that are present in the file (by top-level key), for "not active yet" warnings.
    public var presentSections: Set<String>

    public init(
        file: String, directory: String, server: ServerSettings = ServerSettings(), admin: AdminSettings? = nil,
        log: LogSettings = LogSettings(), jwt: JWTSettings, blocklist: BlocklistSettings = BlocklistSettings(),
        upstreams: [UpstreamSettings], routes: [RouteSettings], logout: LogoutSettings? = LogoutSettings(),
        presentSections: Set<String> = []
    ) {
        self.file = file
        self.directory = directory
        self.server = server
        self.admin = admin
        self.log = log
        self.jwt = jwt
        self.blocklist = blocklist
        self.upstreams = upstreams
        self.routes = routes
        self.logout = logout
        self.presentSections = presentSections
    }

    public func upstream(named name: String) -> UpstreamSettings? {
        upstreams.first { $0.name == name }
    }
}

/// A 1-based position in a config file.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// `host:port`, or `[v6]:port`.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

public struct ServerSettings: Sendable {
    public var listen = ListenAddress(host: "127.0.0.1", port: 8080)
    public var tls: TLSSettings?
    /// Event-loop threads; `nil` means one per CPU core (`auto`).
    public var workers: Int?
    public var maxHeaderBytes = 16384
    /// 0 means unlimited.
    public var maxBodyBytes = 10_485_760
    public var idleTimeout: Duration = .seconds(60)
    public var maxConnections = 10000
    public var headerTimeout: Duration = .seconds(10)

    public init() {}
}

/// `server.tls`. The files are read again and parsed each time a runtime is built (start and
/// every reload); errors point at the value that names the file.
public struct TLSSettings: Sendable {
    /// Absolute paths.
    public var certificatePath: String
    public var privateKeyPath: String
    public var certificateLocation: SourceLocation?
    public var privateKeyLocation: SourceLocation?

    public init(
        certificatePath: String, privateKeyPath: String, certificateLocation: SourceLocation? = nil,
        privateKeyLocation: SourceLocation? = nil
    ) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.certificateLocation = certificateLocation
        self.privateKeyLocation = privateKeyLocation
    }
}

public struct AdminSettings: Sendable {
    public var listen: ListenAddress
    /// `/admin/*` is disabled (404) when nil or empty.
    public var token: String?

    public init(listen: ListenAddress, token: String?) {
        self.listen = listen
        self.token = token
    }
}

public enum LogFormat: String, Sendable {
    case json
    case text
}

public struct LogSettings: Sendable {
    public var level: Logger.Level = .info
    public var format: LogFormat = .json
    public var accessLog = true

    public init() {}
}

/// Where a token is read from in a request.
public enum TokenLocation: Sendable, Hashable {
    case header(String)
    case cookie(String)
    /// A top-level string field of a JSON request body (`/logout` only).
    case jsonBody(String)
}

public enum JWTAlgorithm: String, Sendable, CaseIterable {
    case HS256, HS384, HS512
    case RS256, RS384, RS512
    case PS256, PS384, PS512
    case ES256, ES384
    case EdDSA
}

public struct JWTSettings: Sendable {
    /// At least one.
    public var issuers: [IssuerSettings]
    public var leeway: Duration = .seconds(30)
    public var maxLifetime: Duration = .seconds(30 * 86400)
    /// Claims that must be present.
    public var require: [String] = ["exp", "iat", "jti"]
    public var tokenTypeClaim = "type"
    public var accessToken: [TokenLocation] = [.header("Authorization")]
    public var refreshToken: [TokenLocation] = [
        .header("X-Refresh-Token"), .cookie("refresh_token"), .jsonBody("refresh_token"),
    ]

    public init(issuers: [IssuerSettings]) {
        self.issuers = issuers
    }
}

public struct IssuerSettings: Sendable {
    public var issuer: String
    /// `nil`: `aud` is not checked.
    public var audiences: [String]?
    /// Allow-list; never contains `none` (there is no such case).
    public var algorithms: [JWTAlgorithm]
    public var keys: [KeySourceSettings]
    /// Position of the `issuer:` value.
    public var location: SourceLocation?

    public init(
        issuer: String, audiences: [String]?, algorithms: [JWTAlgorithm], keys: [KeySourceSettings],
        location: SourceLocation? = nil
    ) {
        self.issuer = issuer
        self.audiences = audiences
        self.algorithms = algorithms
        self.keys = keys
        self.location = location
    }
}

/// One entry of `jwt.issuers[].keys`. File sources carry the file's bytes, read by the loader
/// (an unreadable file is already a config error); parsing them into keys happens when the
/// runtime is built, and its errors point at `location`.
public struct KeySourceSettings: Sendable {
    public enum Kind: Sendable {
        case jwksURL(url: String, refresh: Duration)
        case jwksFile(path: String, contents: [UInt8])
        case publicKeyFile(path: String, pem: String, kid: String?)
        /// `secret` (raw bytes of the string) or `secret_base64` (decoded).
        case secret(bytes: [UInt8])
        /// Only used by `portcullis token`.
        case privateKeyFile(path: String, pem: String, kid: String?)
    }

    public var kind: Kind
    /// Position of the value that names the source (the path, URL or secret).
    public var location: SourceLocation?

    public init(kind: Kind, location: SourceLocation? = nil) {
        self.kind = kind
        self.location = location
    }
}

public enum RevocationFailureMode: String, Sendable {
    /// 503 `revocation_unavailable`.
    case deny
    /// Forwarded, logged and counted.
    case allow
}

public struct BlocklistSettings: Sendable {
    /// `memory`, `redis`, `sqlite`, or a path (contains `/` or ends in `.so`).
    public var plugin = "memory"
    /// The `config` mapping, as JSON (the host adds `config_dir` when creating the plugin).
    public var config: JSONValue = .object([:])
    public var onError: RevocationFailureMode = .deny
    public var timeout: Duration = .milliseconds(100)
    public var location: SourceLocation?

    public init() {}
}

public struct UpstreamSettings: Sendable {
    public enum Scheme: String, Sendable {
        case http
        case https
    }

    public var name: String
    public var scheme: Scheme
    public var host: String
    public var port: Int
    /// Path of the URL without a trailing `/` ("" when the URL has none); prepended upstream.
    public var basePath: String
    /// Absolute path; https only. Read and parsed when the runtime is built.
    public var caFile: String?
    /// Position of the `ca_file` value.
    public var caFileLocation: SourceLocation?
    public var connectTimeout: Duration = .seconds(5)
    public var timeout: Duration = .seconds(60)
    public var maxConnections = 256
    public var location: SourceLocation?

    public init(name: String, scheme: Scheme, host: String, port: Int, basePath: String = "") {
        self.name = name
        self.scheme = scheme
        self.host = host
        self.port = port
        self.basePath = basePath
    }
}

public enum PathRule: Sendable, Hashable {
    /// `path:` matches exactly this normalized path.
    case exact(String)
    /// `path_prefix:` matches the prefix and everything below it, on segment boundaries.
    case prefix(String)
}

public enum TokenType: String, Sendable {
    case access
    case refresh
}

/// A `require_claims` entry: dotted path, and the value it must equal (or an array must contain).
public struct ClaimRequirement: Sendable, Hashable {
    public var path: [String]
    public var value: JSONValue

    public init(path: [String], value: JSONValue) {
        self.path = path
        self.value = value
    }
}

public struct AuthPolicy: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case none
        case access
        case refresh
    }

    public var kind: Kind
    public var requireScopes: [String] = []
    public var requireClaims: [ClaimRequirement] = []

    public init(kind: Kind, requireScopes: [String] = [], requireClaims: [ClaimRequirement] = []) {
        self.kind = kind
        self.requireScopes = requireScopes
        self.requireClaims = requireClaims
    }
}

/// `forward_claims` entry: the claim, and the request header it is sent upstream in.
public struct ClaimForward: Sendable, Hashable {
    public var claim: String
    public var header: String

    public init(claim: String, header: String) {
        self.claim = claim
        self.header = header
    }
}

public struct RouteSettings: Sendable {
    public var name: String
    public var path: PathRule
    /// Lowercased, without port.
    public var host: String?
    /// Uppercased; `nil` means every method.
    public var methods: [String]?
    public var upstream: String
    public var stripPrefix: String?
    public var auth: AuthPolicy
    public var forwardClaims: [ClaimForward] = []
    public var forwardToken = true
    /// Position of the `upstream:` value (for "undefined upstream").
    public var upstreamLocation: SourceLocation?

    public init(name: String, path: PathRule, upstream: String, auth: AuthPolicy = AuthPolicy(kind: .access)) {
        self.name = name
        self.path = path
        self.upstream = upstream
        self.auth = auth
    }
}

public struct LogoutSettings: Sendable {
    public var path = "/logout"
    public var requireRefresh = false

    public init() {}
}
