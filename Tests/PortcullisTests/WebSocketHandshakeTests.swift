import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import Portcullis

/// The bytes of a WebSocket handshake as the gateway reads and rewrites them, and the upstream
/// connection's switch to a tunnel, without sockets.
@Suite("WebSocket handshake")
struct WebSocketHandshakeTests {
    private static let handshake = "GET /api/chat HTTP/1.1\r\nHost: h\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"

    private func parse(_ text: String) throws -> RequestHead {
        try HeadParser.parseRequest(ByteBuffer(string: text)).get()
    }

    private func upstreamHead(_ text: String) throws -> String {
        let config = GatewayConfig(
            file: "t.yaml", directory: "/",
            jwt: JWTSettings(issuers: [
                IssuerSettings(issuer: "iss", audiences: nil, algorithms: [.HS256], keys: [KeySourceSettings(kind: .secret(bytes: Array("k".utf8)))])
            ]),
            upstreams: [UpstreamSettings(name: "app", scheme: .http, host: "10.0.0.9", port: 9000)],
            routes: [RouteSettings(name: "api", path: .prefix("/api/"), upstream: "app")]
        )
        let runtime = try GatewayRuntime.build(config)
        let head = try parse(text)
        let plan = ForwardPlan(routeIndex: 0, upstreamPath: head.string(head.path), token: nil, credentialSource: nil)
        return String(
            buffer: HeadRewriter.upstreamRequest(
                head, plan: plan, route: runtime.routes[0], runtime: runtime, requestID: "rid", clientAddress: "192.0.2.1",
                scheme: "http", logger: Logger(label: "t"), allocator: ByteBufferAllocator()
            )
        )
    }

    @Test("takes a GET over HTTP/1.1 with Upgrade: websocket and Connection: upgrade, in any case, as a handshake")
    func recognisesHandshake() throws {
        #expect(try parse(Self.handshake + "\r\n").wantsWebSocket)
        #expect(try parse("GET / HTTP/1.1\r\nHost: h\r\nupgrade: websocket\r\nconnection: UPGRADE\r\n\r\n").wantsWebSocket)
    }

    @Test(
        "does not take other requests carrying Upgrade for a handshake",
        arguments: [
            "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
            "GET / HTTP/1.0\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 4\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nTransfer-Encoding: chunked\r\n\r\n",
        ]
    )
    func otherUpgrades(text: String) throws {
        #expect(try !parse(text).wantsWebSocket)
    }

    @Test("forwards a handshake with Upgrade: websocket, Connection: Upgrade and the Sec-WebSocket headers")
    func forwardsHandshake() throws {
        #expect(
            try upstreamHead(Self.handshake + "\r\n")
                == "GET /api/chat HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                + "Upgrade: websocket\r\nConnection: Upgrade\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\n"
                + "X-Forwarded-Host: h\r\nX-Request-Id: rid\r\n\r\n"
        )
    }

    @Test("drops Upgrade and Connection from an h2c upgrade and from a handshake with a body")
    func dropsOtherUpgrades() throws {
        let h2c = try upstreamHead(
            "GET /api/x HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"
        )
        #expect(!h2c.lowercased().contains("upgrade") && !h2c.contains("HTTP2-Settings"))
        let withBody = try upstreamHead(Self.handshake + "Content-Length: 4\r\n\r\n")
        #expect(!withBody.lowercased().contains("upgrade"))
        #expect(withBody.contains("Content-Length: 4\r\n"))
    }

    @Test("writes the upstream's 101 for the client with its Upgrade, Connection: Upgrade and the request id")
    func switchingProtocolsHead() throws {
        let response = try HeadParser.parseResponse(
            ByteBuffer(
                string: "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nKeep-Alive: 5\r\n"
                    + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nX-Request-Id: up\r\n\r\n"
            ),
            requestIsHead: false
        ).get()
        let bytes = HeadRewriter.clientSwitchingProtocols(response, requestID: "rid", allocator: ByteBufferAllocator())
        #expect(
            String(buffer: bytes)
                == "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                + "X-Request-Id: rid\r\nConnection: Upgrade\r\n\r\n"
        )
    }

    @Test("an upstream connection hands the bytes behind a 101 head to the tunnel, and refuses a 101 nobody asked for")
    func upstreamSwitch() throws {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        let connection = UpstreamConnection()
        try channel.pipeline.syncOperations.addHandler(connection)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let exchange = RecordingDelegate()
        let tunnel = RecordingDelegate()
        exchange.onHead = { _ in connection.handOver(to: tunnel) }
        connection.begin(delegate: exchange, requestIsHead: false, requestIsUpgrade: true)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n<frame>"))
        try channel.writeInbound(ByteBuffer(string: "more"))
        #expect(exchange.events == ["head 101"])
        #expect(tunnel.events == ["body <frame>", "body more"])
        try channel.close().wait()
        #expect(tunnel.events.last == "end reusable=false")

        let plain = EmbeddedChannel()
        defer { _ = try? plain.finish(acceptAlreadyClosed: true) }
        let other = UpstreamConnection()
        try plain.pipeline.syncOperations.addHandler(other)
        try plain.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let delegate = RecordingDelegate()
        other.begin(delegate: delegate, requestIsHead: false, requestIsUpgrade: false)
        try plain.writeInbound(ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"))
        #expect(delegate.events == ["failed protocol"])
        #expect(!plain.isActive)
    }
}

private final class RecordingDelegate: UpstreamResponseDelegate {
    var events: [String] = []
    var onHead: (ResponseHead) -> Void = { _ in }

    func upstreamResponseHead(_ head: ResponseHead) {
        events.append("head \(head.status)")
        onHead(head)
    }

    func upstreamResponseBody(_ bytes: ByteBuffer) { events.append("body " + String(buffer: bytes)) }
    func upstreamResponseFlush() {}
    func upstreamResponseEnd(reusable: Bool) { events.append("end reusable=\(reusable)") }
    func upstreamFailed(_ failure: UpstreamFailure) { events.append("failed \(failure.rawValue)") }
    func upstreamWritabilityChanged(_ writable: Bool) {}
}
