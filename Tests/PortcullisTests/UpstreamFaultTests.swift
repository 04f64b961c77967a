import NIOCore
import NIOPosix
import PortcullisTestSupport
import Testing

@testable import Portcullis

/// An upstream that does one scripted thing when the first request bytes arrive.
final class ScriptedUpstreamHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    enum Script: Sendable {
        /// Resets the connection (RST) at once.
        case reset
        /// Writes these bytes and keeps the connection open.
        case answer(String)
        /// Writes these bytes, then resets the connection.
        case answerThenReset(String)
        /// Reads and never answers.
        case hang
    }

    let script: Script

    init(_ script: Script) {
        self.script = script
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let channel = context.channel
        switch script {
        case .reset:
            Self.reset(channel)
        case .answer(let text):
            context.writeAndFlush(NIOAny(ByteBuffer(string: text)), promise: nil)
        case .answerThenReset(let text):
            context.writeAndFlush(NIOAny(ByteBuffer(string: text))).whenComplete { _ in Self.reset(channel) }
        case .hang:
            break
        }
    }

    /// SO_LINGER 0: close sends RST instead of FIN.
    private static func reset(_ channel: Channel) {
        (channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
            .whenComplete { _ in channel.close(promise: nil) }
    }
}

/// A listening upstream whose connections each run one script.
private struct ScriptedUpstream: TestUpstream {
    let channel: Channel

    static func start(_ script: ScriptedUpstreamHandler.Script) async throws -> ScriptedUpstream {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ScriptedUpstreamHandler(script))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return ScriptedUpstream(channel: channel)
    }

    var url: String { "http://127.0.0.1:\(channel.localAddress?.port ?? 0)" }

    func shutdown() async throws {
        try await channel.close()
    }
}

/// A gateway (with an admin listener for `/metrics`) in front of an upstream that misbehaves
/// as `script` says; `body` gets the gateway.
private func withScriptedUpstream(
    _ script: ScriptedUpstreamHandler.Script, _ body: (GatewayHarness) async throws -> Void
) async throws {
    let yaml = "admin:\n  listen: 127.0.0.1:0\n" + ProxyIntegrationTests.yaml
    try await GatewayHarness.with(ScriptedUpstream.start(script), yaml: yaml) { gateway, _ in try await body(gateway) }
}

/// Upstreams that fail: each gets the SPEC's status (or, once the response has started, a
/// closed connection), a count in `upstream_errors_total`, and the gateway keeps serving.
@Suite("Upstream faults")
struct UpstreamFaultTests {
    /// One `GET /public` on a fresh connection.
    private func getPublic(_ gateway: GatewayHarness) async throws -> RawResponse {
        let client = try await RawHTTPClient.connect(port: gateway.port)
        try await client.send("GET /public HTTP/1.1\r\nHost: h\r\n\r\n")
        defer { Task { await client.close() } }
        return try await client.response(timeout: .seconds(5))
    }

    private func upstreamErrors(_ gateway: GatewayHarness, kind: String) async throws -> Double? {
        try await gateway.scrapeMetrics().1["portcullis_upstream_errors_total", ["upstream": "app", "kind": kind]]
    }

    @Test(
        "an upstream that resets, answers garbage or hangs gets its status and its count, twice in a row",
        arguments: [
            (ScriptedUpstreamHandler.Script.reset, 502, "reset"),
            (.answer("SSH-2.0-OpenSSH_9.2\r\n\r\n"), 502, "protocol"),
            (.answer("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"), 502, "protocol"),
            (
                .answer("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
                502, "protocol"
            ),
            (
                .answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                502, "protocol"
            ),
            (.hang, 504, "timeout"),
        ] as [(ScriptedUpstreamHandler.Script, Int, String)]
    )
    func failingUpstream(script: ScriptedUpstreamHandler.Script, status: Int, kind: String) async throws {
        try await withScriptedUpstream(script) { gateway in
            // Twice: the first failure leaves nothing behind that spoils the second.
            for attempt in 1...2 {
                let response = try await getPublic(gateway)
                #expect(response.status == status, "attempt \(attempt)")
                #expect(JSONValue.parse(response.body)?["error"] == (status == 504 ? "gateway_timeout" : "bad_gateway"))
            }
            #expect(try await upstreamErrors(gateway, kind: kind) == 2)
            let (health, _) = try await gateway.scrapeMetrics()
            #expect(health.status == 200)
        }
    }

    @Test(
        "a response that breaks after it started: the client gets what was sent, then the connection closes",
        arguments: [
            (
                ScriptedUpstreamHandler.Script.answerThenReset(
                    "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + String(repeating: "x", count: 100)),
                "reset"
            ),
            (.answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n"), "protocol"),
        ] as [(ScriptedUpstreamHandler.Script, String)]
    )
    func brokenMidResponse(script: ScriptedUpstreamHandler.Script, kind: String) async throws {
        try await withScriptedUpstream(script) { gateway in
            // Twice: the gateway keeps serving, and each exchange fails on its own.
            for attempt in 1...2 {
                let client = try await RawHTTPClient.connect(port: gateway.port)
                try await client.send("GET /public HTTP/1.1\r\nHost: h\r\n\r\n")
                // The status line went out before the fault: the only honest signal left is to
                // close without completing the body, which the client sees as a truncated response.
                await #expect(throws: (any Error).self, "attempt \(attempt)") {
                    try await client.response(timeout: .seconds(5))
                }
                try await client.waitForClose()
                #expect(try await upstreamErrors(gateway, kind: kind) == Double(attempt))
            }
        }
    }
}
