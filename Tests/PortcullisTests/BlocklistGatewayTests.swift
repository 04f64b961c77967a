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

    /// `chattr +i` stops writes even for root (a chmod would not, and root runs CI), on the
    /// database and its WAL; the `-shm` file stays writable, as SQLite maps it.
    private func setImmutable(_ on: Bool, _ paths: [String]) throws {
        let arguments = [on ? "+i" : "-i"] + paths
        let result = try runCommand("/usr/bin/chattr", arguments)
        try #require(result.status == 0, "chattr \(arguments): \(result.standardError)")
    }

    @Test(
        "a SQLite file made read-only: revocations fail with 503 and are counted, checks go on, and it recovers",
        .enabled(if: geteuid() == 0, "chattr +i needs root")
    )
    func sqliteReadOnly() async throws {
        let folder = try CPluginCompiler.temporaryDirectory("portcullis-blocklist")
        let database = "\(folder)/revoked.db"
        let yaml = "admin:\n  listen: 127.0.0.1:0\n" + RevocationGateway.yaml(blocklist: "plugin: sqlite\nconfig:\n  path: revoked.db")
        try await GatewayHarness.withUpstream(yaml: yaml, directory: folder) { gateway, _ in
            let service = try revocation(gateway)
            try service.plugin.revoke(RevocationToken(jti: "before-1", expiresAt: TokenFactory.now + 600))
            let files = [database, database + "-wal"]
            try setImmutable(true, files)
            defer { try? setImmutable(false, files) }

            #expect(throws: PluginCallError.self) {
                try service.plugin.revoke(RevocationToken(jti: "during-1", expiresAt: TokenFactory.now + 600))
            }
            let logout = try await RevocationGateway.post(gateway, "/logout", token: tokens.token(jti: "during-2"))
            #expect(logout.status == 503)
            #expect(logout.bodyText.contains("revocation_unavailable"))
            // Reads still work: the earlier revocation holds, other tokens pass.
            #expect(try await RevocationGateway.get(gateway, token: tokens.token(jti: "before-1")).status == 401)
            #expect(try await RevocationGateway.get(gateway, token: tokens.token(jti: "during-2")).status == 200)
            #expect(service.failureCount == 0)
            #expect(try await gateway.scrapeMetrics().1["portcullis_revocation_errors_total"] == 1)

            try setImmutable(false, files)
            let again = try await RevocationGateway.post(gateway, "/logout", token: tokens.token(jti: "during-2"))
            #expect(again.status == 200)
            #expect(try await RevocationGateway.get(gateway, token: tokens.token(jti: "during-2")).status == 401)
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
