import CPortcullisPlugin
import Dispatch
import Foundation
import Logging
import PortcullisTestSupport
import Testing

@testable import Portcullis

@Suite("Memory blocklist plugin")
struct MemoryPluginTests {
    static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    /// Opens the built plugin; its log lines go to `logger` (by default, nowhere visible).
    func open(_ config: String = "{}", logger: Logger = LogRecorder().logger()) throws -> BlocklistPlugin {
        try BlocklistPlugin.open(path: BuiltPlugins.path(of: "memory"), configJSON: config, logger: logger)
    }

    func token(_ jti: String, sub: String? = nil, iat: Int64? = nil, exp: Int64? = nil) -> RevocationToken {
        RevocationToken(jti: jti, subject: sub, issuedAt: iat, expiresAt: exp)
    }

    @Test("it is named memory, is thread-safe, non-blocking, with subjects and batches, and healthy")
    func descriptor() throws {
        let plugin = try open()
        defer { plugin.close() }
        #expect(plugin.name == "memory")
        #expect(plugin.capabilities == [.threadsafe, .nonblocking, .subject, .batch])
        #expect(throws: Never.self) { try plugin.health() }
    }

    @Test("a revoked jti is reported revoked and any other jti is not")
    func revokeThenCheck() throws {
        let plugin = try open()
        defer { plugin.close() }
        try plugin.revoke(token("a", exp: Self.now + 300))
        #expect(try plugin.isRevoked(token("a")))
        #expect(try !plugin.isRevoked(token("b")))
        #expect(try !plugin.isRevoked(token("a-longer")))
    }

    @Test("a batch answers every token in order")
    func batch() throws {
        let plugin = try open()
        defer { plugin.close() }
        try plugin.revoke(token("a", exp: Self.now + 300))
        try plugin.revoke(token("c", exp: Self.now + 300))
        let answers = try plugin.isRevoked(batch: [token("a"), token("b"), token("c"), token("d"), token("a")])
        #expect(answers == [true, false, true, false, true])
    }

    @Test("a subject revocation covers tokens issued at or before it and tokens without iat")
    func subject() throws {
        let plugin = try open()
        defer { plugin.close() }
        let at = Self.now
        try plugin.revokeSubject("alice", at: at, until: at + 300)
        #expect(try plugin.isRevoked(token("1", sub: "alice", iat: at - 60)))
        #expect(try plugin.isRevoked(token("2", sub: "alice", iat: at)))
        #expect(try !plugin.isRevoked(token("3", sub: "alice", iat: at + 1)))
        #expect(try plugin.isRevoked(token("4", sub: "alice")))
        #expect(try !plugin.isRevoked(token("5", sub: "bob", iat: at - 60)))
        #expect(try !plugin.isRevoked(token("6", iat: at - 60)))
    }

    @Test("a later subject revocation with a larger at replaces an earlier one, a smaller at does not")
    func subjectLaterWins() throws {
        let plugin = try open()
        defer { plugin.close() }
        let at = Self.now
        try plugin.revokeSubject("alice", at: at, until: at + 300)
        #expect(try !plugin.isRevoked(token("1", sub: "alice", iat: at + 10)))
        try plugin.revokeSubject("alice", at: at + 20, until: at + 300)
        #expect(try plugin.isRevoked(token("1", sub: "alice", iat: at + 10)))
        try plugin.revokeSubject("alice", at: at - 100, until: at + 300)
        #expect(try plugin.isRevoked(token("1", sub: "alice", iat: at + 10)))
    }

    @Test("a subject entry whose until has passed no longer revokes")
    func subjectUntilPassed() throws {
        let plugin = try open()
        defer { plugin.close() }
        try plugin.revokeSubject("carol", at: Self.now, until: Self.now - 1)
        #expect(try !plugin.isRevoked(token("1", sub: "carol")))
    }

    @Test("a jti revoked with an expiry in the past is not reported; one without expiry is")
    func expiry() throws {
        let plugin = try open()
        defer { plugin.close() }
        try plugin.revoke(token("old", exp: Self.now - 1))
        try plugin.revoke(token("ancient", exp: Self.now - 86_400))
        try plugin.revoke(token("forever"))
        #expect(try plugin.isRevoked(batch: [token("old"), token("ancient"), token("forever")]) == [false, false, true])
    }

    @Test("an empty jti or subject is refused as invalid")
    func emptyKeys() throws {
        let plugin = try open()
        defer { plugin.close() }
        let jti = #expect(throws: PluginCallError.self) { try plugin.revoke(token("", exp: Self.now + 300)) }
        #expect(jti?.status == PC_ERR_INVALID)
        #expect(jti?.message.contains("jti") == true)
        let subject = #expect(throws: PluginCallError.self) { try plugin.revokeSubject("", at: Self.now, until: Self.now + 1) }
        #expect(subject?.status == PC_ERR_INVALID)
    }

    @Test("the sweep frees expired entries every sweep_interval and says so at debug level")
    func sweep() async throws {
        let recorder = LogRecorder()
        let plugin = try open(#"{"sweep_interval": 1}"#, logger: recorder.logger(level: .debug))
        defer { plugin.close() }
        try plugin.revoke(token("short", exp: Self.now + 1))
        try plugin.revoke(token("long", exp: Self.now + 300))
        let deadline = ContinuousClock.now + .seconds(10)
        while !recorder.messages.contains(where: { $0.contains("swept") }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let swept = recorder.recorded.filter { $0.message.contains("swept") }
        #expect(swept.count == 1)
        #expect(swept.first?.level == .debug)
        #expect(swept.first?.message.contains("swept 1 expired jti entries and 0 subject entries") == true)
        #expect(try plugin.isRevoked(batch: [token("short"), token("long")]) == [false, true])
    }

    @Test("when max_entries is reached the entry expiring soonest is dropped, with one warning")
    func eviction() throws {
        let recorder = LogRecorder()
        let plugin = try open(#"{"max_entries": 3}"#, logger: recorder.logger(level: .info))
        defer { plugin.close() }
        let now = Self.now
        try plugin.revoke(token("a", exp: now + 300))
        try plugin.revoke(token("b", exp: now + 100))
        try plugin.revoke(token("c", exp: now + 200))
        #expect(!recorder.messages.contains(where: { $0.contains("max_entries") }))
        try plugin.revoke(token("d", exp: now + 400))
        #expect(try plugin.isRevoked(batch: [token("a"), token("b"), token("c"), token("d")]) == [true, false, true, true])
        let warnings = recorder.recorded.filter { $0.message.contains("max_entries 3") }
        #expect(warnings.count == 1)
        #expect(warnings.first?.level == .warning)
        #expect(warnings.first?.message.contains("dropped 1 revocation") == true)

        // A table that keeps overflowing does not write a warning per revocation.
        try plugin.revoke(token("e", exp: now + 500))
        try plugin.revoke(token("f", exp: now + 600))
        #expect(try plugin.isRevoked(batch: [token("a"), token("c"), token("d"), token("e"), token("f")])
            == [false, false, true, true, true])
        #expect(recorder.messages.filter { $0.contains("max_entries 3") }.count == 1)
    }

    @Test("revoking a jti again keeps the later expiry", arguments: [(300, 400), (300, 100)])
    func revokeAgain(first: Int64, second: Int64) throws {
        // Observed through eviction: with room for two, the entry expiring soonest goes.
        let plugin = try open(#"{"max_entries": 2}"#)
        defer { plugin.close() }
        let now = Self.now
        try plugin.revoke(token("a", exp: now + first))
        try plugin.revoke(token("b", exp: now + 200))
        try plugin.revoke(token("a", exp: now + second))
        try plugin.revoke(token("c", exp: now + 1000))
        #expect(try plugin.isRevoked(batch: [token("a"), token("b"), token("c")]) == [true, false, true])
    }

    @Test(
        "a bad config is refused with the plugin's reason",
        arguments: [
            (#"{"max_entrys": 5}"#, "unknown config key 'max_entrys'"),
            (#"{"max_entries": 0}"#, "'max_entries' must be an integer"),
            (#"{"max_entries": 2.5}"#, "'max_entries' must be an integer"),
            (#"{"sweep_interval": "soon"}"#, "'sweep_interval' must be an integer"),
            (#"{"sweep_interval": 0}"#, "'sweep_interval' must be an integer"),
        ]
    )
    func badConfig(config: String, reason: String) {
        let error = #expect(throws: PluginLoadError.self) { try open(config) }
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
    }

    @Test("eight threads revoking and checking overlapping jtis lose no revocation")
    func concurrency() throws {
        let plugin = try open()
        defer { plugin.close() }
        let exp = Self.now + 3600
        let outcome = Outcome()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            var revoked: Set<String> = []
            var failures = 0  // calls that threw or answered wrongly
            for op in 0..<3000 {
                let jti = "jti-\((op * 7 + worker * 13) % 1000)"
                do {
                    switch op % 4 {
                    case 0:
                        try plugin.revoke(token(jti, sub: "user-\(worker)", exp: exp))
                        revoked.insert(jti)
                    case 1:
                        // Never revoked: issued after the subject entries (at 0), a jti nobody revokes.
                        let answers = try plugin.isRevoked(batch: [token(jti), token("other-\(op)", sub: "user-\(worker)", iat: 1)])
                        if answers[1] { failures += 1 }
                    case 2 where op % 100 == 2:
                        try plugin.revokeSubject("user-\(worker)", at: 0, until: exp)
                    default:
                        _ = try plugin.isRevoked(token(jti, sub: "user-\(worker)", iat: 1))
                    }
                } catch {
                    failures += 1
                }
            }
            outcome.add(revoked: revoked, failures: failures)
        }
        let (revoked, failures) = outcome.result
        #expect(failures == 0)
        #expect(revoked.count == 1000)
        let tokens = revoked.sorted().map { token($0) }
        #expect(try plugin.isRevoked(batch: tokens).allSatisfy { $0 })
        for jti in revoked.prefix(50) { #expect(try plugin.isRevoked(token(jti))) }
    }
}

/// What the workers of the concurrency test gathered; NSLock-guarded, so @unchecked Sendable is safe.
private final class Outcome: @unchecked Sendable {
    private let lock = NSLock()
    private var revoked: Set<String> = []
    private var failures = 0

    func add(revoked jtis: Set<String>, failures failed: Int) {
        lock.withLock {
            revoked.formUnion(jtis)
            failures += failed
        }
    }

    var result: (Set<String>, Int) { lock.withLock { (revoked, failures) } }
}
