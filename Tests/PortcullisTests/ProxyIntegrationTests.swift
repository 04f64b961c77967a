import Foundation
import NIOCore
import NIOPosix
import PortcullisTestSupport
import Testing

@testable import Portcullis

/// The gateway in front of a real upstream over real sockets.
@Suite("Proxy over real sockets")
struct ProxyIntegrationTests {
    static let yaml = """
        server:
          listen: 127.0.0.1:0
          max_body_bytes: 0
          header_timeout: 10s
        jwt:
          issuers:
            - issuer: https://issuer.test
              audiences: [api]
              algorithms: [HS256]
              keys:
                - secret: integration-test-secret-0123456789
        upstreams:
          app:
            url: {{UPSTREAM}}
            connect_timeout: 1s
            timeout: 1s
        routes:
          - name: public
            path: /public
            upstream: app
            auth: none
          - name: limited
            path_prefix: /limited/
            methods: [POST]
            upstream: app
            auth: none
          - name: api
            path_prefix: /api/
            methods: [GET, POST, PUT]
            upstream: app
            strip_prefix: /api
            forward_claims:
              sub: X-User-Id
        """

    /// Runs `body` with a gateway in front of an upstream stub.
    private func withGateway(
        behavior: UpstreamStub.Behavior = .echo, yaml: String = Self.yaml,
        _ body: (GatewayHarness, UpstreamStub) async throws -> Void
    ) async throws {
        try await GatewayHarness.withUpstream(yaml: yaml, behavior: behavior, body)
    }

    private func token(_ gateway: GatewayHarness, sub: String = "alice", type: TokenType = .access) throws -> String {
        let minter = try TokenMinter(settings: gateway.runtime.runtime.config.jwt)
        return minter.mint(subject: sub, type: type, ttl: .seconds(300), now: Int64(Date().timeIntervalSince1970))
    }

    @Test("forwards an authorized request with the verified identity, forwarding headers and no hop-by-hop headers")
    func forwardsAuthorized() async throws {
        try await withGateway { gateway, upstream in
            let client = try await RawHTTPClient.connect(port: gateway.port)
            try await client.send(
                "GET /api/items?q=1 HTTP/1.1\r\nHost: shop.example:8080\r\nAuthorization: Bearer \(try token(gateway))\r\n"
                    + "X-User-Id: mallory\r\nConnection: X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n"
                    + "X-Forwarded-For: 10.0.0.1\r\nX-Request-Id: req-123\r\n\r\n"
            )
            let response = try await client.response()
            #expect(response.status == 200)
            #expect(response.header("X-Request-Id") == "req-123")
            let seen = try #require(try await upstream.waitForRequests(count: 1, timeout: .seconds(5)).first)
            #expect(seen.uri == "/items?q=1")
            #expect(seen.headers(named: "X-User-Id") == ["alice"])
            #expect(seen.header("X-Secret") == nil)
            #expect(seen.header("Keep-Alive") == nil)
            #expect(seen.header("TE") == nil)
            #expect(seen.header("X-Forwarded-For") == "10.0.0.1, 127.0.0.1")
            #expect(seen.header("X-Forwarded-Proto") == "http")
            #expect(seen.header("X-Forwarded-Host") == "shop.example:8080")
            #expect(seen.header("Host") == "shop.example:8080")
            #expect(seen.header("X-Request-Id") == "req-123")
            #expect(seen.header("Authorization")?.hasPrefix("Bearer ") == true)
            await client.close()
        }
    }

    @Test("generates a request id, sends it upstream and returns it to the client")
    func generatesRequestID() async throws {
        try await withGateway { gateway, upstream in
            let client = try await RawHTTPClient.connect(port: gateway.port)
            try await client.send("GET /public HTTP/1.1\r\nHost: h\r\n\r\n")
            let response = try await client.response()
            let id = try #require(response.header("X-Request-Id"))
            #expect(id.count == 32)
            let seen = try await upstream.waitForRequests(count: 1, timeout: .seconds(5))
            #expect(seen.first?.header("X-Request-Id") == id)
            await client.close()
        }
    }

    @Test("refuses missing and tampered tokens with RFC 6750 errors, and the upstream sees nothing")
    func refusesBadTokens() async throws {
        try await withGateway { gateway, upstream in
            let client = try await RawHTTPClient.connect(port: gateway.port)
            try await client.send("GET /api/x HTTP/1.1\r\nHost: h\r\n\r\n")
            let missing = try await client.response()
            #expect(missing.status == 401)
            #expect(missing.header("Content-Type") == "application/json")
            #expect(missing.header("WWW-Authenticate") == #"Bearer realm="portcullis""#)
            #expect(JSONValue.parse(missing.body)?["error"] == "missing_token")

            var tampered = try token(gateway)
            let last = tampered.removeLast()
            tampered += last == "A" ? "B" : "A"  // always a different last character
            try await client.send("GET /api/x HTTP/1.1\r\nHost: h\r\nAuthorization: bearer \(tampered)\r\n\r\n")
            let invalid = try await client.response()
            #expect(invalid.status == 401)
            #expect(JSONValue.parse(invalid.body)?["error"] == "invalid_token")
            #expect(invalid.header("WWW-Authenticate")?.contains(#"error="invalid_token""#) == true)
            #expect(!invalid.bodyText.contains(tampered))

            let refresh = try token(gateway, type: .refresh)
            try await client.send("GET /api/x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer \(refresh)\r\n\r\n")
            #expect(JSONValue.parse(try await client.response().body)?["error"] == "wrong_token_type")

            try await client.send("GET /nowhere HTTP/1.1\r\nHost: h\r\n\r\n")
            let notFound = try await client.response()
            #expect(notFound.status == 404 && JSONValue.parse(notFound.body)?["error"] == "not_found")

            try await client.send("GET /limited/x HTTP/1.1\r\nHost: h\r\n\r\n")
            let notAllowed = try await client.response()
            #expect(notAllowed.status == 405 && notAllowed.header("Allow") == "POST")
            #expect(upstream.requests.isEmpty)
            await client.close()
        }
    }

    @Test("normalizes the path before routing, so a spelled-differently path cannot skip auth")
    func normalizesBeforeRouting() async throws {
        try await withGateway { gateway, upstream in
            for target in ["/public/../api/x", "//api/x", "/%61pi/x", "/public/%2e%2e/api/x"] {
                let client = try await RawHTTPClient.connect(port: gateway.port)
                try await client.send("GET \(target) HTTP/1.1\r\nHost: h\r\n\r\n")
                #expect(try await client.response().status == 401, "\(target)")
                await client.close()
            }
            for target in ["/api%2Fx", "/../api/x", "/api/%00"] {
                let client = try await RawHTTPClient.connect(port: gateway.port)
                try await client.send("GET \(target) HTTP/1.1\r\nHost: h\r\n\r\n")
                #expect(try await client.response().status == 400, "\(target)")
                await client.close()
            }
            #expect(upstream.requests.isEmpty)
        }
    }

    @Test("streams a 20 MB upload with Content-Length and chunked, byte counts and checksums intact")
    func streamsUploads() async throws {
        let size = 20 * 1024 * 1024
        let expected = fnv1a(count: size)
        try await withGateway { gateway, upstream in
            let client = try await RawHTTPClient.connect(port: gateway.port)
            let auth = "Authorization: Bearer \(try token(gateway))\r\n"
            try await client.send("PUT /api/upload HTTP/1.1\r\nHost: h\r\n\(auth)Content-Length: \(size)\r\n\r\n")
            try await client.sendPattern(count: size)
            #expect(try await client.response(timeout: .seconds(60)).status == 200)
            try await client.send("POST /api/upload HTTP/1.1\r\nHost: h\r\n\(auth)Transfer-Encoding: chunked\r\n\r\n")
            try await client.sendPattern(count: size, chunked: true)
            #expect(try await client.response(timeout: .seconds(60)).status == 200)
            let seen = try await upstream.waitForRequests(count: 2, timeout: .seconds(10))
            #expect(seen.map(\.bodyBytes) == [size, size])
            #expect(seen.map(\.bodyChecksum) == [expected, expected])
            await client.close()
        }
    }

    @Test("passes a chunked response through intact, and both connections stay in use for the next request")
    func chunkedResponse() async throws {
        let size = 2 * 1024 * 1024 + 17
        try await withGateway(behavior: .streamChunked(bytes: size)) { gateway, upstream in
            let client = try await RawHTTPClient.connect(port: gateway.port, keepBody: false)
            for attempt in 1...2 {
                try await client.send("GET /public HTTP/1.1\r\nHost: h\r\n\r\n")
                let response = try await client.response(timeout: .seconds(60))
                #expect(response.status == 200, "attempt \(attempt)")
                #expect(response.header("Transfer-Encoding") == "chunked")
                #expect(response.bodyBytes == size)
                #expect(response.bodyChecksum == fnv1a(count: size))
            }
            #expect(try await upstream.waitForRequests(count: 2, timeout: .seconds(10)).count == 2)
            #expect(upstream.acceptedConnections == 1)
            await client.close()
        }
    }

    @Test("streams a 20 MB download, byte count and checksum intact")
    func streamsDownload() async throws {
        let size = 20 * 1024 * 1024
        try await withGateway(behavior: .stream(bytes: size)) { gateway, _ in
            let client = try await RawHTTPClient.connect(port: gateway.port, keepBody: false)
            try await client.send("GET /public HTTP/1.1\r\nHost: h\r\n\r\n")
            let response = try await client.response(timeout: .seconds(60))
            #expect(response.status == 200)
            #expect(response.bodyBytes == size)
            #expect(response.bodyChecksum == fnv1a(count: size))
            await client.close()
        }
    }

    @Test("answers 502 when the upstream refuses the connection")
    func badGateway() async throws {
        // A port held by a socket that is bound but never listens: connecting to it is refused,
        // and no other test can take the port meanwhile.
        let holder = try ReservedPort()
        defer { holder.release() }
        let port = holder.port
        let gateway = try await GatewayHarness.start(yaml: Self.yaml, upstreamURL: "http://127.0.0.1:\(port)")
        let client = try await RawHTTPClient.connect(port: gateway.port)
        try await client.send("GET /public HTTP/1.1\r\nHost: h\r\n\r\n")
        let response = try await client.response()
        #expect(response.status == 502)
        #expect(JSONValue.parse(response.body)?["error"] == "bad_gateway")
        await client.close()
        try await gateway.shutdown()
    }

    @Test("answers 504 when the upstream is slower than its timeout")
    func gatewayTimeout() async throws {
        try await withGateway(behavior: .delay(.seconds(3))) { gateway, _ in
            let client = try await RawHTTPClient.connect(port: gateway.port)
            try await client.send("GET /public HTTP/1.1\r\nHost: h\r\n\r\n")
            let response = try await client.response()
            #expect(response.status == 504)
            #expect(JSONValue.parse(response.body)?["error"] == "gateway_timeout")
            await client.close()
        }
    }

    @Test("refuses smuggling attempts with 400 and never forwards them")
    func refusesSmuggling() async throws {
        try await withGateway { gateway, upstream in
            let attempts = [
                "POST /public HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                "POST /public HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
                "POST /public HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
                "GET /public HTTP/1.1\nHost: h\n\n",
                "GET /public HTTP/1.1\r\nHost: h\r\nX: a\r\n folded\r\n\r\n",
            ]
            for attempt in attempts {
                let client = try await RawHTTPClient.connect(port: gateway.port)
                try await client.send(attempt)
                let response = try await client.response()
                #expect(response.status == 400, "\(attempt.debugDescription)")
                #expect(JSONValue.parse(response.body)?["error"] == "bad_request")
                try await client.waitForClose()
            }
            #expect(upstream.requests.isEmpty)
        }
    }

    @Test("refuses a chunked body with invalid framing after forwarding began")
    func refusesBadChunks() async throws {
        try await withGateway(behavior: .delay(.milliseconds(500))) { gateway, _ in
            let client = try await RawHTTPClient.connect(port: gateway.port)
            try await client.send("POST /public HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")
            #expect(try await client.response().status == 400)
            try await client.waitForClose()
        }
    }

    @Test("answers 431 for an oversized head and 408 for a head that does not arrive in time")
    func headLimits() async throws {
        // A short header_timeout only here: elsewhere a loaded CI machine may take longer than
        // a second between connecting and sending.
        let yaml = Self.yaml.replacingOccurrences(of: "header_timeout: 10s", with: "header_timeout: 3s")
        try await withGateway(yaml: yaml) { gateway, _ in
            let big = try await RawHTTPClient.connect(port: gateway.port)
            try await big.send("GET /public HTTP/1.1\r\nHost: h\r\nX-Big: \(String(repeating: "a", count: 20000))\r\n\r\n")
            #expect(try await big.response().status == 431)
            let slow = try await RawHTTPClient.connect(port: gateway.port)
            try await slow.send("GET /public HTTP/1.1\r\nHost: h\r\n")
            let response = try await slow.response(timeout: .seconds(10))
            #expect(response.status == 408)
            #expect(JSONValue.parse(response.body)?["error"] == "request_timeout")
            try await slow.waitForClose()
            let silent = try await RawHTTPClient.connect(port: gateway.port)
            try await silent.waitForClose()
        }
    }

    @Test("answers 413 for a Content-Length over max_body_bytes before forwarding")
    func payloadTooLarge() async throws {
        let yaml = Self.yaml.replacingOccurrences(of: "max_body_bytes: 0", with: "max_body_bytes: 1000")
        try await withGateway(yaml: yaml) { gateway, upstream in
            let client = try await RawHTTPClient.connect(port: gateway.port)
            try await client.send("POST /public HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n")
            let response = try await client.response()
            #expect(response.status == 413)
            #expect(JSONValue.parse(response.body)?["error"] == "payload_too_large")
            let chunked = try await RawHTTPClient.connect(port: gateway.port)
            try await chunked.send("POST /public HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
            // The gateway may close before the client finished writing; the answer is what counts.
            try? await chunked.sendPattern(count: 5000, chunked: true)
            #expect(try await chunked.response().status == 413)
            _ = upstream
        }
    }

    @Test("keeps the client connection alive across requests and pipelined requests")
    func keepAliveAndPipelining() async throws {
        try await withGateway { gateway, upstream in
            let client = try await RawHTTPClient.connect(port: gateway.port)
            try await client.send("GET /public?n=1 HTTP/1.1\r\nHost: h\r\n\r\nGET /public?n=2 HTTP/1.1\r\nHost: h\r\n\r\n")
            #expect(try await client.response().status == 200)
            #expect(try await client.response().status == 200)
            try await client.send("GET /public?n=3 HTTP/1.1\r\nHost: h\r\n\r\n")
            #expect(try await client.response().status == 200)
            let seen = try await upstream.waitForRequests(count: 3, timeout: .seconds(5))
            #expect(seen.map(\.uri) == ["/public?n=1", "/public?n=2", "/public?n=3"])
            #expect(client.isActive)
            await client.close()
        }
    }
}

/// FNV-1a 64 of the pattern `i % 251` for i in 0..<count (what `sendPattern` and the stub's stream send).
func fnv1a(count: Int) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for index in 0..<count { hash = (hash ^ UInt64(index % 251)) &* 0x100_0000_01b3 }
    return hash
}

/// A 127.0.0.1 port bound by a socket that does not listen, so connections are refused.
private struct ReservedPort {
    let descriptor: Int32
    let port: Int

    init() throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = descriptor
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard descriptor >= 0, bound else { throw POSIXError(.EADDRINUSE) }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func release() {
        close(descriptor)
    }
}
