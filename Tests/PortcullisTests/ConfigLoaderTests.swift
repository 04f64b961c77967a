import Foundation
import Testing

@testable import Portcullis

@Suite("Config loader: a complete file")
struct ConfigLoaderTests {
    static let fullConfig = """
        server:
          listen: 127.0.0.1:8443
          tls:
            certificate: certs/server.pem
            private_key: certs/server.key
          workers: 4
          max_header_bytes: 32768
          max_body_bytes: 0
          idle_timeout: 90s
          max_connections: 500
          header_timeout: 5s

        admin:
          listen: "[::1]:9901"
          token: ${PORTCULLIS_ADMIN_TOKEN}

        log:
          level: debug
          format: text
          access_log: false

        jwt:
          issuers:
            - issuer: https://auth.example.com
              audiences: [orders-api, billing]
              algorithms: [RS256, ES256, HS256, RS256]
              keys:
                - jwks_url: https://auth.example.com/.well-known/jwks.json
                  refresh: 5m
                - jwks_file: keys/jwks.json
                - public_key_file: keys/es256.pub.pem
                  kid: 2024-01
                - secret: ${JWT_SECRET}
                - secret_base64: ${JWT_SECRET_B64}
                - private_key_file: keys/dev.key.pem
            - issuer: https://other.example.com
              algorithms: [EdDSA]
              keys:
                - jwks_url: http://other.example.com/jwks
          leeway: 10s
          max_lifetime: 7d
          require: [exp, sub]
          token_type_claim: typ
          access_token:
            - header: Authorization
            - cookie: access_token
          refresh_token:
            - header: X-Refresh-Token
            - cookie: refresh_token
            - json_body: refresh_token

        blocklist:
          plugin: sqlite
          config:
            path: data/revoked.db
            sweep_interval: 30
            ratio: 0.5
            wal: true
            extra: ~
            tags: [a, 2]
            quoted: "42"
          on_error: allow
          timeout: 250ms

        upstreams:
          orders:
            url: https://orders.internal:9443/v1/
            ca_file: certs/internal-ca.pem
            connect_timeout: 2s
            timeout: 30s
            max_connections: 64
          billing:
            url: http://[::1]/

        routes:
          - name: public-health
            path: /healthz
            upstream: orders
            auth: none
          - name: token-refresh
            path: /auth/refresh
            methods: [post]
            upstream: billing
            auth: refresh
          - name: admin-api
            path_prefix: /api/admin/
            upstream: orders
            auth:
              type: access
              require_scopes: [orders:admin]
              require_claims:
                realm_access.roles: admin
                level: 3
          - name: api
            path_prefix: /api/
            host: API.Example.com:8443
            methods: [GET, POST, PUT, DELETE, GET]
            upstream: orders
            strip_prefix: /api
            auth: access
            forward_claims:
              sub: X-User-Id
              email: X-User-Email
            forward_token: false

        logout:
          path: /auth/logout
          require_refresh: true

        """

    static let environment = [
        "PORTCULLIS_ADMIN_TOKEN": "admin-token", "JWT_SECRET": "hmac secret", "JWT_SECRET_B64": "aGVsbG8",
    ]

    @Test("every key of the contract is read into the settings")
    func fullConfig() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write("certs/server.pem", "CERT")
        try folder.write("certs/server.key", "KEY")
        try folder.write("certs/internal-ca.pem", "CA")
        try folder.write("keys/jwks.json", #"{"keys":[]}"#)
        try folder.write("keys/es256.pub.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
        try folder.write("keys/dev.key.pem", "-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n")
        let file = try folder.write("gateway.yaml", Self.fullConfig)

        let config = try ConfigLoader.load(file: file, environment: Self.environment)

        #expect(config.file == file)
        #expect(config.directory == folder.path)
        #expect(config.presentSections == Set(ConfigLoader.sections))

        let server = config.server
        #expect(server.listen == ListenAddress(host: "127.0.0.1", port: 8443))
        #expect(server.tls?.certificatePath == folder.path + "/certs/server.pem")
        #expect(server.tls?.privateKeyPath == folder.path + "/certs/server.key")
        #expect(server.workers == 4)
        #expect(server.maxHeaderBytes == 32768)
        #expect(server.maxBodyBytes == 0)
        #expect(server.idleTimeout == .seconds(90))
        #expect(server.maxConnections == 500)
        #expect(server.headerTimeout == .seconds(5))

        #expect(config.admin?.listen == ListenAddress(host: "::1", port: 9901))
        #expect(config.admin?.token == "admin-token")
        #expect(config.log.level == .debug)
        #expect(config.log.format == .text)
        #expect(config.log.accessLog == false)

        let jwt = config.jwt
        #expect(jwt.leeway == .seconds(10))
        #expect(jwt.maxLifetime == .seconds(7 * 86400))
        #expect(jwt.require == ["exp", "sub"])
        #expect(jwt.tokenTypeClaim == "typ")
        #expect(jwt.accessToken == [.header("Authorization"), .cookie("access_token")])
        #expect(jwt.refreshToken == [.header("X-Refresh-Token"), .cookie("refresh_token"), .jsonBody("refresh_token")])
        try #require(jwt.issuers.count == 2)
        let issuer = jwt.issuers[0]
        #expect(issuer.issuer == "https://auth.example.com")
        #expect(issuer.audiences == ["orders-api", "billing"])
        #expect(issuer.algorithms == [.RS256, .ES256, .HS256])
        #expect(issuer.location == SourceLocation(file: file, line: 24, column: 15))
        #expect(jwt.issuers[1].audiences == nil)
        #expect(jwt.issuers[1].algorithms == [.EdDSA])

        try #require(issuer.keys.count == 6)
        guard case .jwksURL(let url, let refresh) = issuer.keys[0].kind else { Issue.record("keys[0]"); return }
        #expect(url == "https://auth.example.com/.well-known/jwks.json")
        #expect(refresh == .seconds(300))
        #expect(issuer.keys[0].location == SourceLocation(file: file, line: 28, column: 21))
        guard case .jwksFile(let jwksPath, let contents) = issuer.keys[1].kind else { Issue.record("keys[1]"); return }
        #expect(jwksPath == folder.path + "/keys/jwks.json")
        #expect(contents == Array(#"{"keys":[]}"#.utf8))
        guard case .publicKeyFile(_, let pem, let kid) = issuer.keys[2].kind else { Issue.record("keys[2]"); return }
        #expect(pem.hasPrefix("-----BEGIN PUBLIC KEY-----"))
        #expect(kid == "2024-01")
        guard case .secret(let raw) = issuer.keys[3].kind else { Issue.record("keys[3]"); return }
        #expect(raw == Array("hmac secret".utf8))
        guard case .secret(let decoded) = issuer.keys[4].kind else { Issue.record("keys[4]"); return }
        #expect(decoded == Array("hello".utf8))
        guard case .privateKeyFile(let keyPath, _, let privateKid) = issuer.keys[5].kind else {
            Issue.record("keys[5]")
            return
        }
        #expect(keyPath == folder.path + "/keys/dev.key.pem")
        #expect(privateKid == nil)
        guard case .jwksURL(_, let defaultRefresh) = jwt.issuers[1].keys[0].kind else { Issue.record("other"); return }
        #expect(defaultRefresh == .seconds(600))

        let blocklist = config.blocklist
        #expect(blocklist.plugin == "sqlite")
        #expect(blocklist.onError == .allow)
        #expect(blocklist.timeout == .milliseconds(250))
        #expect(blocklist.location == SourceLocation(file: file, line: 53, column: 11))
        #expect(
            blocklist.config
                == .object([
                    "path": "data/revoked.db", "sweep_interval": 30, "ratio": .number(0.5), "wal": true, "extra": .null,
                    "tags": .array(["a", 2]), "quoted": "42",
                ]))

        try #require(config.upstreams.count == 2)
        let orders = config.upstreams[0]
        #expect(orders.name == "orders")
        #expect(orders.scheme == .https)
        #expect(orders.host == "orders.internal")
        #expect(orders.port == 9443)
        #expect(orders.basePath == "/v1")
        #expect(orders.caFile == folder.path + "/certs/internal-ca.pem")
        #expect(orders.connectTimeout == .seconds(2))
        #expect(orders.timeout == .seconds(30))
        #expect(orders.maxConnections == 64)
        #expect(orders.location == SourceLocation(file: file, line: 67, column: 10))
        let billing = config.upstreams[1]
        #expect(billing.name == "billing")
        #expect(billing.scheme == .http)
        #expect(billing.host == "::1")
        #expect(billing.port == 80)
        #expect(billing.basePath == "")
        #expect(billing.caFile == nil)
        #expect(billing.maxConnections == 256)

        try #require(config.routes.count == 4)
        let health = config.routes[0]
        #expect(health.name == "public-health")
        #expect(health.path == .exact("/healthz"))
        #expect(health.auth == AuthPolicy(kind: .none))
        #expect(health.methods == nil)
        #expect(health.forwardToken == true)
        #expect(config.routes[1].methods == ["POST"])
        #expect(config.routes[1].upstream == "billing")
        #expect(config.routes[1].auth.kind == .refresh)
        let adminAPI = config.routes[2]
        #expect(adminAPI.path == .prefix("/api/admin/"))
        #expect(
            adminAPI.auth
                == AuthPolicy(
                    kind: .access, requireScopes: ["orders:admin"],
                    requireClaims: [
                        ClaimRequirement(path: ["realm_access", "roles"], value: "admin"),
                        ClaimRequirement(path: ["level"], value: 3),
                    ]))
        let api = config.routes[3]
        #expect(api.host == "api.example.com")
        #expect(api.methods == ["GET", "POST", "PUT", "DELETE"])
        #expect(api.stripPrefix == "/api")
        #expect(api.auth == AuthPolicy(kind: .access))
        #expect(api.forwardClaims == [ClaimForward(claim: "sub", header: "X-User-Id"), ClaimForward(claim: "email", header: "X-User-Email")])
        #expect(api.forwardToken == false)
        #expect(api.upstreamLocation == SourceLocation(file: file, line: 98, column: 15))

        #expect(config.logout?.path == "/auth/logout")
        #expect(config.logout?.requireRefresh == true)
    }

    @Test("a minimal file gets the documented defaults")
    func defaults() throws {
        let config = try ConfigFixture.parse(ConfigFixture.minimal)
        #expect(config.server.listen == ListenAddress(host: "127.0.0.1", port: 8080))
        #expect(config.server.tls == nil)
        #expect(config.server.workers == nil)
        #expect(config.server.maxHeaderBytes == 16384)
        #expect(config.admin == nil)
        #expect(config.log.level == .info)
        #expect(config.log.format == .json)
        #expect(config.jwt.leeway == .seconds(30))
        #expect(config.jwt.require == ["exp", "iat", "jti"])
        #expect(config.jwt.accessToken == [.header("Authorization")])
        #expect(config.jwt.issuers[0].audiences == nil)
        #expect(config.blocklist.plugin == "memory")
        #expect(config.blocklist.config == .object([:]))
        #expect(config.blocklist.location == nil)
        #expect(config.upstreams[0].maxConnections == 256)
        #expect(config.routes[0].auth == AuthPolicy(kind: .access))
        #expect(config.logout?.path == "/logout")
        #expect(config.presentSections == ["jwt", "upstreams", "routes"])
    }

    @Test("server.workers auto, logout false, admin without token, blocklist located at its key")
    func alternateForms() throws {
        let yaml = ConfigFixture.minimal + """
            server:
              workers: AUTO
              listen: 0.0.0.0:0
            admin:
              listen: localhost:9901
              token: ""
            blocklist:
              on_error: deny
            logout: false

            """
        let config = try ConfigFixture.parse(yaml)
        #expect(config.server.workers == nil)
        #expect(config.server.listen == ListenAddress(host: "0.0.0.0", port: 0))
        #expect(config.admin?.token == nil)
        #expect(config.blocklist.location == SourceLocation(file: "gateway.yaml", line: 20, column: 1))
        #expect(config.logout == nil)
    }

    @Test("a config file that cannot be read is one error without a position")
    func unreadableFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let file = folder.path + "/missing.yaml"
        #expect {
            try ConfigLoader.load(file: file, environment: [:])
        } throws: { error in
            let errors = (error as? ConfigErrors)?.errors ?? []
            return errors.count == 1 && errors[0].location == nil
                && errors[0].description == "\(file): cannot read config: No such file or directory"
        }
    }

    @Test("a relative config path resolves relative paths against its own folder")
    func relativeConfigPath() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write("sub/gateway.yaml", ConfigFixture.minimal)
        // Relative to the current directory without changing it (tests run in parallel).
        let depth = FileManager.default.currentDirectoryPath.split(separator: "/").count
        let relative = String(repeating: "../", count: depth) + folder.path.dropFirst() + "/sub/gateway.yaml"
        let config = try ConfigLoader.load(file: relative, environment: [:])
        #expect(config.file == relative)
        #expect(config.directory == folder.path + "/sub")
    }
}
