import NIOCore
import PortcullisTestSupport
import Testing

@testable import Portcullis

/// The request-smuggling matrix (`HostileRequest`): exact bytes over a raw socket to a real
/// gateway, with an upstream stub behind it that keeps every byte it reads.
///
/// Each test first sends one good request, so the gateway holds a pooled upstream connection
/// as it would in production, and a refused request could ride on it.
@Suite("Request smuggling over raw sockets", .timeLimit(.minutes(1)))
struct SmugglingTests {
    static let yaml = """
        server:
          listen: 127.0.0.1:0
          header_timeout: 10s
        jwt:
          issuers:
            - issuer: https://issuer.test
              algorithms: [HS256]
              keys:
                - secret: smuggling-test-secret-0123456789
        upstreams:
          app:
            url: {{UPSTREAM}}
            connect_timeout: 2s
            timeout: 5s
        routes:
          - name: open
            path_prefix: /open/
            upstream: app
            auth: none
        """

    /// The good request sent before and after each probe.
    static let good = "GET /open/ok HTTP/1.1\r\nHost: gw\r\nX-Request-Id: smuggle-good\r\n\r\n"

    private func withGateway(_ body: (GatewayHarness, UpstreamStub) async throws -> Void) async throws {
        try await GatewayHarness.with(UpstreamStub.start(recordingBytes: true), yaml: Self.yaml, body)
    }

    /// Sends `text` on a new connection, expects a 200, and returns the bytes the upstream has
    /// read so far (the request as forwarded, the first time).
    private func sendAccepted(_ text: String, gateway: GatewayHarness, upstream: UpstreamStub) async throws -> [UInt8] {
        let client = try await RawHTTPClient.connect(port: gateway.port)
        try await client.send(text)
        #expect(try await client.response().status == 200)
        await client.close()
        return forwarded(upstream)
    }

    /// Everything the upstream read, all connections in accept order.
    private func forwarded(_ upstream: UpstreamStub) -> [UInt8] {
        upstream.receivedBytes.flatMap { $0 }
    }

    /// The upstream read `once` twice and nothing else. Compared as text, so a failure shows
    /// what reached it.
    private func expectForwardedTwice(
        _ once: [UInt8], by upstream: UpstreamStub, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        let text = String(decoding: forwarded(upstream), as: UTF8.self)
        #expect(text == String(decoding: once + once, as: UTF8.self), sourceLocation: sourceLocation)
    }

    @Test(
        "answers 400 bad_request, forwards nothing of the request or what follows it, and keeps serving",
        arguments: HostileRequest.refused
    )
    func refused(_ probe: HostileRequest) async throws {
        try await withGateway { gateway, upstream in
            let good = try await sendAccepted(Self.good, gateway: gateway, upstream: upstream)
            let client = try await RawHTTPClient.connect(port: gateway.port)
            // A closing refusal gets a well-framed request behind it: it must be discarded too.
            try await client.send(probe.text + (probe.keepsConnection ? "" : HostileRequest.smuggled))
            let response = try await client.response()
            #expect(response.status == 400)
            #expect(response.header("Content-Type") == "application/json")
            #expect(response.header("X-Request-Id")?.isEmpty == false)
            let body = JSONValue.parse(response.body)
            #expect(body?["error"] == "bad_request")
            #expect(body?["message"]?.stringValue?.isEmpty == false)
            if case .object(let members) = body { #expect(members.count == 2) }
            if probe.keepsConnection {
                try await client.send(Self.good)
                #expect(try await client.response().status == 200)
                await client.close()
            } else {
                #expect(response.header("Connection") == "close")
                try await client.waitForClose()
                _ = try await sendAccepted(Self.good, gateway: gateway, upstream: upstream)
            }
            let requests = try await upstream.waitForRequests(count: 2, timeout: .seconds(5))
            #expect(requests.map(\.uri) == ["/open/ok", "/open/ok"])
            expectForwardedTwice(good, by: upstream)
        }
    }

    @Test("forwards a lawful spelling of chunked framing exactly as the plain one", arguments: HostileRequest.accepted)
    func accepted(_ variant: HostileRequest) async throws {
        try await withGateway { gateway, upstream in
            let plain = try await sendAccepted(HostileRequest.plainChunked, gateway: gateway, upstream: upstream)
            _ = try await sendAccepted(variant.text, gateway: gateway, upstream: upstream)
            let requests = try await upstream.waitForRequests(count: 2, timeout: .seconds(5))
            #expect(requests.count == 2)
            #expect(requests.last?.bodyBytes == 5)
            #expect(requests.last?.bodyChecksum == fnv1a64("hello".utf8))
            // Same head, `Transfer-Encoding: chunked` once, the body re-framed as one clean chunk.
            expectForwardedTwice(plain, by: upstream)
        }
    }

    /// A request hidden in a body is body: the upstream gets it as the first request's body,
    /// and only the request framed after that body as a request of its own.
    @Test(
        "forwards a request hidden in a body as body, and the next one as a request",
        arguments: [
            HostileRequest.post(
                "in a Content-Length body", "Content-Length: \(HostileRequest.smuggled.utf8.count)\r\n",
                body: HostileRequest.smuggled
            ),
            HostileRequest.chunked(
                "in a chunked body",
                body: String(HostileRequest.smuggled.utf8.count, radix: 16) + "\r\n" + HostileRequest.smuggled + "\r\n0\r\n\r\n"
            ),
        ]
    )
    func pipelined(_ carrier: HostileRequest) async throws {
        try await withGateway { gateway, upstream in
            let client = try await RawHTTPClient.connect(port: gateway.port)
            try await client.send(carrier.text + Self.good)
            #expect(try await client.response().status == 200)
            #expect(try await client.response().status == 200)
            let requests = try await upstream.waitForRequests(count: 2, timeout: .seconds(5))
            #expect(requests.map(\.uri) == ["/open/probe", "/open/ok"])
            #expect(requests.first?.bodyBytes == HostileRequest.smuggled.utf8.count)
            #expect(requests.first?.bodyChecksum == fnv1a64(HostileRequest.smuggled.utf8))
            await client.close()
        }
    }

    @Test(
        "forwards nothing that follows a request which closes its connection",
        arguments: [
            HostileRequest.get("HTTP/1.1 with Connection: close", "Connection: close\r\n"),
            HostileRequest.raw("HTTP/1.0 without keep-alive", "GET /open/probe HTTP/1.0\r\n\r\n"),
        ]
    )
    func afterClose(_ closing: HostileRequest) async throws {
        try await withGateway { gateway, upstream in
            let client = try await RawHTTPClient.connect(port: gateway.port)
            try await client.send(closing.text + HostileRequest.smuggled)
            #expect(try await client.response().status == 200)
            try await client.waitForClose()
            _ = try await sendAccepted(Self.good, gateway: gateway, upstream: upstream)
            #expect(upstream.requests.map(\.uri) == ["/open/probe", "/open/ok"])
        }
    }
}
