import Logging
import NIOCore
import Testing

@testable import Portcullis

@Suite("Head rewriting")
struct HeadRewriterTests {
    private func parse(_ text: String) throws -> RequestHead {
        try HeadParser.parseRequest(ByteBuffer(string: text)).get()
    }

    private func runtime(forwardToken: Bool = true, cookie: Bool = false) throws -> GatewayRuntime {
        var route = RouteSettings(name: "api", path: .prefix("/api/"), upstream: "app")
        route.forwardClaims = [ClaimForward(claim: "sub", header: "X-User-Id")]
        route.forwardToken = forwardToken
        var jwt = JWTSettings(issuers: [
            IssuerSettings(issuer: "iss", audiences: nil, algorithms: [.HS256], keys: [KeySourceSettings(kind: .secret(bytes: Array("k".utf8)))])
        ])
        if cookie { jwt.accessToken = [.cookie("access_token")] }
        let config = GatewayConfig(
            file: "t.yaml", directory: "/", jwt: jwt,
            upstreams: [UpstreamSettings(name: "app", scheme: .http, host: "10.0.0.9", port: 9000)], routes: [route]
        )
        return try GatewayRuntime.build(config)
    }

    @Test("writes the exact upstream head: hop-by-hop and spoofable headers removed, forwarding headers added")
    func upstreamHeadBytes() throws {
        let runtime = try runtime()
        let head = try parse(
            "GET /api/x?y=1 HTTP/1.1\r\nHost: h.example\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nTE: trailers\r\n"
                + "Proxy-Authorization: p\r\nx-user-id: spoofed\r\nX-Forwarded-Proto: https\r\nAccept:  */*\r\n\r\n"
        )
        let plan = ForwardPlan(routeIndex: 0, upstreamPath: "/api/x", token: nil, credentialSource: nil)
        let bytes = HeadRewriter.upstreamRequest(
            head, plan: plan, route: runtime.routes[0], runtime: runtime, requestID: "rid", clientAddress: "192.0.2.1",
            scheme: "http", logger: Logger(label: "t"), allocator: ByteBufferAllocator()
        )
        #expect(
            String(buffer: bytes)
                == "GET /api/x?y=1 HTTP/1.1\r\nHost: h.example\r\nAccept: */*\r\nX-Forwarded-For: 192.0.2.1\r\n"
                + "X-Forwarded-Proto: http\r\nX-Forwarded-Host: h.example\r\nX-Request-Id: rid\r\n\r\n"
        )
    }

    @Test("removes a cookie credential but keeps the other cookies when forward_token is false")
    func removesCookieCredential() throws {
        let runtime = try runtime(forwardToken: false, cookie: true)
        let head = try parse("GET /api/x HTTP/1.1\r\nHost: h\r\nCookie: a=1; access_token=t; b=2\r\n\r\n")
        let plan = ForwardPlan(routeIndex: 0, upstreamPath: "/api/x", token: nil, credentialSource: .cookie(name: "access_token"))
        let text = String(
            buffer: HeadRewriter.upstreamRequest(
                head, plan: plan, route: runtime.routes[0], runtime: runtime, requestID: "r", clientAddress: "c",
                scheme: "http", logger: Logger(label: "t"), allocator: ByteBufferAllocator()
            )
        )
        #expect(text.contains("Cookie: a=1; b=2\r\n"))
        #expect(!text.contains("access_token"))
    }

    @Test("passes the response through without hop-by-hop headers and with the gateway's request id")
    func responseHeadBytes() throws {
        let response = try HeadParser.parseResponse(
            ByteBuffer(string: "HTTP/1.1 201 Created\r\nConnection: X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\nX-Request-Id: up\r\nETag: \"e\"\r\nContent-Length: 2\r\n\r\n"),
            requestIsHead: false
        ).get()
        let bytes = HeadRewriter.clientResponse(
            response, requestID: "rid", closeConnection: true, clientIsHTTP10: false, allocator: ByteBufferAllocator()
        )
        #expect(
            String(buffer: bytes)
                == "HTTP/1.1 201 Created\r\nETag: \"e\"\r\nContent-Length: 2\r\nX-Request-Id: rid\r\nConnection: close\r\n\r\n"
        )
    }
}
