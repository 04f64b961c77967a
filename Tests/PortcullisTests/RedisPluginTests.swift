import CPortcullisPlugin
import Dispatch
import Foundation
import Logging
import PortcullisTestSupport
import Testing

@testable import Portcullis

@Suite("Redis blocklist plugin")
struct RedisPluginTests {
    private static let path = BuiltPlugins.path(of: "redis")

    private var now: Int64 { Int64(Date().timeIntervalSince1970) }

    private func open(_ config: [String: Any], logs: LogRecorder = LogRecorder()) throws -> BlocklistPlugin {
        try BlocklistPlugin.open(path: Self.path, configJSON: json(config), logger: logs.logger())
    }

    private func open(_ server: RedisServer, _ extra: [String: Any] = [:]) throws -> BlocklistPlugin {
        try open(extra.merging(["url": server.url]) { mine, _ in mine })
    }

    private func json(_ object: [String: Any]) -> String {
        // JSONSerialization only fails on non-JSON values, which these tests never pass.
        String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    /// Runs `body` until it returns true or `timeout` passes.
    private func eventually(within timeout: Duration = .seconds(10), _ body: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if body() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return body()
    }

    /// The PluginCallError `body` throws; nil when it succeeds (or throws anything else).
    private func callError(_ body: () throws -> Void) -> PluginCallError? {
        do {
            try body()
            return nil
        } catch {
            return error as? PluginCallError
        }
    }

    private func loadError(_ config: [String: Any]) -> PluginLoadError? {
        do throws(PluginLoadError) {
            _ = try BlocklistPlugin.open(path: Self.path, configJSON: json(config), logger: LogRecorder().logger())
            return nil
        } catch {
            return error
        }
    }

    // MARK: Basics

    @Test("the descriptor names redis and declares threadsafe, subject and batch, not nonblocking")
    func descriptor() throws {
        let server = try RedisServer()
        let plugin = try open(server)
        defer { plugin.close() }
        #expect(plugin.name == "redis")
        #expect(!plugin.version.isEmpty)
        #expect(plugin.capabilities == [.threadsafe, .subject, .batch])
        try plugin.health()
    }

    @Test("a revoked jti is revoked for every later check and another jti is not")
    func revokeAndCheck() throws {
        let server = try RedisServer()
        let plugin = try open(server)
        defer { plugin.close() }
        try plugin.revoke(RevocationToken(jti: "j-1", subject: "alice", issuedAt: now - 5, expiresAt: now + 300))
        #expect(try plugin.isRevoked(RevocationToken(jti: "j-1", subject: "alice", issuedAt: now - 5, expiresAt: now + 300)))
        #expect(try plugin.isRevoked(RevocationToken(jti: "j-1")))
        #expect(try !plugin.isRevoked(RevocationToken(jti: "j-2", subject: "alice", issuedAt: now - 5)))
        try plugin.revoke(RevocationToken(jti: "j-1", expiresAt: now + 300))  // again: still fine
    }

    @Test("a batch answers every token in order, jti and subject revocations mixed")
    func batch() throws {
        let server = try RedisServer()
        let plugin = try open(server)
        defer { plugin.close() }
        let at = now
        try plugin.revoke(RevocationToken(jti: "b-2", expiresAt: at + 300))
        try plugin.revokeSubject("bob", at: at, until: at + 600)
        let tokens = [
            RevocationToken(jti: "b-1", subject: "carol", issuedAt: at - 10),
            RevocationToken(jti: "b-2"),
            RevocationToken(jti: "b-3", subject: "bob", issuedAt: at - 10),
            RevocationToken(jti: "b-4", subject: "bob", issuedAt: at + 10),
            RevocationToken(jti: "b-5"),
            RevocationToken(jti: "b-2", subject: "bob", issuedAt: at + 10),
        ]
        #expect(try plugin.isRevoked(batch: tokens) == [false, true, true, false, false, true])
        #expect(try plugin.isRevoked(batch: []) == [])
    }

    @Test("a subject revocation covers tokens issued at or before it and tokens without iat")
    func subjectSemantics() throws {
        let server = try RedisServer()
        let plugin = try open(server)
        defer { plugin.close() }
        let at = now
        try plugin.revokeSubject("dave", at: at, until: at + 600)
        #expect(try plugin.isRevoked(RevocationToken(jti: "s-1", subject: "dave", issuedAt: at - 1)))
        #expect(try plugin.isRevoked(RevocationToken(jti: "s-2", subject: "dave", issuedAt: at)))
        #expect(try !plugin.isRevoked(RevocationToken(jti: "s-3", subject: "dave", issuedAt: at + 1)))
        #expect(try plugin.isRevoked(RevocationToken(jti: "s-4", subject: "dave")))
        #expect(try !plugin.isRevoked(RevocationToken(jti: "s-5", subject: "erin")))
        #expect(try !plugin.isRevoked(RevocationToken(jti: "s-6")))
    }

    @Test("a later subject revocation wins; an earlier one neither lowers it nor shortens its expiry")
    func subjectMaximum() throws {
        let server = try RedisServer()
        let plugin = try open(server)
        defer { plugin.close() }
        let at = now
        try plugin.revokeSubject("frank", at: at, until: at + 600)
        try plugin.revokeSubject("frank", at: at - 100, until: at + 60)
        #expect(try server.command(["GET", "portcullis:sub:frank"]) == "\(at)")
        #expect(try server.command(["EXPIRETIME", "portcullis:sub:frank"]) == "\(at + 600)")
        try plugin.revokeSubject("frank", at: at + 50, until: at + 900)
        #expect(try server.command(["GET", "portcullis:sub:frank"]) == "\(at + 50)")
        #expect(try server.command(["EXPIRETIME", "portcullis:sub:frank"]) == "\(at + 900)")
        #expect(try !plugin.isRevoked(RevocationToken(jti: "f-1", subject: "frank", issuedAt: at + 51)))
        #expect(try plugin.isRevoked(RevocationToken(jti: "f-2", subject: "frank", issuedAt: at + 50)))
    }

    // MARK: Keys

    @Test("keys expire when the token and the subject entry may be forgotten")
    func keyExpiry() throws {
        let server = try RedisServer()
        let plugin = try open(server)
        defer { plugin.close() }
        let expiresAt = now + 300
        try plugin.revoke(RevocationToken(jti: "ttl-1", expiresAt: expiresAt))
        let ttl = try #require(Int(try server.command(["TTL", "portcullis:jti:ttl-1"])))
        #expect((295...300).contains(ttl))
        #expect(try server.command(["EXPIRETIME", "portcullis:jti:ttl-1"]) == "\(expiresAt)")
        #expect(try server.command(["GET", "portcullis:jti:ttl-1"]) == "1")

        let until = now + 900
        try plugin.revokeSubject("grace", at: now, until: until)
        #expect(try server.command(["EXPIRETIME", "portcullis:sub:grace"]) == "\(until)")

        try plugin.revoke(RevocationToken(jti: "ttl-no-exp", expiresAt: .max))  // a token without exp
        #expect(try server.command(["TTL", "portcullis:jti:ttl-no-exp"]) == "-1")
        try plugin.revoke(RevocationToken(jti: "ttl-unknown"))
        #expect(try server.command(["TTL", "portcullis:jti:ttl-unknown"]) == "-1")
        try plugin.revoke(RevocationToken(jti: "ttl-far", expiresAt: 300_000_000_000))
        #expect(try server.command(["EXPIRETIME", "portcullis:jti:ttl-far"]) == "253402300799")
    }

    @Test("a token that has already expired is not written at all")
    func expiredNotWritten() throws {
        let server = try RedisServer()
        let plugin = try open(server)
        defer { plugin.close() }
        try plugin.revoke(RevocationToken(jti: "old", expiresAt: now - 10))
        try plugin.revokeSubject("old-sub", at: now - 100, until: now - 10)
        #expect(try server.command(["DBSIZE"]) == "0")
    }

    @Test("key_prefix names every key")
    func keyPrefix() throws {
        let server = try RedisServer()
        let plugin = try open(server, ["key_prefix": "gw-a/"])
        defer { plugin.close() }
        try plugin.revoke(RevocationToken(jti: "p-1", expiresAt: now + 60))
        try plugin.revokeSubject("henry", at: now, until: now + 60)
        #expect(try server.command(["KEYS", "*"]).split(separator: "\n").sorted() == ["gw-a/jti:p-1", "gw-a/sub:henry"])
        let other = try open(server)
        defer { other.close() }
        #expect(try !other.isRevoked(RevocationToken(jti: "p-1")))
    }

    @Test("jti and sub are sent byte for byte, never as command text")
    func binarySafeKeys() throws {
        let server = try RedisServer()
        let plugin = try open(server)
        defer { plugin.close() }
        let jti = "a b\r\n*1\r\n$4\r\nFLUSHALL\r\n\"é😀"
        let sub = "user %s %n\r\n"
        try plugin.revoke(RevocationToken(jti: jti, expiresAt: now + 60))
        try plugin.revokeSubject(sub, at: now, until: now + 60)
        #expect(try server.command(["EXISTS", "portcullis:jti:\(jti)"]) == "1")
        #expect(try server.command(["EXISTS", "portcullis:sub:\(sub)"]) == "1")
        #expect(try plugin.isRevoked(RevocationToken(jti: jti)))
        #expect(try !plugin.isRevoked(RevocationToken(jti: "a b")))
        #expect(try plugin.isRevoked(RevocationToken(jti: "x", subject: sub, issuedAt: now - 1)))
    }

    // MARK: URL forms

    @Test("a password in the url authenticates; a wrong one fails without the password in any message")
    func password() throws {
        let server = try RedisServer(password: "correct-horse")
        let plugin = try open(["url": server.url])
        defer { plugin.close() }
        try plugin.health()
        try plugin.revoke(RevocationToken(jti: "pw-1", expiresAt: now + 60))
        #expect(try plugin.isRevoked(RevocationToken(jti: "pw-1")))

        let logs = LogRecorder()
        let wrong = try open(["url": server.url(database: 0, password: "wrong-battery")], logs: logs)
        defer { wrong.close() }
        let health = try #require(callError { try wrong.health() })
        let check = try #require(callError { _ = try wrong.isRevoked(RevocationToken(jti: "pw-1")) })
        for error in [health, check] {
            #expect(error.status == PC_ERR_UNAVAILABLE)
            #expect(error.message.contains("127.0.0.1:\(server.port)"))
            #expect(error.message.contains("AUTH"))
        }
        for text in [health.message, check.message, logs.fullText] {
            #expect(!text.contains("wrong-battery"))
            #expect(!text.contains("correct-horse"))
        }
        #expect(!logs.messages.isEmpty)
    }

    @Test("a user name and password in the url authenticate with AUTH user password")
    func userAndPassword() throws {
        let server = try RedisServer()
        #expect(try server.command(["ACL", "SETUSER", "gateway", "on", ">s3cret", "~*", "+@all"]) == "OK")
        let url = "redis://gateway:s3cret@127.0.0.1:\(server.port)/0"
        let plugin = try open(["url": url])
        defer { plugin.close() }
        try plugin.health()
        #expect(try server.command(["CLIENT", "LIST"]).contains("user=gateway"))
    }

    @Test("the database number in the url selects where keys land")
    func database() throws {
        let server = try RedisServer()
        let plugin = try open(["url": server.url(database: 3)])
        defer { plugin.close() }
        try plugin.revoke(RevocationToken(jti: "db-1", expiresAt: now + 60))
        #expect(try server.command(["EXISTS", "portcullis:jti:db-1"], database: 3) == "1")
        #expect(try server.command(["EXISTS", "portcullis:jti:db-1"]) == "0")
        #expect(try plugin.isRevoked(RevocationToken(jti: "db-1")))
    }

    @Test("a unix:// url connects over the socket")
    func unixSocket() throws {
        let server = try RedisServer(unixSocket: true)
        let socket = try #require(server.unixSocketPath)
        let plugin = try open(["url": "unix://\(socket)?db=2"])
        defer { plugin.close() }
        try plugin.health()
        try plugin.revoke(RevocationToken(jti: "u-1", expiresAt: now + 60))
        #expect(try server.command(["EXISTS", "portcullis:jti:u-1"], database: 2) == "1")
    }

    // MARK: Sharing and outages

    @Test("two instances on one Redis, like two gateways, see each other's revocations at once")
    func twoGateways() throws {
        let server = try RedisServer()
        let first = try open(server)
        let second = try open(server)
        defer {
            first.close()
            second.close()
        }
        try first.revoke(RevocationToken(jti: "shared", expiresAt: now + 60))
        #expect(try second.isRevoked(RevocationToken(jti: "shared")))
        try second.revokeSubject("ivan", at: now, until: now + 60)
        #expect(try first.isRevoked(RevocationToken(jti: "any", subject: "ivan", issuedAt: now - 1)))
    }

    @Test("with Redis stopped calls fail fast as unavailable, and succeed again once it is back")
    func outageAndRecovery() throws {
        let server = try RedisServer()
        let plugin = try open(server)
        defer { plugin.close() }
        let token = RevocationToken(jti: "o-1", expiresAt: now + 60)
        try plugin.revoke(token)
        server.stop()
        for _ in 0..<3 {
            let started = ContinuousClock.now
            let error = try #require(callError { _ = try plugin.isRevoked(token) })
            #expect(ContinuousClock.now - started < .milliseconds(500))
            #expect(error.status == PC_ERR_UNAVAILABLE)
            #expect(error.message.contains("127.0.0.1:\(server.port)"))
        }
        #expect(callError { try plugin.health() }?.status == PC_ERR_UNAVAILABLE)
        try server.start()
        #expect(eventually { (try? plugin.isRevoked(token)) == false })  // the restarted Redis is empty
        try plugin.revoke(token)
        #expect(try plugin.isRevoked(token))
        try plugin.health()
    }

    @Test("create succeeds while Redis is down; health names host and port until it comes up")
    func createWhileDown() throws {
        let server = try RedisServer()
        server.stop()
        let logs = LogRecorder()
        let plugin = try open(["url": server.url], logs: logs)
        defer { plugin.close() }
        let error = try #require(callError { try plugin.health() })
        #expect(error.status == PC_ERR_UNAVAILABLE)
        #expect(error.message.contains("127.0.0.1:\(server.port)"))
        #expect(logs.recorded.contains { $0.level == .warning && $0.message.contains("127.0.0.1:\(server.port)") })
        try server.start()
        #expect(eventually { (try? plugin.health()) != nil })
        #expect(try !plugin.isRevoked(RevocationToken(jti: "late")))
    }

    @Test("a Redis that does not answer within command_timeout_ms gives a timeout")
    func commandTimeout() throws {
        let server = try RedisServer()
        let plugin = try open(server, ["pool_size": 1, "command_timeout_ms": 150])
        defer { plugin.close() }
        try plugin.health()
        server.freeze()
        let started = ContinuousClock.now
        let error = callError { _ = try plugin.isRevoked(RevocationToken(jti: "t-1")) }
        let elapsed = ContinuousClock.now - started
        server.thaw()
        #expect(error?.status == PC_ERR_TIMEOUT)
        #expect(error?.message.contains("no answer within 150 ms") == true)
        #expect(elapsed >= .milliseconds(140) && elapsed < .milliseconds(900))
        #expect(try !plugin.isRevoked(RevocationToken(jti: "t-1")))
    }

    @Test("many threads share a small pool without errors")
    func concurrentCalls() throws {
        let server = try RedisServer()
        let plugin = try open(server, ["pool_size": 2])
        defer { plugin.close() }
        try plugin.revoke(RevocationToken(jti: "c-0", expiresAt: now + 60))
        let failures = LogRecorder()
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for index in 0..<50 {
                do {
                    let revoked = try plugin.isRevoked(RevocationToken(jti: "c-\((thread + index) % 4)"))
                    if revoked != ((thread + index) % 4 == 0) { failures.logger().error("wrong verdict") }
                } catch {
                    failures.logger().error("\(error)")
                }
            }
        }
        #expect(failures.messages == [])
    }

    @Test("a large batch to a Redis that went away fails as unavailable instead of raising SIGPIPE")
    func noSigpipe() throws {
        let server = try RedisServer()
        let plugin = try open(server, ["pool_size": 1])
        defer { plugin.close() }
        let filler = String(repeating: "x", count: 100)
        let tokens = (0..<50_000).map { RevocationToken(jti: "\(filler)\($0)", subject: filler, issuedAt: 1) }
        #expect(try plugin.isRevoked(batch: tokens).allSatisfy { !$0 })
        server.stop()
        #expect(callError { _ = try plugin.isRevoked(batch: tokens) }?.status == PC_ERR_UNAVAILABLE)
    }

    // MARK: Config

    @Test("bad config is refused with the plugin's message, never quoting a password")
    func badConfig() throws {
        let unknown = try #require(loadError(["url": "redis://127.0.0.1:1/0", "colour": "red"]))
        #expect(unknown.reason.contains("unknown config key 'colour'"))
        #expect(unknown.path == Self.path)

        for url in [
            "redis://:hunter2-secret@127.0.0.1:notaport/0", "redis://:hunter2-secret@127.0.0.1:6379/zero",
            "rediss://:hunter2-secret@127.0.0.1", "http://127.0.0.1:6379", "redis://hunter2-secret@127.0.0.1",
            "unix://relative/redis.sock", "redis://:hunter2-secret@:6379",
        ] {
            let error = try #require(loadError(["url": url]), "\(url)")
            #expect(error.reason.contains("config key 'url'"))
            #expect(!error.reason.contains("hunter2"))
        }
        #expect(try #require(loadError(["pool_size": 0])).reason.contains("pool_size"))
        #expect(try #require(loadError(["command_timeout_ms": "soon"])).reason.contains("command_timeout_ms"))
        #expect(try #require(loadError(["key_prefix": 7])).reason.contains("key_prefix"))
    }
}
