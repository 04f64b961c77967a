import Foundation
import Logging
import PortcullisTestSupport

@testable import Portcullis

/// A gateway with one protected route and one refresh route in front of an upstream stub,
/// with the `blocklist` section a test gives.
struct RevocationGateway {
    static let tokens = TokenFactory()

    static func yaml(blocklist: String) -> String {
        """
        server:
          listen: 127.0.0.1:0
        jwt:
          issuers:
            - issuer: \(tokens.issuer)
              audiences: [\(tokens.audience ?? "")]
              algorithms: [HS256]
              keys:
                - secret: \(String(decoding: tokens.secret, as: UTF8.self))
        upstreams:
          app:
            url: {{UPSTREAM}}
        routes:
          - name: refresh
            path: /auth/refresh
            upstream: app
            auth: refresh
          - name: api
            path_prefix: /api/
            upstream: app
        blocklist:
        \(blocklist.split(separator: "\n", omittingEmptySubsequences: false).map { "  \($0)" }.joined(separator: "\n"))
        """
    }

    /// Runs `body` with a gateway whose blocklist section is `blocklist` (YAML, unindented).
    static func with(
        blocklist: String, directory: String = NSTemporaryDirectory(), workers: Int = 1, logger: Logger? = nil,
        _ body: (GatewayHarness, UpstreamStub) async throws -> Void
    ) async throws {
        try await GatewayHarness.withUpstream(
            yaml: yaml(blocklist: blocklist), directory: directory, workers: workers, logger: logger, body
        )
    }

    /// One POST with `token` and an empty body on a fresh connection.
    static func post(_ gateway: GatewayHarness, _ path: String, token: String) async throws -> RawResponse {
        let client = try await RawHTTPClient.connect(port: gateway.port)
        try await client.send(
            "POST \(path) HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer \(token)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        let response = try await client.response()
        await client.close()
        return response
    }

    /// One GET with `token` on a fresh connection.
    static func get(_ gateway: GatewayHarness, _ path: String = "/api/items", token: String, header: String = "Authorization: Bearer")
        async throws -> RawResponse
    {
        let client = try await RawHTTPClient.connect(port: gateway.port)
        try await client.send("GET \(path) HTTP/1.1\r\nHost: h\r\n\(header) \(token)\r\nConnection: close\r\n\r\n")
        let response = try await client.response()
        await client.close()
        return response
    }
}
