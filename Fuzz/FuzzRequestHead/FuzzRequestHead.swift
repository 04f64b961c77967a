import Logging
import NIOCore
import Portcullis
import PortcullisFuzzSupport

/// Arbitrary bytes through what a client connection does with them: `HeadScanner` (in one go
/// and in two reads), `HeadParser.parseRequest`, `RequestDecision.decide` on a small fixed
/// runtime, and for a forwarded request `HeadRewriter.upstreamRequest`.
///
/// The head sent upstream must be one well-formed head: CRLF line endings only (no bare CR or
/// LF, so nothing can be injected into a header value), no NUL, no empty line before its end,
/// and it must parse again with the same body framing, so that the gateway and the upstream
/// never disagree on where the body ends.
private let runtime = makeRuntime()
private let logger = Logger(label: "portcullis.fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
private let allocator = ByteBufferAllocator()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = allocator.buffer(bytes: UnsafeBufferPointer(start: data, count: size))
    // As `ClientConnectionHandler`: empty lines before a request line are skipped.
    while input.readableBytes >= 2, input.getInteger(at: input.readerIndex, as: UInt16.self) == 0x0D0A {
        input.moveReaderIndex(forwardBy: 2)
    }
    let limit = runtime.config.server.maxHeaderBytes
    var scanner = HeadScanner()
    let outcome = scanner.scan(input, limit: limit)
    var incremental = HeadScanner()
    let split = input.readableBytes / 2
    if case .needMore = incremental.scan(input.getSlice(at: input.readerIndex, length: split)!, limit: limit) {
        precondition(incremental.scan(input, limit: limit) == outcome, "scanning in two reads changed the outcome")
    }
    guard case .complete(let length) = outcome else { return 0 }
    let headBytes = input.readSlice(length: length)!  // length <= readableBytes
    guard case .success(let head) = HeadParser.parseRequest(headBytes) else { return 0 }
    let decision = RequestDecision.decide(
        head, path: head.normalizedPath, runtime: runtime, cache: VerifiedTokenCache(), now: FuzzFixture.now)
    guard case .forward(let plan) = decision else { return 0 }
    let upstreamHead = HeadRewriter.upstreamRequest(
        head, plan: plan, route: runtime.routes[plan.routeIndex], runtime: runtime, requestID: "fuzz-request-id",
        clientAddress: "203.0.113.7", scheme: "http", logger: logger, allocator: allocator)
    checkUpstreamHead(upstreamHead, framing: head.framing)
    return 0
}

private func checkUpstreamHead(_ out: ByteBuffer, framing: BodyFraming) {
    requireWellFormedHead(out, side: "upstream")
    switch HeadParser.parseRequest(out) {
    case .failure(let error):
        preconditionFailure("the upstream head does not parse (\(error)):\n\(String(buffer: out))")
    case .success(let forwarded):
        precondition(forwarded.framing == framing, "the upstream would frame the body as \(forwarded.framing), not \(framing)")
    }
}

/// One upstream and a few routes covering each kind of rule: exact and prefix paths, a host,
/// methods, `strip_prefix`, scopes and claims, `forward_claims`, `forward_token: false` and
/// `auth: refresh`, with the fixture's issuers and token locations.
private func makeRuntime() -> GatewayRuntime {
    let upstream = UpstreamSettings(name: "orders", scheme: .http, host: "10.0.0.12", port: 8080, basePath: "/v1")
    let health = RouteSettings(name: "health", path: .exact("/healthz"), upstream: "orders", auth: AuthPolicy(kind: .none))
    var users = RouteSettings(name: "users", path: .prefix("/api/users/"), upstream: "orders")
    users.methods = ["GET"]
    var orders = RouteSettings(
        name: "orders", path: .prefix("/api/orders"), upstream: "orders",
        auth: AuthPolicy(kind: .access, requireScopes: ["orders:read"]))
    orders.methods = ["GET", "POST", "PUT", "DELETE"]
    orders.stripPrefix = "/api"
    orders.forwardClaims = [
        ClaimForward(claim: "sub", header: "X-User-Id"), ClaimForward(claim: "email", header: "X-User-Email"),
        ClaimForward(claim: "profile", header: "X-User-Profile"),
    ]
    var admin = RouteSettings(
        name: "admin", path: .prefix("/api/admin/"), upstream: "orders",
        auth: AuthPolicy(kind: .access, requireClaims: [ClaimRequirement(path: ["realm_access", "roles"], value: "admin")]))
    admin.host = "admin.example.com"
    admin.forwardToken = false
    var refresh = RouteSettings(name: "refresh", path: .exact("/auth/refresh"), upstream: "orders", auth: AuthPolicy(kind: .refresh))
    refresh.methods = ["POST"]
    refresh.forwardToken = false
    let site = RouteSettings(name: "site", path: .prefix("/"), upstream: "orders", auth: AuthPolicy(kind: .none))
    let config = GatewayConfig(
        file: "fuzz.yaml", directory: "/", jwt: FuzzFixture.jwtSettings, upstreams: [upstream],
        routes: [health, users, orders, admin, refresh, site])
    do {
        return try GatewayRuntime.build(config)
    } catch {
        fatalError("the fuzz runtime does not build: \(error)")
    }
}

/// The program's entry point (see `FuzzDriver`).
@_cdecl("FuzzRequestHead_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzDriver.run(argc, argv, fuzz)
}
