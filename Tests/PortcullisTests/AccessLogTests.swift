import Foundation
import PortcullisTestSupport
import Testing

@testable import Portcullis

/// `log.access_log`: one line per request with what an operator needs, never a token.
@Suite("Access log")
struct AccessLogTests {
    private let tokens = RevocationGateway.tokens

    private func lines(_ recorder: LogRecorder) -> [LogRecorder.Entry] {
        recorder.recorded.filter { $0.message == "request" && $0.metadata["portcullis.log"] == "access" }
    }

    @Test("every request gets one line: allowed, refused, revoked and unrouted, even at log level warning")
    func oneLinePerRequest() async throws {
        let recorder = LogRecorder()
        try await RevocationGateway.with(blocklist: "plugin: memory", logger: recorder.logger(level: .warning)) { gateway, _ in
            let good = tokens.token(sub: "alice", jti: "ok-1")
            let revoked = tokens.token(sub: "bob", jti: "gone-1")
            try gateway.runtime.runtime.revocation?.plugin.revoke(RevocationToken(jti: "gone-1", expiresAt: TokenFactory.now + 60))
            #expect(try await RevocationGateway.get(gateway, "/api/items?secret=1", token: good).status == 200)
            #expect(try await RevocationGateway.get(gateway, token: good + "x").status == 401)
            #expect(try await RevocationGateway.get(gateway, token: revoked).status == 401)
            #expect(try await RevocationGateway.get(gateway, "/nowhere", token: good).status == 404)
            let recorded = lines(recorder)
            #expect(recorded.count == 4)
            let allowed = try #require(recorded.first { $0.metadata["portcullis.status"] == "200" })
            #expect(allowed.metadata["portcullis.method"] == "GET")
            #expect(allowed.metadata["portcullis.path"] == "/api/items")
            #expect(allowed.metadata["portcullis.route"] == "api")
            #expect(allowed.metadata["portcullis.auth"] == "allowed")
            #expect(allowed.metadata["portcullis.sub"] == "alice")
            #expect(allowed.metadata["portcullis.upstream"] == "app")
            #expect(allowed.metadata["portcullis.upstream_ms"] != nil)
            #expect(allowed.metadata["portcullis.request_id"]?.count == 32)
            #expect(allowed.metadata["portcullis.duration_ms"]?.contains(".") == true)
            let auths = Set(recorded.compactMap { $0.metadata["portcullis.auth"] })
            #expect(auths == ["allowed", "invalid_token", "token_revoked", "-"])
            #expect(recorded.contains { $0.metadata["portcullis.status"] == "404" && $0.metadata["portcullis.route"] == "-" })
            let text = recorder.fullText
            #expect(!text.contains(good) && !text.contains(revoked) && !text.contains("secret=1"))
        }
    }

    @Test("access_log: false writes no request lines")
    func disabled() async throws {
        let recorder = LogRecorder()
        let yaml = RevocationGateway.yaml(blocklist: "plugin: memory")
            .replacingOccurrences(of: "server:\n", with: "log:\n  access_log: false\nserver:\n")
        try await GatewayHarness.withUpstream(yaml: yaml, logger: recorder.logger(level: .info)) { gateway, _ in
            let response = try await RevocationGateway.get(gateway, token: tokens.token())
            #expect(response.status == 200)
        }
        #expect(lines(recorder).isEmpty)
    }
}
