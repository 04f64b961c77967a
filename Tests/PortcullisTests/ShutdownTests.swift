import Foundation
import PortcullisTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM/SIGINT (SPEC section 6): stop accepting, finish requests in flight, exit 0.
@Suite("Graceful shutdown")
struct ShutdownTests {
    private let tokens = RevocationGateway.tokens

    private func processYAML(upstream: String) -> String {
        RevocationGateway.yaml(blocklist: "plugin: memory")
            .replacingOccurrences(of: "{{UPSTREAM}}", with: upstream)
            .replacingOccurrences(of: "127.0.0.1:0", with: "{{LISTEN}}")
    }

    @Test("SIGTERM lets a slow request in flight complete, closes idle connections, then exits 0", arguments: [SIGTERM, SIGINT])
    func drains(signal: Int32) async throws {
        let upstream = try await UpstreamStub.start(behavior: .delay(.milliseconds(1500)))
        defer { Task { try? await upstream.shutdown() } }
        let gateway = try GatewayProcess(yaml: processYAML(upstream: upstream.url))
        defer { gateway.stop() }
        let idle = try await RawHTTPClient.connect(port: gateway.port)
        let busy = try await RawHTTPClient.connect(port: gateway.port)
        try await busy.send("GET /api/slow HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer \(tokens.token())\r\n\r\n")
        _ = try await upstream.waitForRequests(count: 1, timeout: .seconds(10))

        let exit = Task.detached { gateway.exitCode(after: signal, within: .seconds(25)) }
        try await idle.waitForClose()  // an idle keep-alive connection is closed at once
        let response = try await busy.response(timeout: .seconds(20))
        #expect(response.status == 200)
        try await busy.waitForClose()  // and the busy one right after its response
        #expect(await exit.value == 0)
    }
}
