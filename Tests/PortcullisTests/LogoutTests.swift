import Foundation
import PortcullisTestSupport
import Testing

@testable import Portcullis

/// `POST /logout` over real sockets, with each built-in blocklist (SPEC section 4).
@Suite("Logout")
struct LogoutTests {
    private let tokens = RevocationGateway.tokens

    enum RefreshLocation: String, CaseIterable, Sendable {
        case header, cookie, jsonBody
    }

    /// Runs `body` with a gateway on `plugin` (memory, sqlite in a fresh folder, or redis on
    /// a fresh server).
    private func withGateway(
        _ plugin: String, requireRefresh: Bool = false, _ body: (GatewayHarness) async throws -> Void
    ) async throws {
        var redis: RedisServer?
        let blocklist: String
        switch plugin {
        case "redis":
            let server = try RedisServer()
            redis = server
            blocklist = "plugin: redis\nconfig:\n  url: \(server.url)"
        case "sqlite":
            blocklist = "plugin: sqlite\nconfig:\n  path: \(try CPluginCompiler.temporaryDirectory("portcullis-logout"))/revoked.db"
        default:
            blocklist = "plugin: \(plugin)"
        }
        let yaml = RevocationGateway.yaml(blocklist: blocklist)
            .replacingOccurrences(of: "upstreams:\n", with: "logout:\n  require_refresh: \(requireRefresh)\nupstreams:\n")
        try await GatewayHarness.withUpstream(yaml: yaml) { gateway, _ in try await body(gateway) }
        withExtendedLifetime(redis) {}
    }

    private func logout(
        _ gateway: GatewayHarness, access: String, refresh: String? = nil, at location: RefreshLocation = .header,
        query: String = ""
    ) async throws -> RawResponse {
        var head = "POST /logout\(query) HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer \(access)\r\nConnection: close\r\n"
        var body = ""
        if let refresh {
            switch location {
            case .header: head += "X-Refresh-Token: \(refresh)\r\n"
            case .cookie: head += "Cookie: theme=dark; refresh_token=\(refresh)\r\n"
            case .jsonBody:
                body = #"{"refresh_token":"\#(refresh)","note":"bye"}"#
                head += "Content-Type: application/json; charset=utf-8\r\n"
            }
        }
        head += "Content-Length: \(body.utf8.count)\r\n\r\n"
        let client = try await RawHTTPClient.connect(port: gateway.port)
        try await client.send(head + body)
        let response = try await client.response()
        await client.close()
        return response
    }

    private func api(_ gateway: GatewayHarness, _ token: String) async throws -> Int {
        try await RevocationGateway.get(gateway, token: token).status
    }

    private func refresh(_ gateway: GatewayHarness, _ token: String) async throws -> Int {
        try await RevocationGateway.get(gateway, "/auth/refresh", token: token, header: "X-Refresh-Token:").status
    }

    @Test("logout revokes both tokens; /api and /auth/refresh are then 401 token_revoked", arguments: ["memory", "sqlite", "redis"], RefreshLocation.allCases)
    func flow(plugin: String, location: RefreshLocation) async throws {
        try await withGateway(plugin) { gateway in
            let access = tokens.token(sub: "alice", jti: "a-\(location)")
            let refreshToken = tokens.token(sub: "alice", type: .refresh, jti: "r-\(location)")
            let bob = tokens.token(sub: "bob", jti: "b-\(location)")
            #expect(try await api(gateway, access) == 200)
            #expect(try await refresh(gateway, refreshToken) == 200)
            let response = try await logout(gateway, access: access, refresh: refreshToken, at: location)
            #expect(response.status == 200)
            #expect(JSONValue.parse(response.body) == .object(["revoked": .array([.string("access"), .string("refresh")])]))
            #expect(response.header("Set-Cookie") == (location == .cookie ? "refresh_token=; Max-Age=0; Path=/" : nil))
            let revokedAPI = try await RevocationGateway.get(gateway, token: access)
            #expect(revokedAPI.status == 401)
            #expect(revokedAPI.bodyText.contains("token_revoked"))
            #expect(try await refresh(gateway, refreshToken) == 401)
            #expect(try await api(gateway, bob) == 200)
        }
    }

    @Test("a refresh token of another subject is 401 invalid_token and nothing is revoked", arguments: ["memory", "sqlite", "redis"])
    func otherSubject(plugin: String) async throws {
        try await withGateway(plugin) { gateway in
            let access = tokens.token(sub: "alice", jti: "a-1")
            let mallory = tokens.token(sub: "mallory", type: .refresh, jti: "m-1")
            let response = try await logout(gateway, access: access, refresh: mallory)
            #expect(response.status == 401)
            #expect(response.bodyText.contains("invalid_token"))
            #expect(try await api(gateway, access) == 200)
            #expect(try await refresh(gateway, mallory) == 200)
        }
    }

    @Test("logging out twice with the same access token is 401 token_revoked the second time", arguments: ["memory", "sqlite", "redis"])
    func twice(plugin: String) async throws {
        try await withGateway(plugin) { gateway in
            let access = tokens.token(sub: "alice", jti: "twice-1")
            #expect(try await logout(gateway, access: access).status == 200)
            let second = try await logout(gateway, access: access)
            #expect(second.status == 401)
            #expect(second.bodyText.contains("token_revoked"))
        }
    }

    @Test("?all=true refuses every earlier token of the subject; a token issued afterwards works", arguments: ["memory", "sqlite", "redis"])
    func everywhere(plugin: String) async throws {
        try await withGateway(plugin) { gateway in
            let now = TokenFactory.now
            let access = tokens.token(sub: "carol", jti: "c-1", now: now - 20)
            let otherDevice = tokens.token(sub: "carol", jti: "c-2", now: now - 10)
            let otherRefresh = tokens.token(sub: "carol", type: .refresh, jti: "c-3", now: now - 10)
            let dave = tokens.token(sub: "dave", jti: "d-1", now: now - 10)
            let response = try await logout(gateway, access: access, query: "?all=true")
            #expect(response.status == 200)
            #expect(JSONValue.parse(response.body) == .object(["revoked": .array([.string("access"), .string("subject")])]))
            #expect(try await api(gateway, otherDevice) == 401)
            #expect(try await refresh(gateway, otherRefresh) == 401)
            #expect(try await api(gateway, dave) == 200)
            // Issued after the logout answered (the gateway took its "now" before answering).
            let later = tokens.token(sub: "carol", jti: "c-4", now: TokenFactory.now + 1)
            #expect(try await api(gateway, later) == 200)
        }
    }

    @Test("a presented refresh token that is already revoked is 401 token_revoked and the access token stays valid")
    func revokedRefresh() async throws {
        try await withGateway("memory") { gateway in
            let firstAccess = tokens.token(sub: "erin", jti: "e-1")
            let refreshToken = tokens.token(sub: "erin", type: .refresh, jti: "e-r")
            #expect(try await logout(gateway, access: firstAccess, refresh: refreshToken).status == 200)
            let secondAccess = tokens.token(sub: "erin", jti: "e-2")
            let response = try await logout(gateway, access: secondAccess, refresh: refreshToken)
            #expect(response.status == 401)
            #expect(response.bodyText.contains("token_revoked"))
            #expect(try await api(gateway, secondAccess) == 200)
        }
    }

    @Test("methods other than POST are 405 with Allow: POST; no token is 401 missing_token")
    func methodAndMissingToken() async throws {
        try await withGateway("memory") { gateway in
            let client = try await RawHTTPClient.connect(port: gateway.port)
            try await client.send("GET /logout HTTP/1.1\r\nHost: h\r\n\r\n")
            let get = try await client.response()
            #expect(get.status == 405)
            #expect(get.header("Allow") == "POST")
            try await client.send("POST /logout HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
            let missing = try await client.response()
            #expect(missing.status == 401)
            #expect(missing.bodyText.contains("missing_token"))
            await client.close()
        }
    }

    @Test("with require_refresh a logout without a refresh token is 400 and revokes nothing")
    func requireRefresh() async throws {
        try await withGateway("memory", requireRefresh: true) { gateway in
            let access = tokens.token(sub: "frank", jti: "f-1")
            let response = try await logout(gateway, access: access)
            #expect(response.status == 400)
            #expect(response.bodyText.contains("bad_request"))
            #expect(try await api(gateway, access) == 200)
        }
    }

    @Test("a logout body over 64 KiB is 413 payload_too_large")
    func bodyTooLarge() async throws {
        try await withGateway("memory") { gateway in
            let access = tokens.token(sub: "gina", jti: "g-1")
            let client = try await RawHTTPClient.connect(port: gateway.port)
            // One write: the gateway answers and half-closes as soon as the body passes 64 KiB.
            let chunk = String(repeating: "a", count: 70_000)
            try await client.send(
                "POST /logout HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer \(access)\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n\(String(chunk.utf8.count, radix: 16))\r\n\(chunk)\r\n0\r\n\r\n"
            )
            let response = try await client.response()
            #expect(response.status == 413)
            #expect(try await api(gateway, access) == 200)
        }
    }

    @Test("?all=true with a plugin that cannot revoke subjects is 501 not_supported")
    func everywhereUnsupported() async throws {
        try await withGateway(try ProbePlugin.build()) { gateway in
            let response = try await logout(gateway, access: tokens.token(sub: "hal", jti: "h-1"), query: "?all=true")
            #expect(response.status == 501)
            #expect(response.bodyText.contains("not_supported"))
        }
    }

    @Test("a kept-alive connection serves the next request after a logout")
    func keepAlive() async throws {
        try await withGateway("memory") { gateway in
            let access = tokens.token(sub: "ivy", jti: "i-1")
            let other = tokens.token(sub: "ivy", jti: "i-2")
            let client = try await RawHTTPClient.connect(port: gateway.port)
            try await client.send("POST /logout HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer \(access)\r\nContent-Length: 0\r\n\r\n")
            #expect(try await client.response().status == 200)
            try await client.send("GET /api/x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer \(other)\r\n\r\n")
            #expect(try await client.response().status == 200)
            await client.close()
        }
    }
}
