import NIOCore
import NIOPosix
import PortcullisTestSupport
import Testing

@testable import Portcullis

/// An upstream that resets the connection (RST) as soon as request bytes arrive.
private final class ResetOnRequest: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let channel = context.channel
        // SO_LINGER 0: close sends RST instead of FIN.
        (channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
            .whenComplete { _ in channel.close(promise: nil) }
    }
}

@Suite("Upstream reset")
struct UpstreamResetTests {
    @Test("an upstream that resets the connection after the request gets 502, not a hanging client")
    func resetAfterRequest() async throws {
        let upstream = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(ResetOnRequest()) }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let port = try #require(upstream.localAddress?.port)
        let gateway = try await GatewayHarness.start(yaml: ProxyIntegrationTests.yaml, upstreamURL: "http://127.0.0.1:\(port)")
        let client = try await RawHTTPClient.connect(port: gateway.port)
        try await client.send("GET /public HTTP/1.1\r\nHost: h\r\n\r\n")
        // Answered at once; the route's 1 s response timeout goes with the reset connection.
        let response = try await client.response(timeout: .seconds(5))
        #expect(response.status == 502)
        #expect(JSONValue.parse(response.body)?["error"] == "bad_gateway")
        await client.close()
        try await gateway.shutdown()
        try await upstream.close()
    }
}
