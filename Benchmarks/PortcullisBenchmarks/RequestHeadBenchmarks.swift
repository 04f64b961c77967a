import Benchmark
import Foundation
import Logging
import NIOCore
import Portcullis

/// The per-request work on a browser-like `GET` with a bearer token: parsing the head
/// (`HeadParser.parseRequest`), the synchronous decision with the token in the loop's cache
/// (`RequestDecision.decide`: route, credential, cached verification, scopes, body size), and
/// writing the upstream head (`HeadRewriter.upstreamRequest`) for a route with `forward_claims`.
func requestHeadBenchmarks() {
    Benchmark("Request head parse", configuration: .init(scalingFactor: .kilo)) { benchmark, fixture in
        let bytes = fixture.bytes
        for _ in benchmark.scaledIterations {
            blackHole(HeadParser.parseRequest(bytes))
        }
    } setup: {
        try RequestHeadFixture()
    }

    Benchmark("Request decide, cached token", configuration: .init(scalingFactor: .kilo)) { benchmark, fixture in
        let (head, runtime, cache, now) = (fixture.head, fixture.runtime, fixture.cache, fixture.now)
        for _ in benchmark.scaledIterations {
            blackHole(RequestDecision.decide(head, path: RequestHeadFixture.path, runtime: runtime, cache: cache, now: now))
        }
    } setup: {
        try RequestHeadFixture()
    }

    Benchmark("Request head rewrite, forward_claims", configuration: .init(scalingFactor: .kilo)) { benchmark, fixture in
        let (head, runtime, plan) = (fixture.head, fixture.runtime, fixture.plan)
        let route = runtime.routes[RequestHeadFixture.orderRouteIndex]
        let logger = fixture.logger
        let allocator = ByteBufferAllocator()
        for _ in benchmark.scaledIterations {
            blackHole(
                HeadRewriter.upstreamRequest(
                    head, plan: plan, route: route, runtime: runtime, requestID: "4bf92f3577b34da6a3ce929d0e0e4736",
                    clientAddress: "203.0.113.7", scheme: "http", logger: logger, allocator: allocator))
        }
    } setup: {
        try RequestHeadFixture()
    }
}

/// A gateway runtime with a few routes, one request head for its `/api/orders/` route, the
/// token of that head already in a cache, and the forward plan `decide` makes for it.
final class RequestHeadFixture {
    /// The normalized path of the head below (what `PathNormalizer` makes of it).
    static let path = "/api/orders/1234"
    static let orderRouteIndex = 2

    let runtime: GatewayRuntime
    let bytes: ByteBuffer
    let head: RequestHead
    let cache = VerifiedTokenCache()
    let now = Int64(Date().timeIntervalSince1970)
    let plan: ForwardPlan
    let logger = Logger(label: "portcullis.benchmarks")

    init() throws {
        let secret = Array("a-benchmark-secret-of-32-bytes-or-more-0123456789".utf8)
        let upstream = UpstreamSettings(name: "orders", scheme: .http, host: "10.0.0.12", port: 8080)
        let config = GatewayConfig(
            file: "gateway.yaml", directory: "/",
            jwt: TokenClaims.settings(algorithms: [.HS256], keys: [.secret(bytes: secret)]),
            upstreams: [upstream], routes: Self.routes())
        runtime = try GatewayRuntime.build(config)

        let token = TokenClaims.token(signingKey: .hmac(secret), algorithm: .HS256, now: now)
        bytes = ByteBuffer(string: Self.headText(token: token))
        head = try HeadParser.parseRequest(bytes).get()

        guard PathNormalizer.normalize("/api/orders/1234".utf8) == Self.path else {
            throw FixtureError("the fixture path is not normalized")
        }
        guard case .forward(let plan) = RequestDecision.decide(head, path: Self.path, runtime: runtime, cache: cache, now: now),
            cache.count == 1
        else { throw FixtureError("the request is not forwarded with its token cached") }
        self.plan = plan
        // Only the orders route strips `/api` and forwards claims: the upstream head shows both.
        let upstreamHead = String(
            buffer: HeadRewriter.upstreamRequest(
                head, plan: plan, route: runtime.routes[Self.orderRouteIndex], runtime: runtime, requestID: "r",
                clientAddress: "203.0.113.7", scheme: "http", logger: logger, allocator: ByteBufferAllocator()))
        guard upstreamHead.hasPrefix("GET /orders/1234?include=items HTTP/1.1\r\n"),
            upstreamHead.contains("\r\nX-User-Id: user-7f3c2a91\r\nX-User-Email: alice@example.com\r\n")
        else { throw FixtureError("the request is not forwarded on the orders route with its claims:\n\(upstreamHead)") }
    }

    /// A small config's routes; the orders route strips `/api` and forwards two claims as headers.
    private static func routes() -> [RouteSettings] {
        let health = RouteSettings(name: "health", path: .exact("/healthz"), upstream: "orders", auth: AuthPolicy(kind: .none))
        var users = RouteSettings(name: "users", path: .prefix("/api/users/"), upstream: "orders")
        users.methods = ["GET"]
        var orders = RouteSettings(
            name: "orders", path: .prefix("/api/orders/"), upstream: "orders",
            auth: AuthPolicy(kind: .access, requireScopes: ["orders:read"]))
        orders.methods = ["GET", "POST", "PUT", "DELETE"]
        orders.stripPrefix = "/api"
        orders.forwardClaims = [
            ClaimForward(claim: "sub", header: "X-User-Id"), ClaimForward(claim: "email", header: "X-User-Email"),
        ]
        var admin = RouteSettings(name: "admin", path: .prefix("/api/admin/"), upstream: "orders")
        admin.host = "admin.example.com"
        let site = RouteSettings(name: "site", path: .prefix("/"), upstream: "orders", auth: AuthPolicy(kind: .none))
        return [health, users, orders, admin, site]
    }

    /// What a browser's `fetch` sends to an API with a bearer token.
    private static func headText(token: String) -> String {
        "GET /api/orders/1234?include=items HTTP/1.1\r\n"
            + "Host: api.example.com\r\n"
            + "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
            + "Accept: application/json\r\n"
            + "Accept-Language: en-US,en;q=0.5\r\n"
            + "Accept-Encoding: gzip, deflate, br\r\n"
            + "Referer: https://app.example.com/orders\r\n"
            + "Authorization: Bearer \(token)\r\n"
            + "Connection: keep-alive\r\n"
            + "\r\n"
    }
}
