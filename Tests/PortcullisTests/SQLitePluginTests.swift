import CPortcullisPlugin
import Foundation
import Logging
import PortcullisTestSupport
import Testing

@testable import Portcullis

/// The built `libportcullis_sqlite.so`, through the real plugin host, on SQLite files in a
/// fresh folder per test.
@Suite("SQLite blocklist plugin")
struct SQLitePluginTests {
    let now = Int64(Date().timeIntervalSince1970)

    @Test("reports its name and the threadsafe, subject and batch capabilities")
    func descriptor() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let plugin = try SQLiteFixture.open(folder)
        defer { plugin.close() }
        #expect(plugin.name == "sqlite")
        #expect(plugin.capabilities == [.threadsafe, .subject, .batch])
        try plugin.health()
    }

    @Test("a revoked jti is revoked until its expiry, and other jtis are not")
    func revokeAndCheck() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let plugin = try SQLiteFixture.open(folder)
        defer { plugin.close() }
        #expect(try plugin.isRevoked(RevocationToken(jti: "a")) == false)
        try plugin.revoke(RevocationToken(jti: "a", subject: "alice", issuedAt: now, expiresAt: now + 3600))
        try plugin.revoke(RevocationToken(jti: "a", expiresAt: now + 60))  // again: still PC_OK, expiry kept
        try plugin.revoke(RevocationToken(jti: "forever"))
        try plugin.revoke(RevocationToken(jti: "expired", expiresAt: now - 1))
        #expect(try plugin.isRevoked(RevocationToken(jti: "a")) == true)
        #expect(try plugin.isRevoked(RevocationToken(jti: "forever")) == true)
        #expect(try plugin.isRevoked(RevocationToken(jti: "expired")) == false)
        #expect(try plugin.isRevoked(RevocationToken(jti: "b")) == false)
        #expect(try plugin.isRevoked(RevocationToken(jti: "A")) == false)
    }

    @Test("revoking an empty jti is refused as invalid")
    func emptyJTI() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let plugin = try SQLiteFixture.open(folder)
        defer { plugin.close() }
        let error = #expect(throws: PluginCallError.self) { try plugin.revoke(RevocationToken(jti: "")) }
        #expect(error?.status == PC_ERR_INVALID)
    }

    @Test("a batch answers each token in order, jti and subject entries alike")
    func batch() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let plugin = try SQLiteFixture.open(folder)
        defer { plugin.close() }
        try plugin.revoke(RevocationToken(jti: "r1", expiresAt: now + 600))
        try plugin.revoke(RevocationToken(jti: "r2", expiresAt: now + 600))
        try plugin.revokeSubject("mallory", at: now, until: now + 600)
        let tokens = [
            RevocationToken(jti: "r1"), RevocationToken(jti: "x1"), RevocationToken(jti: "r2"),
            RevocationToken(jti: "x2", subject: "mallory", issuedAt: now - 5),
            RevocationToken(jti: "x3", subject: "mallory", issuedAt: now + 5),
            RevocationToken(jti: "x4", subject: "bob", issuedAt: now - 5),
        ]
        #expect(try plugin.isRevoked(batch: tokens) == [true, false, true, true, false, false])
    }

    @Test("a subject entry revokes the subject's tokens issued at or before it, until it expires")
    func subjects() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let plugin = try SQLiteFixture.open(folder)
        defer { plugin.close() }
        try plugin.revokeSubject("alice", at: now, until: now + 3600)
        func revoked(_ subject: String?, issuedAt: Int64?) throws -> Bool {
            try plugin.isRevoked(RevocationToken(jti: UUID().uuidString, subject: subject, issuedAt: issuedAt))
        }
        #expect(try revoked("alice", issuedAt: now - 60) == true)
        #expect(try revoked("alice", issuedAt: now) == true)
        #expect(try revoked("alice", issuedAt: now + 1) == false)
        #expect(try revoked("alice", issuedAt: nil) == true)  // no iat: issued before
        #expect(try revoked("bob", issuedAt: now - 60) == false)
        #expect(try revoked(nil, issuedAt: now - 60) == false)

        try plugin.revokeSubject("alice", at: now - 600, until: now + 60)  // earlier: does not narrow
        #expect(try revoked("alice", issuedAt: now - 60) == true)
        try plugin.revokeSubject("alice", at: now + 100, until: now + 3600)  // later: replaces
        #expect(try revoked("alice", issuedAt: now + 50) == true)

        try plugin.revokeSubject("carol", at: now, until: now - 1)  // already expired
        #expect(try revoked("carol", issuedAt: now - 60) == false)
        let error = #expect(throws: PluginCallError.self) { try plugin.revokeSubject("", at: now, until: now + 1) }
        #expect(error?.status == PC_ERR_INVALID)
    }

    @Test("a relative path is resolved against config_dir and the file is created in WAL mode")
    func relativePathAndWAL() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try FileManager.default.createDirectory(atPath: folder.path + "/data", withIntermediateDirectories: true)
        let plugin = try SQLiteFixture.open(folder, ["path": "data/revoked.db"])
        try plugin.revoke(RevocationToken(jti: "a", expiresAt: now + 60))
        let database = folder.path + "/data/revoked.db"
        #expect(FileManager.default.fileExists(atPath: database))
        #expect(FileManager.default.fileExists(atPath: database + "-wal"))
        plugin.close()
        // Header bytes 18 and 19 (file format write/read versions) are 2 in WAL mode; they
        // stay so after the last connection closes.
        let header = try #require(FileManager.default.contents(atPath: database)?.prefix(100))
        #expect(header.starts(with: Array("SQLite format 3\0".utf8)))
        #expect(Array(header[18...19]) == [2, 2])
    }

    @Test("revocations survive closing and reopening the database")
    func survivesRestart() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let first = try SQLiteFixture.open(folder)
        try first.revoke(RevocationToken(jti: "kept", expiresAt: now + 3600))
        try first.revokeSubject("alice", at: now, until: now + 3600)
        first.close()

        let second = try SQLiteFixture.open(folder)
        defer { second.close() }
        #expect(try second.isRevoked(RevocationToken(jti: "kept")) == true)
        #expect(try second.isRevoked(RevocationToken(jti: "x", subject: "alice", issuedAt: now - 1)) == true)
        #expect(try second.isRevoked(RevocationToken(jti: "other")) == false)
    }

    @Test("expired rows are deleted by the sweeper, and live ones are kept")
    func sweep() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        // The sweep is not visible through the ABI (expired rows already read as not
        // revoked), so the test waits for the sweeper's own debug line through the host.
        let recorder = LogRecorder()
        let plugin = try SQLiteFixture.open(folder, ["sweep_interval": 1], logger: recorder.logger(level: .debug))
        defer { plugin.close() }
        try plugin.revoke(RevocationToken(jti: "old-1", expiresAt: now - 10))
        try plugin.revoke(RevocationToken(jti: "old-2", expiresAt: now - 10))
        try plugin.revoke(RevocationToken(jti: "live", expiresAt: now + 3600))
        try plugin.revokeSubject("gone", at: now - 20, until: now - 10)

        let deadline = ContinuousClock.now + .seconds(5)
        while sweptCounts(of: "expired revocations", in: recorder.messages).reduce(0, +) < 2
            || sweptCounts(of: "expired subject entries", in: recorder.messages).isEmpty
        {
            try #require(ContinuousClock.now < deadline, "no sweep logged within 5 s: \(recorder.messages)")
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(sweptCounts(of: "expired revocations", in: recorder.messages).reduce(0, +) == 2)
        #expect(sweptCounts(of: "expired subject entries", in: recorder.messages) == [1])
        #expect(try plugin.isRevoked(RevocationToken(jti: "live")) == true)
    }

    @Test("a database with a newer schema version is refused and left untouched")
    func newerSchema() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let database = folder.path + "/revoked.db"
        try SQLiteFixture.open(folder).close()
        try SQLiteFixture.setUserVersion(99, of: database)

        let error = #expect(throws: PluginLoadError.self) { try SQLiteFixture.open(folder) }
        #expect(error?.reason.contains("database schema version 99 is newer than this plugin (1)") == true)
        #expect(error?.reason.contains(database) == true)
        let header = try #require(FileManager.default.contents(atPath: database))
        #expect(Array(header[60..<64]) == [0, 0, 0, 99])
    }

    @Test("concurrent revokes and checks from 8 threads all see their own revocations")
    func concurrency() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let plugin = try SQLiteFixture.open(folder)
        defer { plugin.close() }
        let failures = FailureList()
        let expiry = now + 600
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            do {
                for n in 0..<40 {
                    let mine = RevocationToken(jti: "t\(thread)-\(n)", expiresAt: expiry)
                    try plugin.revoke(mine)
                    let verdicts = try plugin.isRevoked(batch: [mine, RevocationToken(jti: "u\(thread)-\(n)")])
                    if try !plugin.isRevoked(mine) || verdicts != [true, false] {
                        failures.record("thread \(thread) token \(n): \(verdicts)")
                    }
                }
            } catch {
                failures.record("thread \(thread): \(error)")
            }
        }
        #expect(failures.all == [])
        let all = (0..<8).flatMap { thread in (0..<40).map { RevocationToken(jti: "t\(thread)-\($0)") } }
        #expect(try plugin.isRevoked(batch: all) == Array(repeating: true, count: all.count))
    }

    @Test("an unknown config key is refused, naming the key")
    func unknownKey() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let error = #expect(throws: PluginLoadError.self) { try SQLiteFixture.open(folder, ["paht": "x.db"]) }
        #expect(error?.reason.contains("unknown config key 'paht'") == true)
        #expect(error?.path == BuiltPlugins.path(of: "sqlite"))
    }

    @Test("a database in a missing folder is refused with a message naming the path")
    func missingFolder() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let error = #expect(throws: PluginLoadError.self) {
            try SQLiteFixture.open(folder, ["path": "nowhere/revoked.db"])
        }
        #expect(error?.reason.contains(folder.path + "/nowhere/revoked.db") == true)
        #expect(error?.reason.contains("does not exist") == true)
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/nowhere"))
    }
}

private enum SQLiteFixture {
    /// Opens the sqlite plugin with `config` plus `config_dir` = the folder.
    static func open(
        _ folder: TemporaryFolder, _ config: [String: any Sendable] = [:],
        logger: Logger = Logger(label: "sqlite-test", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws(PluginLoadError) -> BlocklistPlugin {
        var object: [String: Any] = ["config_dir": folder.path]
        for (key, value) in config { object[key] = value }
        // JSONSerialization escapes "/" as "\/": the plugin's reader must cope, as with any host.
        let json = String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)  // plain values
        return try BlocklistPlugin.open(path: BuiltPlugins.path(of: "sqlite"), configJSON: json, logger: logger)
    }

    /// Writes PRAGMA user_version (a big-endian 32-bit integer at offset 60 of the header).
    static func setUserVersion(_ version: UInt32, of database: String) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: database))
        defer { try? handle.close() }
        try handle.seek(toOffset: 60)
        try handle.write(contentsOf: withUnsafeBytes(of: version.bigEndian) { Data($0) })
    }
}

/// "swept N <what>" lines from the sqlite plugin's sweeper: every N.
private func sweptCounts(of what: String, in messages: [String]) -> [Int] {
    messages.compactMap { message in
        guard let range = message.range(of: "swept "), message.hasSuffix(" " + what) else { return nil }
        return Int(message[range.upperBound...].prefix { $0.isNumber })
    }
}

/// Problems reported from several threads.
private final class FailureList: @unchecked Sendable {  // every access to `lines` holds `lock`
    private let lock = NSLock()
    private var lines: [String] = []

    var all: [String] { lock.withLock { lines } }

    func record(_ line: String) {
        lock.withLock { lines.append(line) }
    }
}
