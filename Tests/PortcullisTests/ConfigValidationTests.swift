import Testing

@testable import Portcullis

/// One invalid snippet: the message the loader must start with, and where it must point.
struct InvalidConfigCase: Sendable, CustomTestStringConvertible {
    var yaml: String
    var message: String
    var line: Int
    var column: Int

    var testDescription: String { message }
}

@Suite("Config loader: validation")
struct ConfigValidationTests {
    /// Lines 1-6: a valid `jwt` section; snippets continue at line 7.
    static let jwtOnly = """
        jwt:
          issuers:
            - issuer: https://auth.example.com
              algorithms: [HS256]
              keys:
                - secret: x

        """

    static func afterMinimal(_ yaml: String, _ message: String, _ line: Int, _ column: Int) -> InvalidConfigCase {
        InvalidConfigCase(yaml: ConfigFixture.minimal + yaml, message: message, line: line, column: column)
    }

    static func route(_ lines: String, _ message: String, _ line: Int, _ column: Int) -> InvalidConfigCase {
        InvalidConfigCase(yaml: ConfigFixture.prelude + "routes:\n  - name: r\n" + lines, message: message, line: line, column: column)
    }

    static func upstream(_ lines: String, _ message: String, _ line: Int, _ column: Int) -> InvalidConfigCase {
        InvalidConfigCase(yaml: jwtOnly + "upstreams:\n  bad:\n" + lines, message: message, line: line, column: column)
    }

    static let cases: [InvalidConfigCase] = [
        afterMinimal("server:\n  listen: 127.0.0.1:70000\n", "server.listen: port must be a number from 0 to 65535", 15, 11),
        afterMinimal("server:\n  listen: ::1:8080\n", "server.listen: an IPv6 address needs brackets", 15, 11),
        afterMinimal("server:\n  listen: localhost\n", "server.listen: expected host:port or [ipv6]:port", 15, 11),
        afterMinimal("server:\n  workers: 0\n", "server.workers: must be at least 1, got 0", 15, 12),
        afterMinimal("server:\n  max_header_bytes: 512\n", "server.max_header_bytes: must be at least 1024", 15, 21),
        afterMinimal("server:\n  max_body_bytes: -1\n", "server.max_body_bytes: must be at least 0", 15, 19),
        afterMinimal("server:\n  header_timeout: 0s\n", "server.header_timeout: must be greater than 0", 15, 19),
        afterMinimal("server:\n  max_connections: 1.5\n", #"server.max_connections: expected an integer, got "1.5""#, 15, 20),
        afterMinimal("server: 8080\n", #"server: expected a mapping, got "8080""#, 14, 9),
        afterMinimal("log:\n  access_log: yes\n", #"log.access_log: expected true or false, got "yes""#, 15, 15),
        afterMinimal("blocklist:\n  on_error: ignore\n", "blocklist.on_error: expected one of deny, allow", 15, 13),
        afterMinimal("blocklist:\n  config: [a]\n", "blocklist.config: expected a mapping, got a list", 15, 11),
        afterMinimal("blocklist:\n  timeout: 0\n", "blocklist.timeout: must be greater than 0", 15, 12),
        afterMinimal("logout:\n  path: logout\n", "logout.path: must start with '/'", 15, 9),
        afterMinimal("logout: maybe\n", "logout: expected true or false", 14, 9),
        afterMinimal("admin:\n  token: x\n", "admin: missing required key 'listen'", 15, 3),
        afterMinimal("admin:\n  listen:\n", "admin.listen: a value is required", 15, 10),
        upstream("    url: ftp://x\n", "upstreams.bad.url: expected an http:// or https:// URL", 9, 10),
        upstream("    url: http://x/?q=1\n", "upstreams.bad.url: must not have a query or fragment", 9, 10),
        upstream("    url: http://user@x/\n", "upstreams.bad.url: must not contain user info", 9, 10),
        upstream("    url: http://x:0\n", "upstreams.bad.url: expected http[s]://host[:port][/path]", 9, 10),
        upstream("    url: http://x\n    ca_file: ca.pem\n", "upstreams.bad.ca_file: ca_file is only used with an https:// url", 10, 14),
        upstream("    url: http://x\n    max_connections: 0\n", "upstreams.bad.max_connections: must be at least 1", 10, 22),
        upstream("    timeout: 5s\n", "upstreams.bad: missing required key 'url'", 9, 5),
        route("    path_prefix: /api\n    strip_prefix: /ap\n    upstream: orders\n",
            "routes[0].strip_prefix: '/ap' is not a prefix of the route's path '/api'", 13, 19),
        route("    path: api\n    upstream: orders\n", "routes[0].path: must start with '/'", 12, 11),
        route("    path: /a\n    methods: [GET, \"B@D\"]\n    upstream: orders\n",
            #"routes[0].methods: "B@D" is not a valid HTTP method"#, 13, 14),
        route("    path: /a\n    methods: []\n    upstream: orders\n", "routes[0].methods: must not be empty", 13, 14),
        route("    path: /a\n    upstream: orders\n    auth: bearer\n", "routes[0].auth: expected one of none, access, refresh", 14, 11),
        route("    path: /a\n    upstream: orders\n    forward_claims:\n      sub: X User\n",
            #"routes[0].forward_claims.sub: "X User" is not a valid header name"#, 15, 12),
        route("    upstream: orders\n", "routes[0]: one of 'path' or 'path_prefix' is required", 11, 5),
        route("    path: /a\n", "routes[0]: missing required key 'upstream'", 11, 5),
        route("    path: /a\n    upstream: orders\n    auth:\n      type: none\n      require_scopes: [a]\n",
            "routes[0].auth.type: require_scopes and require_claims need type access or refresh", 15, 13),
        route("    path: /a\n    upstream: orders\n    auth:\n      require_claims:\n        roles: [a]\n",
            "routes[0].auth.require_claims.roles: expected a single value", 16, 16),
        route("    path: /a\n    upstream: orders\n    host: api example.com\n", "routes[0].host: expected a host name", 14, 11),
        route("    path: /a\n    upstream: orders\n    forward_token: 1\n", #"routes[0].forward_token: expected true or false, got "1""#, 14, 20),
        InvalidConfigCase(
            yaml: jwtOnly + "  access_token:\n    - json_body: t\n",
            message: "jwt.access_token[0]: json_body is only supported for refresh_token", line: 8, column: 7),
        InvalidConfigCase(
            yaml: jwtOnly + "  refresh_token:\n    - header: Bad Header\n",
            message: #"jwt.refresh_token[0].header: "Bad Header" is not a valid header name"#, line: 8, column: 15),
        InvalidConfigCase(
            yaml: jwtOnly + "  refresh_token:\n    - query: t\n",
            message: "unknown key 'query' in jwt.refresh_token[0]; expected header, cookie, json_body", line: 8, column: 7),
        InvalidConfigCase(
            yaml: jwtOnly + "  leeway: -5s\n", message: #"jwt.leeway: expected a duration"#, line: 7, column: 11),
        InvalidConfigCase(
            yaml: "jwt:\n  issuers:\n    - issuer: a\n      algorithms: [RS257]\n      keys: [{secret: x}]\n",
            message: #"jwt.issuers[0].algorithms[0]: unknown algorithm "RS257" (valid: HS256, HS384"#, line: 4, column: 20),
        InvalidConfigCase(
            yaml: "jwt:\n  issuers:\n    - issuer: a\n      audiences: []\n      algorithms: [HS256]\n      keys: [{secret: x}]\n",
            message: "jwt.issuers[0].audiences: must not be empty", line: 4, column: 18),
        InvalidConfigCase(
            yaml: "jwt:\n  issuers:\n    - issuer: a\n      algorithms: [HS256]\n      keys: []\n",
            message: "jwt.issuers[0].keys: at least one key source is required", line: 5, column: 13),
        InvalidConfigCase(
            yaml: "jwt:\n  issuers:\n    - issuer: a\n      keys: [{secret: x}]\n",
            message: "jwt.issuers[0]: missing required key 'algorithms'", line: 3, column: 7),
        InvalidConfigCase(
            yaml: "jwt:\n  issuers:\n    - issuer: \"\"\n      algorithms: [HS256]\n      keys: [{secret: x}]\n",
            message: "jwt.issuers[0].issuer: must not be empty", line: 3, column: 15),
        InvalidConfigCase(
            yaml: "jwt:\n  issuers:\n    - issuer: a\n      algorithms: [HS256]\n      keys: [{secret: x}]\n"
                + "    - issuer: a\n      algorithms: [HS256]\n      keys: [{secret: y}]\n",
            message: "jwt.issuers[1].issuer: duplicate issuer 'a' (first at line 3)", line: 6, column: 15),
        InvalidConfigCase(yaml: "jwt:\n  issuers: []\n", message: "jwt.issuers: at least one issuer is required", line: 2, column: 12),
        InvalidConfigCase(yaml: "upstreams: {}\n", message: "missing required section 'jwt'", line: 1, column: 1),
        InvalidConfigCase(yaml: "- a\n- b\n", message: "expected a mapping of sections", line: 1, column: 1),
    ]

    @Test("each invalid value is one error with its message and position", arguments: cases)
    func invalid(_ testCase: InvalidConfigCase) {
        let errors = ConfigFixture.errors(testCase.yaml)
        #expect(errors.count == 1, "\(errors)")
        let error = errors.first
        #expect(error?.message.hasPrefix(testCase.message) == true, "\(error?.message ?? "no error")")
        #expect(ConfigFixture.position(error) == [testCase.line, testCase.column])
    }

    @Test("an upstream URL is split into scheme, host, default port and base path", arguments: [
        ("http://Example.COM", UpstreamSettings.Scheme.http, "example.com", 80, ""),
        ("https://example.com", .https, "example.com", 443, ""),
        ("HTTP://10.0.0.1:8080/", .http, "10.0.0.1", 8080, ""),
        ("https://[2001:db8::1]:8443/base/path//", .https, "2001:db8::1", 8443, "/base/path"),
    ])
    func upstreamURL(url: String, scheme: UpstreamSettings.Scheme, host: String, port: Int, basePath: String) throws {
        let yaml = Self.jwtOnly + "upstreams:\n  u:\n    url: \(url)\n"
        let upstream = try #require(try ConfigFixture.parse(yaml).upstreams.first)
        #expect(upstream.scheme == scheme)
        #expect(upstream.host == host)
        #expect(upstream.port == port)
        #expect(upstream.basePath == basePath)
    }

    @Test("strip_prefix must end on a segment boundary of the route's rule", arguments: [
        ("/api/", "/api", true), ("/api/", "/api/", true), ("/api", "/api", true), ("/api/v1", "/api", true),
        ("/api/v1", "/", true), ("/apis", "/api", false), ("/api", "/api/", false), ("/v1/api", "/api", false),
    ])
    func stripPrefix(rule: String, prefix: String, valid: Bool) {
        let yaml = ConfigFixture.prelude + "routes:\n  - name: r\n    path_prefix: \(rule)\n    upstream: orders\n    strip_prefix: \(prefix)\n"
        #expect(ConfigFixture.errors(yaml).isEmpty == valid)
    }

    @Test("route host is lowercased without its port")
    func routeHost() throws {
        let yaml = ConfigFixture.prelude
            + "routes:\n  - {name: a, path: /a, upstream: orders, host: Api.Example.COM:8443}\n"
            + "  - {name: b, path: /b, upstream: orders, host: \"[::1]:80\"}\n"
        let routes = try ConfigFixture.parse(yaml).routes
        #expect(routes.map(\.host) == ["api.example.com", "[::1]"])
    }

    @Test("an invalid route is still checked in full")
    func invalidRouteStillChecked() {
        let yaml = ConfigFixture.prelude + "routes:\n  - name: r\n    upstream: nowhere\n    methods: []\n    forward_token: x\n"
        let messages = ConfigFixture.errors(yaml).map(\.message)
        #expect(messages.count == 4, "\(messages)")
    }
}
