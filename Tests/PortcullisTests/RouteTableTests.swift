import Testing

@testable import Portcullis

@Suite("Route table")
struct RouteTableTests {
    static func route(
        _ name: String, _ path: PathRule, host: String? = nil, methods: [String]? = nil, strip: String? = nil
    ) -> RouteSettings {
        var route = RouteSettings(name: name, path: path, upstream: "orders")
        route.host = host
        route.methods = methods
        route.stripPrefix = strip
        return route
    }

    /// The name of the route `path` is routed to, or "404" / "405 <Allow>".
    static func outcome(
        _ table: RouteTable, _ path: String, host: Substring? = nil, method: Substring = "GET"
    ) -> String {
        switch table.match(path: path, host: host, method: method) {
        case .route(let index): return table.routes[index].name
        case .methodNotAllowed(let allow): return "405 \(allow)"
        case .notFound: return "404"
        }
    }

    @Test("matches an exact path only exactly")
    func exactPath() {
        let table = RouteTable(routes: [Self.route("health", .exact("/healthz"))])
        #expect(Self.outcome(table, "/healthz") == "health")
        #expect(Self.outcome(table, "/healthz/") == "404")
        #expect(Self.outcome(table, "/healthz/x") == "404")
        #expect(Self.outcome(table, "/health") == "404")
        #expect(Self.outcome(table, "/healthzz") == "404")
    }

    @Test("matches a prefix ending in a slash on itself and everything below, never /apis")
    func prefixWithSlash() {
        let table = RouteTable(routes: [Self.route("api", .prefix("/api/"))])
        #expect(Self.outcome(table, "/api/") == "api")
        #expect(Self.outcome(table, "/api/x") == "api")
        #expect(Self.outcome(table, "/api/x/y/") == "api")
        #expect(Self.outcome(table, "/api") == "404")
        #expect(Self.outcome(table, "/apis") == "404")
        #expect(Self.outcome(table, "/apis/x") == "404")
        #expect(Self.outcome(table, "/") == "404")
    }

    @Test("matches a prefix without a slash on itself and below it on a segment boundary")
    func prefixWithoutSlash() {
        let table = RouteTable(routes: [Self.route("api", .prefix("/api"))])
        #expect(Self.outcome(table, "/api") == "api")
        #expect(Self.outcome(table, "/api/") == "api")
        #expect(Self.outcome(table, "/api/x/y") == "api")
        #expect(Self.outcome(table, "/apis") == "404")
        #expect(Self.outcome(table, "/ap") == "404")
    }

    @Test("matches every path with the root prefix")
    func rootPrefix() {
        let table = RouteTable(routes: [Self.route("all", .prefix("/"))])
        for path in ["/", "/x", "/x/y/", "/api"] {
            #expect(Self.outcome(table, path) == "all")
        }
    }

    @Test("picks the first matching route in file order, not the most specific")
    func firstMatchWins() {
        let table = RouteTable(routes: [
            Self.route("admin", .prefix("/api/admin/")),
            Self.route("api", .prefix("/api/")),
            Self.route("admin-late", .prefix("/api/admin")),
            Self.route("exact-late", .exact("/api/x")),
            Self.route("fallback", .prefix("/")),
        ])
        #expect(Self.outcome(table, "/api/admin/users") == "admin")
        #expect(Self.outcome(table, "/api/admin") == "api")
        #expect(Self.outcome(table, "/api/x") == "api")
        #expect(Self.outcome(table, "/other") == "fallback")

        let exactFirst = RouteTable(routes: [
            Self.route("all", .prefix("/")), Self.route("exact", .exact("/healthz")),
        ])
        #expect(Self.outcome(exactFirst, "/healthz") == "all")
    }

    @Test("compares the Host header case-insensitively without its port")
    func hostMatching() {
        let table = RouteTable(routes: [
            Self.route("example", .prefix("/"), host: "api.example.com"),
            Self.route("v6", .prefix("/"), host: "[::1]"),
            Self.route("bare-v6", .prefix("/"), host: "fe80::1"),
        ])
        #expect(Self.outcome(table, "/x", host: "api.example.com") == "example")
        #expect(Self.outcome(table, "/x", host: "API.Example.COM") == "example")
        #expect(Self.outcome(table, "/x", host: "api.example.com:8443") == "example")
        #expect(Self.outcome(table, "/x", host: "api.example.com.") == "example")
        #expect(Self.outcome(table, "/x", host: "[::1]:8080") == "v6")
        #expect(Self.outcome(table, "/x", host: "[::1]") == "v6")
        #expect(Self.outcome(table, "/x", host: "[FE80::1]:80") == "bare-v6")
        #expect(Self.outcome(table, "/x", host: "other.example.com") == "404")
        #expect(Self.outcome(table, "/x", host: "api.example.com.evil") == "404")
        #expect(Self.outcome(table, "/x", host: "") == "404")
        #expect(Self.outcome(table, "/x", host: " api.example.com:\t") == "example")
        #expect(Self.outcome(table, "/x", host: "[::1") == "404")
    }

    @Test("never matches a route whose configured host reads as empty, nor counts it for 405")
    func emptyConfiguredHost() {
        let table = RouteTable(routes: [
            Self.route("empty", .prefix("/"), host: "", methods: ["GET"]),
            Self.route("port-only", .prefix("/"), host: ":8080", methods: ["PUT"]),
            Self.route("api", .prefix("/api/"), methods: ["POST"]),
        ])
        #expect(Self.outcome(table, "/x", host: "") == "404")
        #expect(Self.outcome(table, "/x", host: nil) == "404")
        #expect(Self.outcome(table, "/api/x", host: "a.test", method: "GET") == "405 POST")
    }

    @Test("never matches a host route for a request without a Host header")
    func absentHost() {
        let table = RouteTable(routes: [
            Self.route("hosted", .prefix("/api/"), host: "api.example.com"),
            Self.route("any", .prefix("/")),
        ])
        #expect(Self.outcome(table, "/api/x", host: nil) == "any")
        #expect(Self.outcome(table, "/api/x", host: "api.example.com") == "hosted")
        let hostOnly = RouteTable(routes: [Self.route("hosted", .prefix("/"), host: "api.example.com")])
        #expect(Self.outcome(hostOnly, "/x", host: nil) == "404")
    }

    @Test("matches methods case-sensitively and falls through to a later route")
    func methodMatching() {
        let table = RouteTable(routes: [
            Self.route("read", .prefix("/api/"), methods: ["GET", "HEAD"]),
            Self.route("write", .prefix("/api/"), methods: ["POST"]),
        ])
        #expect(Self.outcome(table, "/api/x", method: "GET") == "read")
        #expect(Self.outcome(table, "/api/x", method: "POST") == "write")
        #expect(Self.outcome(table, "/api/x", method: "get") == "405 GET, HEAD, POST")
    }

    @Test("answers 405 with the union of the methods of routes whose path and host match")
    func methodNotAllowed() {
        let table = RouteTable(routes: [
            Self.route("a", .prefix("/api/"), methods: ["GET", "POST"]),
            Self.route("other-host", .prefix("/api/"), host: "b.example", methods: ["PATCH"]),
            Self.route("b", .exact("/api/x"), methods: ["PUT", "GET"]),
            Self.route("c", .prefix("/api"), methods: ["DELETE"]),
            Self.route("unrelated", .prefix("/other/"), methods: ["OPTIONS"]),
        ])
        #expect(Self.outcome(table, "/api/x", host: "a.example", method: "TRACE") == "405 GET, POST, PUT, DELETE")
        #expect(Self.outcome(table, "/api/y", host: "b.example", method: "TRACE") == "405 GET, POST, PATCH, DELETE")
        #expect(Self.outcome(table, "/nothing", method: "TRACE") == "404")
    }

    @Test("answers 404 when no path matches, whatever the method")
    func notFound() {
        let table = RouteTable(routes: [Self.route("api", .prefix("/api/"), methods: ["GET"])])
        #expect(table.match(path: "/x", host: nil, method: "POST") == .notFound)
        #expect(RouteTable(routes: []).match(path: "/", host: nil, method: "GET") == .notFound)
    }

    @Test("strips a prefix only on a segment boundary and prepends the upstream base path", arguments: [
        ("/api", "/api/x", "", "/x"),
        ("/api", "/api/x/y/", "", "/x/y/"),
        ("/api", "/api", "", "/"),
        ("/api/", "/api/", "", "/"),
        ("/api/", "/api/x", "", "/x"),
        ("/api", "/apis/x", "", "/apis/x"),
        ("/api", "/api/x", "/v2", "/v2/x"),
        ("/api", "/api", "/v2", "/v2/"),
        ("/", "/x", "", "/x"),
    ])
    func upstreamPathStrip(strip: String, path: String, basePath: String, expected: String) {
        let route = Self.route("api", .prefix("/api"), strip: strip)
        #expect(RouteTable.upstreamPath(for: route, normalizedPath: path, basePath: basePath) == expected)
    }

    @Test("forwards the path unchanged without strip_prefix, after the base path")
    func upstreamPathWithoutStrip() {
        let route = Self.route("api", .prefix("/api/"))
        #expect(RouteTable.upstreamPath(for: route, normalizedPath: "/api/x", basePath: "") == "/api/x")
        #expect(RouteTable.upstreamPath(for: route, normalizedPath: "/api/x", basePath: "/svc") == "/svc/api/x")
    }

    @Test("returns the first match in file order from a 1000-route table")
    func largeTable() {
        var routes: [RouteSettings] = []
        for index in 0..<1000 {
            switch index % 4 {
            case 0: routes.append(Self.route("exact-\(index)", .exact("/svc\(index)/item")))
            case 1: routes.append(Self.route("prefix-\(index)", .prefix("/svc\(index)/"), methods: ["GET"]))
            case 2: routes.append(Self.route("host-\(index)", .prefix("/"), host: "h\(index).example"))
            default: routes.append(Self.route("deep-\(index)", .prefix("/shared/\(index)")))
            }
        }
        routes.append(Self.route("late-shared", .prefix("/shared/")))
        routes.append(Self.route("late-exact", .exact("/svc0/item")))
        let table = RouteTable(routes: routes)

        #expect(Self.outcome(table, "/svc0/item") == "exact-0")
        #expect(Self.outcome(table, "/svc1/x") == "prefix-1")
        #expect(Self.outcome(table, "/svc1/x", method: "POST") == "405 GET")
        #expect(Self.outcome(table, "/svc996/item", host: "H998.example:80") == "exact-996")
        #expect(Self.outcome(table, "/svc997/item", host: "h998.example") == "prefix-997")
        #expect(Self.outcome(table, "/anything", host: "h998.example") == "host-998")
        #expect(Self.outcome(table, "/shared/999/x") == "deep-999")
        #expect(Self.outcome(table, "/shared/9999") == "late-shared")
        #expect(Self.outcome(table, "/nowhere") == "404")
    }

    @Test("agrees with a linear first-match scan on every path of a mixed table")
    func agreesWithLinearScan() {
        let routes = [
            Self.route("r0", .prefix("/a/b/"), methods: ["GET"]),
            Self.route("r1", .exact("/a"), host: "x.test"),
            Self.route("r2", .prefix("/a"), methods: ["POST"]),
            Self.route("r3", .prefix("/a/b"), host: "x.test", methods: ["GET", "PUT"]),
            Self.route("r4", .exact("/a/b/"), methods: ["DELETE"]),
            Self.route("r5", .prefix("/"), host: "y.test"),
        ]
        let table = RouteTable(routes: routes)
        func linear(_ path: String, _ host: String?, _ method: String) -> Int? {
            routes.firstIndex { route in
                let pathMatches: Bool
                switch route.path {
                case .exact(let p): pathMatches = path == p
                case .prefix(let p):
                    pathMatches = p.hasSuffix("/") ? path.hasPrefix(p) : (path == p || path.hasPrefix(p + "/"))
                }
                return pathMatches && (route.host == nil || route.host == host)
                    && (route.methods?.contains(method) ?? true)
            }
        }
        for path in ["/", "/a", "/a/", "/a/b", "/a/b/", "/a/b/c", "/ab", "/a/bc"] {
            for host in [nil, "x.test", "y.test"] {
                for method in ["GET", "POST", "PUT", "DELETE"] {
                    let result = table.match(path: path, host: host.map { $0[...] }, method: method[...])
                    if let expected = linear(path, host, method) {
                        #expect(result == .route(index: expected), "\(method) \(path) host \(host ?? "-")")
                    } else if case .route = result {
                        Issue.record("\(method) \(path) host \(host ?? "-") matched \(result), expected none")
                    }
                }
            }
        }
    }
}
