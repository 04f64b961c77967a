import NIOCore
import PortcullisTestSupport
import Testing

@testable import Portcullis

/// One regression test per problem the fuzz targets (`Fuzz/`, `scripts/fuzz.sh`) turned up;
/// each input is also in the target's seed corpus under the same name.
@Suite("Fuzzing findings")
struct FuzzFindingTests {
    // MARK: FuzzRequestHead: `Connection` naming an end-to-end header

    @Test(
        "refuses a request whose Connection header names its Content-Length, Transfer-Encoding or Host",
        arguments: [
            "POST /x HTTP/1.1\r\nHost: h\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\n",
            "POST /x HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, content-length\r\nContent-Length: 5\r\n\r\n",
            "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: TRANSFER-ENCODING\r\n\r\n",
            "GET /x HTTP/1.1\r\nConnection: host\r\nHost: admin.example.com\r\n\r\n",
        ]
    )
    func refusesConnectionNamingFraming(head: String) {
        #expect(throws: HeadParseError.self) { try HeadParser.parseRequest(ByteBuffer(string: head)).get() }
    }

    @Test("still drops an ordinary header that Connection names, and a named header that is absent is no error")
    func keepsHopByHopNaming() throws {
        let head = try HeadParser.parseRequest(
            ByteBuffer(string: "GET /x HTTP/1.1\r\nHost: h\r\nConnection: X-Hop, Content-Length\r\nX-Hop: 1\r\n\r\n")
        ).get()
        #expect(head.fields.filter(\.namedByConnection).map { head.string($0.name) } == ["X-Hop"])
    }

    @Test("refuses an upstream response whose Connection header names its Content-Length")
    func refusesResponseConnectionNamingFraming() {
        let response = ByteBuffer(string: "HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\n")
        #expect(throws: HeadParseError.self) { try HeadParser.parseResponse(response, requestIsHead: false).get() }
    }

    @Test("answers 400 to a body smuggled past a Connection-named Content-Length, and the upstream sees nothing")
    func smugglingThroughConnectionNeverReachesUpstream() async throws {
        try await GatewayHarness.withUpstream(yaml: ProxyIntegrationTests.yaml) { gateway, upstream in
            let client = try await RawHTTPClient.connect(port: gateway.port)
            let smuggled = "GET /api/admin HTTP/1.1\r\nHost: h\r\n\r\n"
            try await client.send(
                "POST /public HTTP/1.1\r\nHost: h\r\nConnection: Content-Length\r\n"
                    + "Content-Length: \(smuggled.utf8.count)\r\n\r\n\(smuggled)")
            let response = try await client.response()
            #expect(response.status == 400)
            #expect(response.bodyText.contains("\"bad_request\""))
            try await client.waitForClose()
            #expect(upstream.requests.isEmpty)
            #expect(upstream.acceptedConnections == 0)
        }
    }

    // MARK: FuzzConfig: alias expansion ("billion laughs")

    /// `levels` anchors, each a list of ten aliases of the one before: 10^levels nodes expanded.
    private static func nestedAliases(levels: Int, indent: String) -> String {
        var lines = ["\(indent)l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
        for level in 1...levels {
            lines.append("\(indent)l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test(
        "refuses aliases that expand past the node budget at the alias, without expanding them",
        .timeLimit(.minutes(1))
    )
    func refusesAliasBomb() {
        // In `blocklist.config`, which is read as free-form JSON, the tree used to be walked in full.
        let bomb = ConfigFixture.minimal + "blocklist:\n  config:\n" + Self.nestedAliases(levels: 8, indent: "    ")
        let errors = ConfigFixture.errors(bomb)
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains("aliases expand the config to more than 100000 nodes") == true)
        // Line 14 is `blocklist:`, line 20 `l4`: about 12 400 nodes come before it, each `*l3`
        // adds 11 111, so its eighth alias (column 14 + 7 * 5) is the one over 100 000.
        #expect(ConfigFixture.position(errors.first) == [20, 49])
    }

    @Test("refuses an aliased mapping key that Yams would hash in full", .timeLimit(.minutes(1)))
    func refusesAliasBombKey() {
        let bomb = ConfigFixture.minimal + "blocklist:\n  config:\n" + Self.nestedAliases(levels: 8, indent: "    ")
            + "    ? *l8\n    : 1\n"
        #expect(ConfigFixture.errors(bomb).map(\.message).contains { $0.contains("aliases expand the config") })
    }

    @Test("keeps accepting anchors and aliases that reuse a block")
    func acceptsModestAliases() throws {
        let yaml = ConfigFixture.prelude + """
            routes:
              - name: a
                path_prefix: /a/
                upstream: orders
                auth: &strict
                  type: access
                  require_scopes: [orders:admin]
              - name: b
                path_prefix: /b/
                upstream: orders
                auth: *strict

            """
        let config = try ConfigFixture.parse(yaml)
        #expect(config.routes.map(\.auth.requireScopes) == [["orders:admin"], ["orders:admin"]])
    }
}
