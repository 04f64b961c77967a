import Benchmark
import Portcullis

/// `RouteTable.match` over 10 and 1000 routes: a request for the middle route, one for the
/// last route, and one that no route matches (404). The table files routes under their path
/// keys, so the time should not grow with the table.
func routeMatchBenchmarks() {
    for count in [10, 1000] {
        let cases: [(name: String, request: RouteRequest, expected: RouteTable.Match)] = [
            ("middle route", RouteRequest.matching(routeIndex: count / 2, count: count), .route(index: count / 2)),
            ("last route", RouteRequest.matching(routeIndex: count - 1, count: count), .route(index: count - 1)),
            ("no route", RouteRequest(path: "/account/settings/profile", host: "www.example.com", method: "GET"), .notFound),
        ]
        for (name, request, expected) in cases {
            Benchmark(
                "Route match, \(count) routes, \(name)",
                configuration: .init(scalingFactor: .kilo)
            ) { benchmark, table in
                for _ in benchmark.scaledIterations {
                    blackHole(table.match(path: request.path, host: request.host, method: request.method))
                }
            } setup: { () throws -> RouteTable in
                let table = RouteTable(routes: RouteRequest.routes(count: count))
                let found = table.match(path: request.path, host: request.host, method: request.method)
                guard found == expected else {
                    throw FixtureError("\(request.path) matched \(found), not \(expected)")
                }
                return table
            }
        }
    }
}

/// A request as `RouteTable.match` sees it: the normalized path, the raw `Host`, the method.
struct RouteRequest {
    var path: String
    var host: Substring?
    var method: Substring

    /// `count` routes cycling through the shapes a real config mixes: an exact `path`, a
    /// `path_prefix`, a prefix bound to a `host`, and a prefix limited to some `methods`. The
    /// middle and the last route, which the benchmarks ask for, are both of the last shape
    /// (a prefix lookup and a methods check), so that the table sizes compare.
    static func routes(count: Int) -> [RouteSettings] {
        (0..<count).map { index in
            let service = "service\(index)"
            switch shape(of: index, count: count) {
            case 0:
                return RouteSettings(
                    name: service, path: .exact("/\(service)/health"), upstream: "app", auth: AuthPolicy(kind: .none))
            case 1:
                return RouteSettings(name: service, path: .prefix("/api/\(service)/"), upstream: "app")
            case 2:
                var route = RouteSettings(name: service, path: .prefix("/api/\(service)"), upstream: "app")
                route.host = "\(service).example.com"
                return route
            default:
                var route = RouteSettings(name: service, path: .prefix("/api/v2/\(service)/"), upstream: "app")
                route.methods = ["GET", "HEAD", "POST"]
                return route
            }
        }
    }

    /// A request that route `routeIndex` of `routes(count:)` handles, and no earlier route does.
    static func matching(routeIndex index: Int, count: Int) -> RouteRequest {
        let service = "service\(index)"
        switch shape(of: index, count: count) {
        case 0: return RouteRequest(path: "/\(service)/health", host: "api.example.com", method: "GET")
        case 1: return RouteRequest(path: "/api/\(service)/orders/1234", host: "api.example.com", method: "GET")
        case 2: return RouteRequest(path: "/api/\(service)/items", host: "\(service).example.com:443", method: "PUT")
        default: return RouteRequest(path: "/api/v2/\(service)/orders", host: "api.example.com", method: "POST")
        }
    }

    private static func shape(of index: Int, count: Int) -> Int {
        index == count / 2 || index == count - 1 ? 3 : index % 4
    }
}
