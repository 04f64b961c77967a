import Foundation
import PortcullisTestSupport
import Testing

@testable import Portcullis

/// The admin listener (SPEC section 5) over real sockets, in front of the real blocklist
/// plugins: health, readiness, the token guard and the revocation API, checked through the
/// proxy listener that must then refuse what was revoked.
@Suite("Admin listener")
struct AdminListenerTests {
    private let tokens = RevocationGateway.tokens
    static let adminToken = "admin-secret-0123456789"

    /// Runs `body` with a gateway whose blocklist is `backend` (`memory`, `sqlite` in a temp
    /// folder, `redis` on its own server, or a plugin path) and whose admin listener has
    /// `token` (none when nil).
    private func withGateway(
        _ backend: String, token: String? = adminToken, _ body: (GatewayHarness, RedisServer?) async throws -> Void
    ) async throws {
        let folder = try CPluginCompiler.temporaryDirectory("portcullis-admin")
        let redis = backend == "redis" ? try RedisServer() : nil
        let blocklist =
            if let redis {
                "plugin: redis\ntimeout: 500ms\nconfig:\n  url: \(redis.url)\n  command_timeout_ms: 200"
            } else {
                "plugin: \(backend)"
            }
        let admin = "admin:\n  listen: 127.0.0.1:0\n" + (token.map { "  token: \($0)\n" } ?? "")
        try await GatewayHarness.withUpstream(yaml: admin + RevocationGateway.yaml(blocklist: blocklist), directory: folder) {
            gateway, _ in try await body(gateway, redis)
        }
    }

    /// One request to the admin listener on a fresh connection.
    private func admin(
        _ gateway: GatewayHarness, _ method: String, _ path: String, token: String? = adminToken, body: String? = nil
    ) async throws -> RawResponse {
        let port = try #require(gateway.adminPort)
        let client = try await RawHTTPClient.connect(port: port)
        var request = "\(method) \(path) HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)" }
        else { request += "\r\n" }
        try await client.send(request)
        let response = try await client.response()
        await client.close()
        return response
    }

    private func json(_ response: RawResponse) throws -> JSONValue {
        try #require(JSONValue.parse(response.body), "not JSON: \(response.bodyText)")
    }

    private func isRevoked(_ gateway: GatewayHarness, jti: String) async throws -> Bool? {
        let response = try await admin(gateway, "GET", "/admin/revocations/\(jti)")
        guard response.status == 200, case .bool(let revoked) = try json(response)["revoked"] else { return nil }
        return revoked
    }

    @Test("/healthz is 200 ok and /readyz is 200 ready with a healthy plugin", arguments: ["memory", "sqlite", "redis"])
    func healthAndReadiness(backend: String) async throws {
        try await withGateway(backend) { gateway, _ in
            let health = try await admin(gateway, "GET", "/healthz", token: nil)
            #expect(health.status == 200)
            #expect(health.header("Content-Type") == "application/json")
            #expect(try json(health) == .object(["status": .string("ok")]))
            let ready = try await admin(gateway, "GET", "/readyz", token: nil)
            #expect(ready.status == 200, "\(ready.bodyText)")
            #expect(try json(ready) == .object(["status": .string("ready")]))
        }
    }

    @Test("/readyz is 503 naming the plugin while Redis is down, and 200 again once it is back")
    func readinessFollowsRedis() async throws {
        try await withGateway("redis") { gateway, redis in
            let redis = try #require(redis)
            #expect(try await admin(gateway, "GET", "/readyz").status == 200)
            redis.stop()
            let down = try await admin(gateway, "GET", "/readyz")
            #expect(down.status == 503)
            #expect(try json(down)["status"] == .string("not_ready"))
            guard case .array(let reasons) = try json(down)["reasons"] else {
                Issue.record("no reasons: \(down.bodyText)")
                return
            }
            #expect(reasons.count == 1)
            let reason = reasons.first?.stringValue ?? ""
            #expect(reason.hasPrefix("blocklist plugin health failed: PC_ERR_"), "\(reason)")
            #expect(reason.contains("redis"), "\(reason)")
            try redis.start()
            #expect(try await eventually { try await admin(gateway, "GET", "/readyz").status == 200 })
        }
    }

    @Test("/admin/* without the admin token, with a wrong one or another scheme is 401 with a Bearer challenge")
    func adminNeedsToken() async throws {
        try await withGateway("memory") { gateway, _ in
            for token in [nil, "wrong", "admin-secret-012345678", Self.adminToken + "0", ""] as [String?] {
                for (method, path) in [("POST", "/admin/revoke"), ("GET", "/admin/revocations/x"), ("GET", "/admin/other")] {
                    let refused = try await admin(gateway, method, path, token: token, body: method == "POST" ? #"{"sub":"a"}"# : nil)
                    #expect(refused.status == 401, "\(method) \(path) with \(token ?? "no token")")
                    #expect(refused.header("WWW-Authenticate") == #"Bearer realm="portcullis-admin""#)
                    #expect(try json(refused)["error"] == .string("unauthorized"))
                }
            }
            let port = try #require(gateway.adminPort)
            let client = try await RawHTTPClient.connect(port: port)
            try await client.send("GET /admin/revocations/x HTTP/1.1\r\nHost: a\r\nAuthorization: Basic \(Self.adminToken)\r\nConnection: close\r\n\r\n")
            #expect(try await client.response().status == 401)
            await client.close()
            #expect(try await admin(gateway, "GET", "/admin/revocations/x").status == 200)
        }
    }

    @Test("without admin.token every /admin/* path is 404, while /healthz still answers")
    func adminDisabledWithoutToken() async throws {
        try await withGateway("memory", token: nil) { gateway, _ in
            for (method, path) in [("POST", "/admin/revoke"), ("GET", "/admin/revocations/x"), ("GET", "/admin")] {
                let response = try await admin(gateway, method, path, body: method == "POST" ? #"{"sub":"a"}"# : nil)
                #expect(response.status == 404, "\(method) \(path)")
                #expect(try json(response)["error"] == .string("not_found"))
            }
            #expect(try await admin(gateway, "GET", "/healthz").status == 200)
        }
    }

    @Test("unknown paths are 404 (/admin/reload too without a file to reload), and a known path with another method is 405")
    func routing() async throws {
        try await withGateway("memory") { gateway, _ in
            for path in ["/", "/metricsx", "/admin/reload", "/admin/nothing"] {
                #expect(try await admin(gateway, "GET", path).status == 404, "\(path)")
            }
            let revokeByGet = try await admin(gateway, "GET", "/admin/revoke")
            #expect(revokeByGet.status == 405)
            #expect(revokeByGet.header("Allow") == "POST")
            let healthByPost = try await admin(gateway, "POST", "/healthz", body: "{}")
            #expect(healthByPost.status == 405)
            #expect(healthByPost.header("Allow") == "GET")
            #expect(try await admin(gateway, "POST", "/metrics", body: "{}").status == 405)
        }
    }

    @Test("revoking a token refuses it at the proxy listener and nowhere else", arguments: ["memory", "sqlite", "redis"])
    func revokeByToken(backend: String) async throws {
        try await withGateway(backend) { gateway, _ in
            let issuedAt = TokenFactory.now
            let token = tokens.token(sub: "alice", ttl: .seconds(600), jti: "tok-1", now: issuedAt)
            let other = tokens.token(sub: "alice", jti: "tok-2")
            #expect(try await RevocationGateway.get(gateway, token: token).status == 200)
            #expect(try await isRevoked(gateway, jti: "tok-1") == false)
            let response = try await admin(gateway, "POST", "/admin/revoke", body: #"{"token":"\#(token)"}"#)
            #expect(response.status == 200, "\(response.bodyText)")
            let revoked = try json(response)["revoked"]
            #expect(revoked?["jti"] == .string("tok-1"))
            let expiresAt = try #require(revoked?["expires_at"]?.int64Value)
            let leeway = Int64(gateway.runtime.runtime.config.jwt.leeway.components.seconds)
            #expect(expiresAt == issuedAt + 600 + leeway)
            #expect(!response.bodyText.contains(token))
            let refused = try await RevocationGateway.get(gateway, token: token)
            #expect(refused.status == 401)
            #expect(try json(refused)["error"] == .string("token_revoked"))
            #expect(try await RevocationGateway.get(gateway, token: other).status == 200)
            #expect(try await isRevoked(gateway, jti: "tok-1") == true)
        }
    }

    @Test("revoking a jti until expires_at refuses its token; the answer echoes both", arguments: ["memory", "sqlite", "redis"])
    func revokeByJTI(backend: String) async throws {
        try await withGateway(backend) { gateway, _ in
            let token = tokens.token(jti: "id/with space")
            let other = tokens.token(jti: "id-other")
            #expect(try await isRevoked(gateway, jti: "id%2Fwith%20space") == false)
            let until = TokenFactory.now + 3600
            let response = try await admin(
                gateway, "POST", "/admin/revoke", body: #"{"jti":"id/with space","expires_at":\#(until)}"#
            )
            #expect(response.status == 200, "\(response.bodyText)")
            #expect(try json(response) == .object(["revoked": .object(["jti": .string("id/with space"), "expires_at": .number(Double(until))])]))
            #expect(try await RevocationGateway.get(gateway, token: token).status == 401)
            #expect(try await RevocationGateway.get(gateway, token: other).status == 200)
            #expect(try await isRevoked(gateway, jti: "id%2Fwith%20space") == true)
            #expect(try await isRevoked(gateway, jti: "id-other") == false)
        }
    }

    @Test("revoking a subject refuses its earlier tokens, not later ones nor other users'", arguments: ["memory", "sqlite", "redis"])
    func revokeBySubject(backend: String) async throws {
        try await withGateway(backend) { gateway, _ in
            let now = TokenFactory.now
            let earlier = tokens.token(sub: "dave", jti: "dave-1", now: now - 10)
            let otherUser = tokens.token(sub: "erin", jti: "erin-1", now: now - 10)
            #expect(try await RevocationGateway.get(gateway, token: earlier).status == 200)
            let response = try await admin(gateway, "POST", "/admin/revoke", body: #"{"sub":"dave"}"#)
            #expect(response.status == 200, "\(response.bodyText)")
            let revoked = try json(response)["revoked"]
            #expect(revoked?["sub"] == .string("dave"))
            let at = try #require(revoked?["issued_at_or_before"]?.int64Value)
            let jwt = gateway.runtime.runtime.config.jwt
            #expect(at >= now && at <= TokenFactory.now)  // "now" as the gateway saw it
            #expect(revoked?["until"]?.int64Value == at + jwt.maxLifetime.components.seconds + jwt.leeway.components.seconds)
            let refused = try await RevocationGateway.get(gateway, token: earlier)
            #expect(refused.status == 401)
            #expect(try json(refused)["error"] == .string("token_revoked"))
            #expect(try await RevocationGateway.get(gateway, token: otherUser).status == 200)
            let later = tokens.token(sub: "dave", jti: "dave-2", now: at + 2)
            #expect(try await RevocationGateway.get(gateway, token: later).status == 200)
        }
    }

    @Test("a token signed with another key is 400 invalid_token and nothing is revoked")
    func forgedToken() async throws {
        try await withGateway("memory") { gateway, _ in
            let forged = TokenFactory(secret: "another-secret-0123456789abcdef0123456789").token(jti: "forged-1")
            let response = try await admin(gateway, "POST", "/admin/revoke", body: #"{"token":"\#(forged)"}"#)
            #expect(response.status == 400)
            #expect(try json(response)["error"] == .string("invalid_token"))
            #expect(!response.bodyText.contains(forged))
            #expect(try await isRevoked(gateway, jti: "forged-1") == false)
        }
    }

    @Test("an expired but genuine token can still be revoked")
    func expiredTokenRevocable() async throws {
        try await withGateway("memory") { gateway, _ in
            let expired = tokens.token(ttl: .seconds(60), jti: "old-1", now: TokenFactory.now - 3600)
            let response = try await admin(gateway, "POST", "/admin/revoke", body: #"{"token":"\#(expired)"}"#)
            #expect(response.status == 200, "\(response.bodyText)")
            #expect(try json(response)["revoked"]?["jti"] == .string("old-1"))
        }
    }

    @Test(
        "malformed revoke bodies are 400 bad_request",
        arguments: [
            "", "not json", "[]", "{}", #"{"token":1}"#, #"{"token":""}"#, #"{"jti":"a"}"#, #"{"jti":"a","expires_at":"1"}"#,
            #"{"jti":"a","expires_at":1.5}"#, #"{"jti":1,"expires_at":1}"#, #"{"sub":""}"#, #"{"sub":["a"]}"#,
            #"{"token":"x","sub":"y"}"#, #"{"sub":"a","extra":1}"#, #"{"sub":"a","sub":"b"}"#,
        ]
    )
    func malformedBodies(body: String) async throws {
        try await withGateway("memory") { gateway, _ in
            let response = try await admin(gateway, "POST", "/admin/revoke", body: body)
            #expect(response.status == 400, "\(body): \(response.bodyText)")
            #expect(try json(response)["error"] == .string("bad_request"))
        }
    }

    @Test("a revoke body over 64 KiB is 413, sized or chunked")
    func bodyTooLarge() async throws {
        try await withGateway("memory") { gateway, _ in
            let body = #"{"sub":""# + String(repeating: "a", count: 65 * 1024) + #""}"#
            let sized = try await admin(gateway, "POST", "/admin/revoke", body: body)
            #expect(sized.status == 413)
            #expect(try json(sized)["error"] == .string("payload_too_large"))
            let client = try await RawHTTPClient.connect(port: try #require(gateway.adminPort))
            try await client.send(
                "POST /admin/revoke HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(Self.adminToken)\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n\(String(body.utf8.count, radix: 16))\r\n\(body)\r\n0\r\n\r\n"
            )
            #expect(try await client.response().status == 413)
            await client.close()
            let fits = #"{"sub":""# + String(repeating: "a", count: 60 * 1024) + #""}"#
            #expect(try await admin(gateway, "POST", "/admin/revoke", body: fits).status == 200)
        }
    }

    @Test("/admin/revocations/ without a jti is 400")
    func lookupNeedsJTI() async throws {
        try await withGateway("memory") { gateway, _ in
            let empty = try await admin(gateway, "GET", "/admin/revocations/")
            let badEscape = try await admin(gateway, "GET", "/admin/revocations/%zz")
            #expect(empty.status == 400)
            #expect(badEscape.status == 400)
            #expect(try json(empty)["error"] == .string("bad_request"))
        }
    }

    @Test("a subject revocation with a plugin without the subject capability is 501 not_supported")
    func subjectNotSupported() async throws {
        let plugin = try ProbePlugin.build()
        try await withGateway(plugin) { gateway, _ in
            let response = try await admin(gateway, "POST", "/admin/revoke", body: #"{"sub":"dave"}"#)
            #expect(response.status == 501)
            #expect(try json(response)["error"] == .string("not_supported"))
            let byJTI = try await admin(gateway, "POST", "/admin/revoke", body: #"{"jti":"x","expires_at":1}"#)
            #expect(byJTI.status == 200)
        }
    }

    @Test("the admin token comparison accepts only the exact token")
    func credentialComparison() throws {
        let credential = try #require(AdminCredential(token: "s3cret"))
        #expect(credential.accepts(authorization: "Bearer s3cret"))
        #expect(credential.accepts(authorization: "bearer s3cret"))
        for wrong in [nil, "", "Bearer", "Bearer ", "Bearer s3cre", "Bearer s3cret ", "Bearer s3creT", "Basic s3cret", "s3cret"] {
            #expect(!credential.accepts(authorization: wrong), "\(wrong ?? "nil")")
        }
        #expect(AdminCredential(token: "") == nil)
        #expect(AdminCredential(token: nil) == nil)
    }
}
