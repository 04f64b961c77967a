import Testing

@testable import Portcullis

@Suite("Token verification: issuer, audience, claims, time and type")
struct TokenClaimTests {
    let hmac = JWTSigningKey.hmac(TestKeys.secret)

    func verifier(configure: (inout JWTSettings) -> Void = { _ in }) throws -> TokenVerifier {
        var settings = AuthTest.settings(algorithms: [.HS256], keys: [.secret(bytes: TestKeys.secret)])
        configure(&settings)
        return try TokenVerifier(settings: settings)
    }

    func check(
        _ claims: [String: JSONValue], expecting type: TokenType = .access, now: Int64 = AuthTest.now,
        verifier: TokenVerifier? = nil
    ) throws -> AuthFailure? {
        let verifier = try verifier ?? self.verifier()
        return AuthTest.failure(verifier.verify(AuthTest.token(hmac, .HS256, claims: claims), expecting: type, now: now, cache: nil))
    }

    @Test("a token expired beyond the leeway is token_expired; within the leeway it is accepted")
    func expiry() throws {
        let now = AuthTest.now
        #expect(try check(["exp": .number(Double(now - 31))])?.code == .tokenExpired)
        #expect(try check(["exp": .number(Double(now - 30))]) == AuthFailure(.tokenExpired, "the token has expired"))
        #expect(try check(["exp": .number(Double(now - 29))]) == nil)
        #expect(try check(["exp": .number(Double(now - 29) - 0.5)])?.code == .tokenExpired)  // floored to now - 30
    }

    @Test("a token whose nbf is beyond the leeway is token_not_yet_valid")
    func notBefore() throws {
        let now = AuthTest.now
        #expect(try check(["nbf": .number(Double(now + 31))]) == AuthFailure(.tokenNotYetValid, "the token is not valid yet"))
        #expect(try check(["nbf": .number(Double(now + 30))]) == nil)
    }

    @Test("a token issued in the future beyond the leeway is invalid")
    func issuedInFuture() throws {
        let now = AuthTest.now
        #expect(try check(["iat": .number(Double(now + 31)), "exp": .number(Double(now + 900))]) == .invalid("the token was issued in the future"))
        #expect(try check(["iat": .number(Double(now + 30)), "exp": .number(Double(now + 900))]) == nil)
    }

    @Test("a token living longer than max_lifetime is invalid")
    func maxLifetime() throws {
        let verifier = try verifier { $0.maxLifetime = .seconds(3600) }
        let iat = Double(AuthTest.now - 10)
        #expect(try check(["iat": .number(iat), "exp": .number(iat + 3601)], verifier: verifier) == .invalid("the token lifetime exceeds the allowed maximum"))
        #expect(try check(["iat": .number(iat), "exp": .number(iat + 3600)], verifier: verifier) == nil)
        #expect(try check(["iat": .number(-9e18), "exp": .number(9e18)], verifier: verifier)?.code == .invalidToken)
    }

    @Test("time checks run in SPEC order: an expired token that is also from the future is token_expired")
    func timeOrder() throws {
        let now = Double(AuthTest.now)
        #expect(try check(["exp": .number(now - 100), "nbf": .number(now + 100), "iat": .number(now + 100)])?.code == .tokenExpired)
        #expect(try check(["nbf": .number(now + 100), "iat": .number(now + 100), "exp": .number(now + 900)])?.code == .tokenNotYetValid)
    }

    @Test("a token from another issuer, or without one, is invalid")
    func issuer() throws {
        #expect(try check(["iss": "https://evil.test"]) == .invalid("the token issuer is not accepted"))
        #expect(try check(["iss": .null]) == .invalid("the token has no issuer"))
        #expect(try check(["iss": 42]) == .invalid("the token issuer is not accepted"))
    }

    @Test("the audience must match one configured audience, as a string or inside an array")
    func audience() throws {
        #expect(try check(["aud": "billing-api"]) == .invalid("the token audience is not accepted"))
        #expect(try check(["aud": .array(["billing-api", .string(AuthTest.audience)])]) == nil)
        #expect(try check(["aud": .array(["billing-api"])])?.code == .invalidToken)
        #expect(try check(["aud": .null])?.code == .invalidToken)
        #expect(try check(["aud": .array([1])]) == .invalid("the token `aud` claim is not a string or an array of strings"))
        let unchecked = try verifier { $0.issuers[0].audiences = nil }
        #expect(try check(["aud": "anything"], verifier: unchecked) == nil)
        #expect(try check(["aud": .null], verifier: unchecked) == nil)
    }

    @Test("a missing required claim is invalid and named", arguments: ["exp", "iat", "jti"])
    func requiredClaim(name: String) throws {
        #expect(try check([name: .null]) == .invalid("the token lacks the required claim `\(name)`"))
    }

    @Test("configured required claims beyond the defaults are enforced")
    func customRequired() throws {
        let verifier = try verifier { $0.require = ["sub", "tenant"] }
        #expect(try check([:], verifier: verifier) == .invalid("the token lacks the required claim `tenant`"))
        #expect(try check(["tenant": "acme", "jti": .null, "iat": .null], verifier: verifier) == nil)
    }

    @Test("registered claims of the wrong type are invalid", arguments: [
        ("exp", JSONValue.string("tomorrow")), ("iat", .bool(true)), ("nbf", .array([])), ("sub", .number(7)), ("jti", .object([:])),
    ])
    func wrongTypes(name: String, value: JSONValue) throws {
        #expect(try check([name: value])?.code == .invalidToken)
    }

    @Test("fractional dates are floored and the registered claims are read out")
    func readsClaims() throws {
        let token = AuthTest.token(hmac, .HS256, claims: ["iat": .number(Double(AuthTest.now) - 0.75), "nbf": .number(Double(AuthTest.now - 5)), "email": "a@example.com"])
        let verified = try verifier().verify(token, expecting: .access, now: AuthTest.now, cache: nil).get()
        #expect(verified.issuedAt == AuthTest.now - 1)
        #expect(verified.notBefore == AuthTest.now - 5)
        #expect(verified.expiresAt == AuthTest.now + 600)
        #expect(verified.jti == "jti-1")
        #expect(verified.subject == "alice")
        #expect(verified.audiences == [AuthTest.audience])
        #expect(verified.type == .access)
        #expect(verified.claims["email"] == "a@example.com")
    }

    @Test("a refresh token is refused where an access token is expected, and the reverse")
    func tokenTypes() throws {
        #expect(try check(["type": "refresh"], expecting: .access) == AuthFailure(.wrongTokenType, "An access token is needed, not a refresh token"))
        #expect(try check([:], expecting: .refresh) == AuthFailure(.wrongTokenType, "A refresh token is needed, not an access token"))
        #expect(try check(["type": "access"], expecting: .refresh)?.code == .wrongTokenType)
        #expect(try check(["type": "refresh"], expecting: .refresh) == nil)
        #expect(try check(["type": "access"], expecting: .access) == nil)
    }

    @Test("an unrecognised type claim is wrong_token_type whatever is expected", arguments: [JSONValue.string("id"), .string("Access"), .number(1)])
    func unknownType(value: JSONValue) throws {
        #expect(try check(["type": value], expecting: .access)?.code == .wrongTokenType)
        #expect(try check(["type": value], expecting: .refresh)?.code == .wrongTokenType)
    }

    @Test("the type claim name comes from token_type_claim")
    func customTypeClaim() throws {
        let verifier = try verifier { $0.tokenTypeClaim = "token_use" }
        #expect(try check(["token_use": "refresh"], expecting: .refresh, verifier: verifier) == nil)
        #expect(try check(["token_use": "refresh"], expecting: .access, verifier: verifier)?.code == .wrongTokenType)
        #expect(try check(["type": "refresh"], expecting: .access, verifier: verifier) == nil)
    }

    @Test("signature problems are reported before claim problems")
    func signatureBeforeClaims() throws {
        let forged = AuthTest.token(.hmac(TestKeys.secretOther), .HS256, claims: ["exp": .number(0), "type": "refresh"])
        let result = try verifier().verify(forged, expecting: .access, now: AuthTest.now, cache: nil)
        #expect(AuthTest.failure(result) == .invalid("the token signature is invalid"))
    }

    @Test("failure messages never contain the token")
    func messagesOmitToken() throws {
        let verifier = try verifier()
        for claims: [String: JSONValue] in [["exp": 0], ["aud": "x"], ["type": "x"], ["jti": .null]] {
            let token = AuthTest.token(hmac, .HS256, claims: claims)
            let failure = try #require(AuthTest.failure(verifier.verify(token, expecting: .access, now: AuthTest.now, cache: nil)))
            for segment in token.split(separator: ".") { #expect(!failure.message.contains(segment)) }
        }
    }
}
