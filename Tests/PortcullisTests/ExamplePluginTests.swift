import CPortcullisPlugin
import Foundation
import Logging
import PortcullisTestSupport
import Testing

@testable import Portcullis

/// Examples/plugins/file_denylist.c, built inside the test with the flags its README gives
/// (so the test fails when the example stops compiling cleanly), then loaded through the real
/// plugin host.
@Suite("Example plugin")
struct ExamplePluginTests {
    @Test("the example builds with the documented cc command and revokes by appending to its file")
    func revokeAppends() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let plugin = try ExamplePlugin.open(folder)
        defer { plugin.close() }
        #expect(plugin.name == "file_denylist")
        #expect(plugin.capabilities == [.threadsafe, .subject])
        try plugin.health()

        #expect(try plugin.isRevoked(RevocationToken(jti: "a")) == false)
        try plugin.revoke(RevocationToken(jti: "a", expiresAt: 2_000_000_000))
        #expect(try plugin.isRevoked(RevocationToken(jti: "a")) == true)  // at once, not within a second
        #expect(try plugin.isRevoked(RevocationToken(jti: "b")) == false)
        try plugin.revokeSubject("alice", at: 1000, until: 2000)
        #expect(try String(contentsOfFile: folder.path + "/denylist.txt", encoding: .utf8) == "a\nsub:alice 1000\n")

        let error = #expect(throws: PluginCallError.self) { try plugin.revoke(RevocationToken(jti: "# not a jti")) }
        #expect(error?.status == PC_ERR_INVALID)
    }

    @Test("edits made to the file while the plugin runs are picked up within about a second")
    func reloadsEditedFile() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write("denylist.txt", "# revoked by hand\nx\n")
        let plugin = try ExamplePlugin.open(folder)
        defer { plugin.close() }
        #expect(try plugin.isRevoked(RevocationToken(jti: "x")) == true)

        try folder.write("denylist.txt", "  y  \n")  // x removed, y added (spaces are trimmed)
        let deadline = ContinuousClock.now + .seconds(5)
        while try plugin.isRevoked(RevocationToken(jti: "y")) == false {
            try #require(ContinuousClock.now < deadline, "the edited file was not reloaded within 5 s")
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try plugin.isRevoked(RevocationToken(jti: "x")) == false)
    }

    @Test("subject lines revoke the subject's tokens issued at or before their time, or all without one")
    func subjectLines() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write("denylist.txt", "sub:alice\nsub:bob 1000\nsub:bob 500\n# sub:carol\n")
        let plugin = try ExamplePlugin.open(folder)
        defer { plugin.close() }
        func revoked(_ subject: String, issuedAt: Int64?) throws -> Bool {
            try plugin.isRevoked(RevocationToken(jti: "j", subject: subject, issuedAt: issuedAt))
        }
        #expect(try revoked("alice", issuedAt: 4_000_000_000) == true)
        #expect(try revoked("bob", issuedAt: 1000) == true)  // the widest bob line counts
        #expect(try revoked("bob", issuedAt: 1001) == false)
        #expect(try revoked("bob", issuedAt: nil) == true)
        #expect(try revoked("carol", issuedAt: 1) == false)
        #expect(try plugin.isRevoked(RevocationToken(jti: "alice")) == false)  // a subject is not a jti
    }

    @Test("an unknown config key is refused, naming the key")
    func unknownKey() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let error = #expect(throws: PluginLoadError.self) { try ExamplePlugin.open(folder, extra: ["file": "x"]) }
        #expect(error?.reason.contains("unknown config key 'file'") == true)
    }

    @Test("the ABI header compiles as C99 and as C++")
    func headerCompiles() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let source = try folder.write(
            "uses_header.c",
            """
            #include "portcullis_plugin.h"
            int main(void) {
                pc_blocklist_plugin_entry_fn entry = 0;
                pc_token token = {{0, 0}, {0, 0}, 0, 0};
                pc_blocklist_plugin descriptor = {0, 0, sizeof(pc_blocklist_plugin), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
                return entry == 0 && token.iat == 0 && descriptor.struct_size > 0 ? PC_OK : PC_ERR_INTERNAL;
            }

            """)
        let include = "-I" + CPluginCompiler.headerDirectory
        // Both throw with the compiler's output on any warning (-Werror).
        let strict = ["-pedantic", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", include]
        try CPluginCompiler.run("cc", ["-std=c99"] + strict + [source])
        try CPluginCompiler.run("c++", ["-std=c++11", "-x", "c++"] + strict + [source])
    }
}

private enum ExamplePlugin {
    static let source = CPluginCompiler.repositoryRoot.appendingPathComponent("Examples/plugins/file_denylist.c").path

    /// Builds the example into `folder` with the README's flags (any warning fails the build)
    /// and opens it with `{"path": "denylist.txt", "config_dir": folder}` plus `extra`.
    static func open(_ folder: TemporaryFolder, extra: [String: String] = [:]) throws -> BlocklistPlugin {
        let library = try CPluginCompiler.compile(
            sourceFile: source, output: folder.path + "/libfile_denylist.so",
            flags: ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror"])
        var config = ["path": "denylist.txt", "config_dir": folder.path]
        config.merge(extra) { $1 }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
        let logger = Logger(label: "example-plugin-test", factory: { _ in SwiftLogNoOpLogHandler() })
        return try BlocklistPlugin.open(path: library, configJSON: json, logger: logger)
    }
}
