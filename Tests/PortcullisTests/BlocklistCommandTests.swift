import Foundation
import PortcullisTestSupport
import Testing

@testable import Portcullis

/// `check`, `serve` and `revoke` with plugins that load, fail, or lack a capability: the
/// messages name the plugin path, and the exit codes are SPEC section 1's.
@Suite("Blocklist on the command line")
struct BlocklistCommandTests {
    private func config(blocklist: String) throws -> String {
        try writeConfig(RevocationGateway.yaml(blocklist: blocklist).replacingOccurrences(of: "{{UPSTREAM}}", with: "http://127.0.0.1:9"))
    }

    private func run(_ command: String, _ config: String, _ extra: [String] = []) throws -> CommandOutput {
        try runPortcullis([command, "--config", config, "--plugin-dir", BuiltPlugins.directory] + extra)
    }

    @Test("check loads the plugin, calls health and prints the route table")
    func checkHealthy() throws {
        let result = try run("check", try config(blocklist: "plugin: \(try ProbePlugin.build())"))
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("api"))
    }

    @Test("check exits 1 naming the plugin path when the library is missing")
    func checkMissingPlugin() throws {
        let result = try run("check", try config(blocklist: "plugin: /nonexistent/libnothing.so"))
        #expect(result.status == 1)
        #expect(result.standardError.contains("/nonexistent/libnothing.so: cannot load the library"))
    }

    @Test("check exits 1 when the plugin's health fails")
    func checkUnhealthy() throws {
        let plugin = try ProbePlugin.build(["CHECK_STATUS=PC_ERR_UNAVAILABLE"])
        let result = try run("check", try config(blocklist: "plugin: \(plugin)"))
        #expect(result.status == 1)
        #expect(result.standardError.contains("\(plugin): health check failed: PC_ERR_UNAVAILABLE: backend down"))
    }

    @Test("serve exits 2 when the plugin cannot be created, with the plugin's message")
    func serveFailingCreate() throws {
        let plugin = try ProbePlugin.build(["CREATE_STATUS=PC_ERR_INVALID"])
        let result = try run("serve", try config(blocklist: "plugin: \(plugin)"))
        #expect(result.status == 2)
        #expect(result.standardError.contains("\(plugin): create failed: PC_ERR_INVALID: the probe was told to refuse"))
    }

    @Test("revoke --sub exits 2 with a plugin that cannot revoke subjects")
    func revokeSubjectUnsupported() throws {
        let plugin = try ProbePlugin.build()
        let result = try run("revoke", try config(blocklist: "plugin: \(plugin)"), ["--sub", "alice"])
        #expect(result.status == 2)
        #expect(result.standardError.contains("cannot revoke subjects"))
    }

    @Test("revoke exits 1 for a token that does not verify, and never prints it")
    func revokeBadToken() throws {
        let plugin = try ProbePlugin.build()
        let forged = TokenFactory(secret: "another-secret-0123456789abcdef0123456789").token()
        let result = try run("revoke", try config(blocklist: "plugin: \(plugin)"), ["--token", forged])
        #expect(result.status == 1)
        #expect(!result.standardError.contains(forged) && !result.standardOutput.contains(forged))
    }

    @Test("revoke --jti with the SQLite plugin lands in the file a gateway then reads")
    func revokeJTIThenServe() async throws {
        let folder = try CPluginCompiler.temporaryDirectory("portcullis-sqlite")
        let blocklist = "plugin: sqlite\nconfig:\n  path: revoked.db"
        let path = try writeConfig(
            RevocationGateway.yaml(blocklist: blocklist).replacingOccurrences(of: "{{UPSTREAM}}", with: "http://127.0.0.1:9"),
            in: folder
        )
        let result = try run("revoke", path, ["--jti", "cli-jti", "--expires-at", "\(TokenFactory.now + 600)"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(FileManager.default.fileExists(atPath: "\(folder)/revoked.db"))
        try await RevocationGateway.with(blocklist: blocklist, directory: folder) { gateway, _ in
            let revoked = try await RevocationGateway.get(gateway, token: RevocationGateway.tokens.token(jti: "cli-jti"))
            let other = try await RevocationGateway.get(gateway, token: RevocationGateway.tokens.token(jti: "other"))
            #expect(revoked.status == 401)
            #expect(other.status == 200)
        }
    }
}
