import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import Portcullis

/// The client handler on an `EmbeddedChannel`: every path here is answered by the gateway
/// itself, so no upstream is involved and the exact bytes are checked.
@Suite("Client connection handler")
struct ClientConnectionHandlerTests {
    private func makeChannel(maxHeaderBytes: Int = 1024) throws -> EmbeddedChannel {
        var server = ServerSettings()
        server.maxHeaderBytes = maxHeaderBytes
        let config = GatewayConfig(
            file: "t.yaml", directory: "/", server: server,
            jwt: JWTSettings(issuers: [
                IssuerSettings(issuer: "iss", audiences: nil, algorithms: [.HS256], keys: [KeySourceSettings(kind: .secret(bytes: Array("k".utf8)))])
            ]),
            upstreams: [UpstreamSettings(name: "app", scheme: .http, host: "127.0.0.1", port: 9)],
            routes: [RouteSettings(name: "api", path: .prefix("/api/"), upstream: "app")]
        )
        let channel = EmbeddedChannel()
        let loop = LoopContext(
            eventLoop: channel.eventLoop, runtimeBox: RuntimeBox(try GatewayRuntime.build(config)), logger: Logger(label: "t")
        )
        try channel.pipeline.syncOperations.addHandler(ClientConnectionHandler(loop: loop, scheme: "http"))
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    /// Closes the channel if the handler did not, then runs what the close left queued (the
    /// handler's removal) and cancels the timers still scheduled: an `EmbeddedEventLoop` runs
    /// nothing by itself, and a handler never removed stays registered with its `LoopContext`.
    private func finish(_ channel: EmbeddedChannel) {
        _ = try? channel.finish(acceptAlreadyClosed: true)
    }

    private func readResponse(_ channel: EmbeddedChannel) throws -> String {
        var all = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { all += String(buffer: buffer) }
        return all
    }

    @Test("answers a bare-LF request with 400 bad_request and closes")
    func bareLineFeed() throws {
        let channel = try makeChannel()
        defer { finish(channel) }
        try channel.writeInbound(ByteBuffer(string: "GET /api/x HTTP/1.1\nHost: h\n\n"))
        let response = try readResponse(channel)
        #expect(response.hasPrefix("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"))
        #expect(response.contains("Connection: close\r\n"))
        #expect(response.hasSuffix(#"{"error":"bad_request","message":"Line endings must be CRLF."}"#))
        #expect(!channel.isActive)
    }

    @Test("answers 431 when the head outgrows max_header_bytes, before it is complete")
    func headTooLarge() throws {
        let channel = try makeChannel(maxHeaderBytes: 1024)
        defer { finish(channel) }
        try channel.writeInbound(ByteBuffer(string: "GET /api/x HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 2000)))
        #expect(try readResponse(channel).hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"))
        #expect(!channel.isActive)
    }

    @Test("answers pipelined requests the gateway refuses in order and keeps the connection")
    func pipelinedRefusals() throws {
        let channel = try makeChannel()
        defer { finish(channel) }
        try channel.writeInbound(
            ByteBuffer(string: "GET /nope HTTP/1.1\r\nHost: h\r\nX-Request-Id: one\r\n\r\nGET /api/x HTTP/1.1\r\nHost: h\r\nX-Request-Id: two\r\n\r\n")
        )
        let response = try readResponse(channel)
        let notFound = try #require(response.range(of: "HTTP/1.1 404 Not Found\r\n"))
        let unauthorized = try #require(response.range(of: "HTTP/1.1 401 Unauthorized\r\n"))
        #expect(notFound.lowerBound < unauthorized.lowerBound)
        #expect(response.contains("X-Request-Id: one\r\n") && response.contains("X-Request-Id: two\r\n"))
        #expect(response.contains(#"WWW-Authenticate: Bearer realm="portcullis""#))
        #expect(!response.contains("Connection: close"))
        #expect(channel.isActive)
    }

    @Test("closes after refusing a request whose body it did not read")
    func closesWhenBodyUnread() throws {
        let channel = try makeChannel()
        defer { finish(channel) }
        try channel.writeInbound(ByteBuffer(string: "POST /nope HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"))
        let response = try readResponse(channel)
        #expect(response.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(response.contains("Connection: close\r\n"))
        #expect(!channel.isActive)
    }
}
