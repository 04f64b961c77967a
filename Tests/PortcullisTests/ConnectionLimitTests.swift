import PortcullisTestSupport
import Testing

@testable import Portcullis

/// `server.max_connections` over real sockets: connections past the limit are closed at
/// accept, the admitted ones are untouched, and a slot frees when its connection closes.
@Suite("Connection limit")
struct ConnectionLimitTests {
    private static let limit = 4

    private let yaml = ProxyIntegrationTests.yaml.replacingOccurrences(
        of: "  listen: 127.0.0.1:0\n", with: "  listen: 127.0.0.1:0\n  max_connections: \(limit)\n"
    )

    private func request(_ client: RawHTTPClient) async throws -> Int {
        try await client.send("GET /public HTTP/1.1\r\nHost: h\r\n\r\n")
        return try await client.response(timeout: .seconds(5)).status
    }

    @Test("connections past max_connections are closed at once; the others keep working; a closed one frees its slot")
    func excessClosedAtAccept() async throws {
        try await GatewayHarness.withUpstream(yaml: yaml) { gateway, _ in
            var admitted: [RawHTTPClient] = []
            for _ in 0..<Self.limit {
                let client = try await RawHTTPClient.connect(port: gateway.port)
                #expect(try await request(client) == 200)
                admitted.append(client)
            }
            // The kernel completes the handshake; the gateway closes the socket when it
            // accepts it, before reading anything.
            for _ in 0..<3 {
                let excess = try await RawHTTPClient.connect(port: gateway.port)
                try await excess.waitForClose(timeout: .seconds(3))
            }
            for client in admitted {
                #expect(try await request(client) == 200)
                #expect(client.isActive)
            }

            await admitted.removeFirst().close()
            // The slot is released when the gateway sees the close; until then a new
            // connection may still be refused.
            let deadline = ContinuousClock.now + .seconds(5)
            var readmitted = false
            while !readmitted, ContinuousClock.now < deadline {
                let client = try await RawHTTPClient.connect(port: gateway.port)
                readmitted = (try? await request(client)) == 200
                await client.close()
            }
            #expect(readmitted)
            for client in admitted { await client.close() }
        }
    }
}
