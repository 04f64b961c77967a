import Foundation
import Logging
import NIOCore
import PortcullisTestSupport
import Testing

@testable import Portcullis

/// WebSocket upgrades through the gateway over real sockets, to a NIOWebSocket echo service.
@Suite("WebSocket tunnelling")
struct WebSocketTests {
    private let tokens = RevocationGateway.tokens

    /// The revocation gateway's config (route `api` on `/api/`, memory blocklist) with the
    /// given timeouts and upstream pool size.
    private func yaml(idleTimeout: String = "60s", headerTimeout: String = "10s", maxConnections: Int = 16) -> String {
        RevocationGateway.yaml(blocklist: "plugin: memory")
            .replacingOccurrences(
                of: "  listen: 127.0.0.1:0",
                with: "  listen: 127.0.0.1:0\n  idle_timeout: \(idleTimeout)\n  header_timeout: \(headerTimeout)"
            )
            .replacingOccurrences(
                of: "    url: {{UPSTREAM}}", with: "    url: {{UPSTREAM}}\n    timeout: 5s\n    max_connections: \(maxConnections)"
            )
    }

    private func withGateway(
        _ behavior: WebSocketUpstream.Behavior = .echo, yaml: String? = nil, logger: Logger? = nil,
        _ body: (GatewayHarness, WebSocketUpstream) async throws -> Void
    ) async throws {
        try await GatewayHarness.with(
            WebSocketUpstream.start(behavior: behavior), yaml: yaml ?? self.yaml(), logger: logger, body
        )
    }

    /// A connection whose handshake the gateway let through: the 101 has been read.
    private func openTunnel(_ gateway: GatewayHarness, token: String? = nil) async throws -> WebSocketTestClient {
        let handshake = WebSocketTestClient.handshake(path: "/api/chat", token: token ?? tokens.token(sub: "alice"))
        let client = try await WebSocketTestClient.connect(port: gateway.port, sending: handshake)
        let response = try await client.response()
        try #require(response.status == 101)
        return client
    }

    @Test("echoes text and binary frames through the gateway, one of 3 MiB, and closes cleanly after a close frame round trip")
    func echo() async throws {
        try await withGateway { gateway, upstream in
            let client = try await WebSocketTestClient.connect(port: gateway.port)
            try await client.send(WebSocketTestClient.handshake(path: "/api/chat", token: tokens.token(sub: "alice")))
            let response = try await client.response()
            #expect(response.status == 101)
            #expect(response.header("Upgrade")?.lowercased() == "websocket")
            #expect(response.header("Connection") == "Upgrade")
            #expect(response.header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            #expect(response.header("X-Request-Id")?.count == 32)
            // NIO's upgrader sends the 101 before it calls the pipeline hook that records it.
            let handshake = try #require(try await upstream.wait { !$0.requests.isEmpty }.requests.first)
            #expect(handshake.uri == "/api/chat")
            #expect(handshake.header("Upgrade") == "websocket")
            #expect(handshake.header("Connection") == "Upgrade")
            #expect(handshake.header("Sec-WebSocket-Key") == "dGhlIHNhbXBsZSBub25jZQ==")
            #expect(handshake.header("X-Forwarded-For") == "127.0.0.1")

            let small = [
                WebSocketTestFrame(text: "hello"), WebSocketTestFrame(opcode: WebSocketTestFrame.binary, payload: [0, 1, 2, 255]),
                WebSocketTestFrame(text: "second"),
            ]
            for frame in small { try await client.send(frame) }
            for frame in small { #expect(try await client.frame() == frame) }

            let big = WebSocketTestFrame(opcode: WebSocketTestFrame.binary, payload: (0..<(3 << 20)).map { UInt8($0 % 251) })
            try await client.send(big)
            try await client.send(WebSocketTestFrame(text: "after"))
            let echoed = try await client.frame(timeout: .seconds(30))
            #expect(echoed.payload.count == big.payload.count)
            #expect(echoed == big)
            #expect(try await client.frame() == WebSocketTestFrame(text: "after"))

            let normalClosure = WebSocketTestFrame(opcode: WebSocketTestFrame.close, payload: [0x03, 0xE8])
            try await client.send(normalClosure)
            #expect(try await client.frame() == normalClosure)
            try await client.waitForClose()
            try await upstream.wait { $0.tunnelsClosed == 1 }
        }
    }

    @Test("refuses a handshake without a token or with a revoked one as any request, and the upstream sees neither")
    func refusesUnauthorized() async throws {
        try await withGateway { gateway, upstream in
            let client = try await WebSocketTestClient.connect(port: gateway.port)
            try await client.send(WebSocketTestClient.handshake(path: "/api/chat", token: nil))
            let missing = try await client.response()
            #expect(missing.status == 401)
            #expect(missing.header("Content-Type") == "application/json")
            #expect(missing.header("WWW-Authenticate") == #"Bearer realm="portcullis""#)
            #expect(missing.header("Upgrade") == nil)
            #expect(JSONValue.parse(missing.body)?["error"] == "missing_token")

            let revoked = tokens.token(sub: "mallory", jti: "ws-revoked-1")
            try gateway.runtime.runtime.revocation?.plugin.revoke(RevocationToken(jti: "ws-revoked-1", expiresAt: TokenFactory.now + 600))
            try await client.send(WebSocketTestClient.handshake(path: "/api/chat", token: revoked))
            let refused = try await client.response()
            #expect(refused.status == 401)
            #expect(JSONValue.parse(refused.body)?["error"] == "token_revoked")
            await client.close()

            // A good handshake afterwards is the first request the upstream ever sees.
            let good = tokens.token(sub: "alice")
            let tunnel = try await openTunnel(gateway, token: good)
            let seen = try await upstream.wait { $0.requests.count >= 1 }
            #expect(seen.requests.count == 1)
            #expect(seen.requests.first?.header("Authorization") == "Bearer \(good)")
            await tunnel.close()
        }
    }

    @Test("passes an upstream's refusal of the handshake on as an ordinary keep-alive response")
    func upstreamRefuses() async throws {
        try await withGateway(.refuse(status: 403)) { gateway, upstream in
            let client = try await WebSocketTestClient.connect(port: gateway.port)
            let token = tokens.token(sub: "alice")
            try await client.send(WebSocketTestClient.handshake(path: "/api/chat", token: token))
            let refused = try await client.response()
            #expect(refused.status == 403)
            #expect(refused.bodyText == #"{"status":403}"#)
            #expect(refused.header("Connection") == nil)
            #expect(refused.header("Upgrade") == nil)

            try await client.send("GET /api/items HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer \(token)\r\n\r\n")
            #expect(try await client.response().status == 403)
            let seen = try await upstream.wait { $0.requests.count == 2 }
            #expect(seen.requests[0].header("Upgrade") == "websocket")
            #expect(seen.requests[1].uri == "/api/items" && seen.requests[1].header("Upgrade") == nil)
            #expect(seen.tunnelsOpened == 0)
            #expect(client.isActive)
            await client.close()
        }
    }

    @Test("closes the client connection when the upstream closes the tunnel")
    func upstreamCloses() async throws {
        try await withGateway { gateway, upstream in
            let client = try await openTunnel(gateway)
            try await client.send(WebSocketTestFrame(text: "ping-1"))
            #expect(try await client.frame() == WebSocketTestFrame(text: "ping-1"))
            try await client.send(WebSocketTestFrame(text: "close-now"))
            try await client.waitForClose()
            // The upstream counts the close in its close future, which may run after the gateway
            // has already seen the FIN and closed the client: wait for the count, do not read it.
            try await upstream.wait { $0.tunnelsClosed == 1 }
        }
    }

    @Test("closes the upstream connection when the client closes the tunnel")
    func clientCloses() async throws {
        try await withGateway { gateway, upstream in
            let client = try await openTunnel(gateway)
            try await client.send(WebSocketTestFrame(text: "ping-1"))
            #expect(try await client.frame() == WebSocketTestFrame(text: "ping-1"))
            #expect(upstream.observed.tunnelsClosed == 0)
            await client.close()
            try await upstream.wait { $0.tunnelsClosed == 1 }
        }
    }

    @Test("delivers a frame the client sent right behind the handshake, before the 101")
    func earlyFrame() async throws {
        try await withGateway { gateway, _ in
            let client = try await WebSocketTestClient.connect(port: gateway.port)
            var bytes = ByteBuffer(string: WebSocketTestClient.handshake(path: "/api/chat", token: tokens.token(sub: "alice")))
            var early = WebSocketTestFrame(text: "early").encodedMasked()
            bytes.writeBuffer(&early)
            try await client.send(bytes)
            #expect(try await client.response().status == 101)
            #expect(try await client.frame() == WebSocketTestFrame(text: "early"))
            await client.close()
        }
    }

    @Test("forwards an h2c upgrade, a POST with Upgrade and a handshake with a body as ordinary requests")
    func otherUpgradesAreOrdinary() async throws {
        try await withGateway { gateway, upstream in
            let token = tokens.token(sub: "alice")
            let client = try await WebSocketTestClient.connect(port: gateway.port)
            try await client.send(
                "GET /api/h2c HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                    + "HTTP2-Settings: AAMAAABkAAQAAP__\r\nAuthorization: Bearer \(token)\r\n\r\n"
            )
            #expect(try await client.response().status == 200)
            try await client.send(
                "POST /api/post HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 0\r\n"
                    + "Authorization: Bearer \(token)\r\n\r\n"
            )
            #expect(try await client.response().status == 200)
            try await client.send(
                "GET /api/body HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: 4\r\nAuthorization: Bearer \(token)\r\n\r\nbody"
            )
            #expect(try await client.response().status == 200)
            let seen = try await upstream.wait { $0.requests.count == 3 }
            #expect(seen.requests.map(\.uri) == ["/api/h2c", "/api/post", "/api/body"])
            for request in seen.requests {
                #expect(request.header("Upgrade") == nil, "\(request.uri)")
                #expect(request.header("HTTP2-Settings") == nil)
                #expect(request.header("Connection") == nil)
            }
            #expect(seen.tunnelsOpened == 0)
            await client.close()
        }
    }

    @Test("writes one access-log line with status 101 when the tunnel opens")
    func accessLog() async throws {
        let recorder = LogRecorder()
        try await withGateway(logger: recorder.logger(level: .info)) { gateway, _ in
            let token = tokens.token(sub: "alice")
            let client = try await openTunnel(gateway, token: token)
            let lines = recorder.recorded.filter { $0.metadata["portcullis.log"] == "access" }
            #expect(lines.count == 1)
            #expect(lines.first?.metadata["portcullis.status"] == "101")
            #expect(lines.first?.metadata["portcullis.route"] == "api")
            #expect(lines.first?.metadata["portcullis.auth"] == "allowed")
            #expect(lines.first?.metadata["portcullis.sub"] == "alice")
            #expect(lines.first?.metadata["portcullis.upstream"] == "app")
            #expect(!recorder.fullText.contains(token))
            await client.close()
        }
    }

    @Test("keeps a tunnel with traffic open past the idle and header timeouts, and closes one without traffic after idle_timeout")
    func idleTimeout() async throws {
        // Timeouts of 3 s: under the whole suite on two cores a test thread can stall for
        // a second or two, and a tunnel that stays silent past idle_timeout is rightly closed.
        try await withGateway(yaml: yaml(idleTimeout: "3s", headerTimeout: "3s")) { gateway, upstream in
            let busy = try await openTunnel(gateway)
            let quietStart = ContinuousClock.now
            let quiet = try await openTunnel(gateway)
            let quietClosed = Task {
                try await quiet.waitForClose(timeout: .seconds(15))
                return ContinuousClock.now - quietStart
            }
            // A frame every 250 ms for 7 s: more than twice both timeouts.
            try await busy.send(WebSocketTestFrame(text: "tick"), times: 28, every: .milliseconds(250))
            for _ in 0..<28 { #expect(try await busy.frame() == WebSocketTestFrame(text: "tick")) }
            #expect(busy.isActive)
            let quietFor = try await quietClosed.value
            #expect(quietFor >= .seconds(3) && quietFor < .seconds(15))
            let seen = try await upstream.wait { $0.tunnelsClosed == 1 }
            #expect(seen.tunnelsOpened == 2)
            try await busy.send(WebSocketTestFrame(text: "still here"))
            #expect(try await busy.frame() == WebSocketTestFrame(text: "still here"))
            await busy.close()
        }
    }

    @Test("never reuses a tunnel's upstream connection, and frees its pool slot when the tunnel closes")
    func poolSlot() async throws {
        try await withGateway(yaml: yaml(maxConnections: 1)) { gateway, upstream in
            let token = tokens.token(sub: "alice")
            let tunnel = try await openTunnel(gateway, token: token)
            let client = try await RawHTTPClient.connect(port: gateway.port)
            try await client.send("GET /api/items HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer \(token)\r\n\r\n")
            try await tunnel.send(WebSocketTestFrame(text: "still mine"))
            #expect(try await tunnel.frame() == WebSocketTestFrame(text: "still mine"))
            #expect(upstream.observed.requests.count == 1)  // the request waits for the only slot
            await tunnel.close()
            let response = try await client.response()
            #expect(response.status == 200)
            let seen = try await upstream.wait { $0.requests.count == 2 && $0.tunnelsClosed == 1 }
            #expect(seen.requests[1].uri == "/api/items")
            await client.close()
        }
    }

    @Test("graceful shutdown counts an open tunnel as in flight and closes it when the grace period ends")
    func shutdown() async throws {
        try await withGateway { gateway, upstream in
            let client = try await openTunnel(gateway)
            let clock = ContinuousClock()
            let start = clock.now
            let finished = await gateway.server.shutdown(gracePeriod: .milliseconds(500))
            #expect(!finished)
            #expect(clock.now - start >= .milliseconds(500))
            try await client.waitForClose(timeout: .seconds(5))
            try await upstream.wait { $0.tunnelsClosed == 1 }
        }
    }
}
