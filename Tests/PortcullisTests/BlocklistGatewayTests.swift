import Foundation
import PortcullisTestSupport
import Testing

@testable import Portcullis

/// The memory and SQLite plugins behind a real gateway over real sockets.
@Suite("Built-in blocklists behind the gateway")
struct BlocklistGatewayTests {
    private let tokens = RevocationGateway.tokens

    private func revocation(_ gateway: GatewayHarness) throws -> RevocationService {
        try #require(gateway.runtime.runtime.revocation)
    }

    @Test("a cached verification never skips the revocation check", arguments: ["memory", "sqlite"])
    func cachedStillChecked(plugin: String) async throws {
        let folder = try CPluginCompiler.temporaryDirectory("portcullis-blocklist")
        try await RevocationGateway.with(blocklist: "plugin: \(plugin)", directory: folder) { gateway, _ in
            let token = tokens.token(jti: "cached-1")
            // The first request verifies and caches the token on the (only) event loop.
            #expect(try await RevocationGateway.get(gateway, token: token).status == 200)
            #expect(try await RevocationGateway.get(gateway, token: token).status == 200)
            try revocation(gateway).plugin.revoke(RevocationToken(jti: "cached-1", expiresAt: TokenFactory.now + 600))
            let refused = try await RevocationGateway.get(gateway, token: token)
            #expect(refused.status == 401)
            #expect(refused.bodyText.contains("token_revoked"))
        }
    }

    @Test("a subject revocation refuses the subject's earlier tokens and not later ones", arguments: ["memory", "sqlite"])
    func subjectRevocation(plugin: String) async throws {
        let folder = try CPluginCompiler.temporaryDirectory("portcullis-blocklist")
        try await RevocationGateway.with(blocklist: "plugin: \(plugin)", directory: folder) { gateway, _ in
            let now = TokenFactory.now
            let earlier = tokens.token(sub: "dave", jti: "dave-1", now: now - 10)
            let otherUser = tokens.token(sub: "erin", jti: "erin-1", now: now - 10)
            try revocation(gateway).plugin.revokeSubject("dave", at: now - 5, until: now + 600)
            #expect(try await RevocationGateway.get(gateway, token: earlier).status == 401)
            #expect(try await RevocationGateway.get(gateway, token: otherUser).status == 200)
            let later = tokens.token(sub: "dave", jti: "dave-2", now: now)
            #expect(try await RevocationGateway.get(gateway, token: later).status == 200)
        }
    }

    @Test("SQLite revocations survive a gateway restart")
    func sqliteSurvivesRestart() async throws {
        let folder = try CPluginCompiler.temporaryDirectory("portcullis-blocklist")
        let blocklist = "plugin: sqlite\nconfig:\n  path: state/revoked.db"
        try FileManager.default.createDirectory(atPath: "\(folder)/state", withIntermediateDirectories: true)
        let token = tokens.token(jti: "restart-1")
        try await RevocationGateway.with(blocklist: blocklist, directory: folder) { gateway, _ in
            try revocation(gateway).plugin.revoke(RevocationToken(jti: "restart-1", expiresAt: TokenFactory.now + 600))
            #expect(try await RevocationGateway.get(gateway, token: token).status == 401)
        }
        try await RevocationGateway.with(blocklist: blocklist, directory: folder) { gateway, _ in
            let revoked = try await RevocationGateway.get(gateway, token: token)
            let fresh = try await RevocationGateway.get(gateway, token: tokens.token(jti: "restart-2"))
            #expect(revoked.status == 401)
            #expect(fresh.status == 200)
        }
    }

    @Test("a token without jti is known to the blocklist by the SHA-256 of its text, distinct per token")
    func tokenWithoutJTI() throws {
        // `require` without jti, so such a token verifies.
        var settings = tokens.jwtSettings
        settings.require = ["exp"]
        let verifier = try TokenVerifier(settings: settings)
        let token = tokens.token(extra: ["jti": .null])
        let verified = try verifier.verifySignatureAndClaims(token).get()
        #expect(verified.jti == nil)
        #expect(verified.revocationID.hasPrefix("sha256:"))
        #expect(verified.revocationID.count == "sha256:".count + 43)
        let other = try verifier.verifySignatureAndClaims(tokens.token(extra: ["jti": .null], now: TokenFactory.now - 1)).get()
        #expect(other.revocationID != verified.revocationID)
    }
}
