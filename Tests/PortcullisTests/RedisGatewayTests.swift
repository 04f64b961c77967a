import Foundation
import PortcullisTestSupport
import Testing

@testable import Portcullis

/// The redis plugin behind real gateways: shared revocations, outages, key lifetimes.
@Suite("Redis blocklist behind the gateway")
struct RedisGatewayTests {
    private let tokens = RevocationGateway.tokens

    private func blocklist(_ redis: RedisServer, onError: String = "deny") -> String {
        "plugin: redis\non_error: \(onError)\ntimeout: 500ms\nconfig:\n  url: \(redis.url)\n  command_timeout_ms: 200"
    }

    /// The YAML for a separate `portcullis serve` process.
    /// `listen` stays 127.0.0.1:0 for a config only the command line reads.
    private func processYAML(_ redis: RedisServer, upstream: UpstreamStub, listen: String = "{{LISTEN}}") -> String {
        RevocationGateway.yaml(blocklist: blocklist(redis))
            .replacingOccurrences(of: "127.0.0.1:0", with: listen)
            .replacingOccurrences(of: "{{UPSTREAM}}", with: upstream.url)
            .replacingOccurrences(of: "server:\n", with: "log:\n  level: warning\n  access_log: false\nserver:\n")
    }

    private func status(_ port: Int, token: String) async throws -> Int {
        let client = try await RawHTTPClient.connect(port: port)
        try await client.send("GET /api/x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n")
        let response = try await client.response()
        await client.close()
        return response.status
    }

    @Test("two gateways sharing one Redis: a revocation made through one is refused by the other at once")
    func sharedAcrossGateways() async throws {
        let redis = try RedisServer()
        let token = tokens.token(jti: "shared-1")
        try await RevocationGateway.with(blocklist: blocklist(redis)) { first, upstream in
            let second = try GatewayProcess(yaml: processYAML(redis, upstream: upstream))
            defer { second.stop() }
            #expect(try await status(first.port, token: token) == 200)
            #expect(try await status(second.port, token: token) == 200)
            let service = try #require(first.runtime.runtime.revocation)
            try service.plugin.revoke(RevocationToken(jti: "shared-1", expiresAt: TokenFactory.now + 600))
            #expect(try await status(second.port, token: token) == 401)
            #expect(try await status(first.port, token: token) == 401)
        }
    }

    @Test("Redis stopped: on_error deny gives 503 and allow gives 200; once it is back, checks work without a restart")
    func outage() async throws {
        let redis = try RedisServer()
        try await RevocationGateway.with(blocklist: blocklist(redis, onError: "deny")) { deny, _ in
            try await RevocationGateway.with(blocklist: blocklist(redis, onError: "allow")) { allow, _ in
                let token = tokens.token(jti: "outage-1")
                #expect(try await status(deny.port, token: token) == 200)
                redis.stop()
                #expect(try await status(deny.port, token: token) == 503)
                #expect(try await status(allow.port, token: token) == 200)
                #expect((allow.runtime.runtime.revocation?.failureCount ?? 0) >= 1)
                try redis.start()
                #expect(try await eventually { try await status(deny.port, token: token) == 200 })
                // And revocation works again on the recovered connection.
                try deny.runtime.runtime.revocation?.plugin.revoke(RevocationToken(jti: "outage-1", expiresAt: TokenFactory.now + 600))
                #expect(try await status(deny.port, token: token) == 401)
                #expect(try await eventually { try await status(allow.port, token: token) == 401 })
            }
        }
    }

    @Test("portcullis revoke --token stores the jti until the token's exp plus leeway, and both gateways refuse it")
    func revokeCommandKeyLifetime() async throws {
        let redis = try RedisServer()
        let minted = TokenFactory.now
        let token = tokens.token(ttl: .seconds(300), jti: "cli-1", now: minted)
        try await RevocationGateway.with(blocklist: blocklist(redis)) { gateway, upstream in
            let config = try writeConfig(processYAML(redis, upstream: upstream, listen: "127.0.0.1:0"))
            let result = try runPortcullis(["revoke", "--config", config, "--plugin-dir", BuiltPlugins.directory, "--token", token])
            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardOutput.contains("revoked jti cli-1"))
            #expect(!result.standardOutput.contains(token) && !result.standardError.contains(token))
            let ttl = try #require(Int(try redis.command(["TTL", "portcullis:jti:cli-1"])))
            // exp is minted + 300 s, plus the default 30 s leeway, counted down from when it is
            // read: a loaded machine can take many seconds to get here.
            let left = Int(minted + 330 - TokenFactory.now)
            #expect((left - 2...left + 1).contains(ttl), "TTL \(ttl), expected about \(left)")
            #expect(try await status(gateway.port, token: token) == 401)
        }
    }

    @Test("portcullis revoke --sub refuses every token of the subject issued until now")
    func revokeSubjectCommand() async throws {
        let redis = try RedisServer()
        try await RevocationGateway.with(blocklist: blocklist(redis)) { gateway, upstream in
            let config = try writeConfig(processYAML(redis, upstream: upstream, listen: "127.0.0.1:0"))
            let before = tokens.token(sub: "carol", jti: "carol-1", now: TokenFactory.now - 5)
            let result = try runPortcullis(["revoke", "--config", config, "--plugin-dir", BuiltPlugins.directory, "--sub", "carol"])
            #expect(result.status == 0, "\(result.standardError)")
            #expect(try await status(gateway.port, token: before) == 401)
            let later = tokens.token(sub: "carol", jti: "carol-2", now: TokenFactory.now + 2)
            #expect(try await status(gateway.port, token: later) == 200)
        }
    }
}
