import PortcullisTestSupport
import Testing

@testable import Portcullis

@Suite("Test-support token factory")
struct TokenFactoryTests {
    @Test("factory tokens verify with the factory's settings, as access or refresh")
    func verifies() throws {
        let factory = TokenFactory(issuer: "https://factory.test", audience: "api")
        let verifier = try TokenVerifier(settings: factory.jwtSettings)
        let now = TokenFactory.now
        let access = try verifier.verify(factory.token(sub: "u1", extra: ["scope": "a b"], now: now), expecting: .access, now: now, cache: nil).get()
        #expect(access.subject == "u1")
        #expect(access.claims["scope"] == "a b")
        let refresh = factory.token(type: .refresh, jti: "r-1", now: now)
        #expect(try verifier.verify(refresh, expecting: .refresh, now: now, cache: nil).get().jti == "r-1")
        #expect(AuthTest.failure(verifier.verify(refresh, expecting: .access, now: now, cache: nil))?.code == .wrongTokenType)
    }

    @Test("factory extras can remove or break claims, and expired tokens are refused")
    func overrides() throws {
        let factory = TokenFactory()
        let verifier = try TokenVerifier(settings: factory.jwtSettings)
        let now = TokenFactory.now
        let noJTI = factory.token(extra: ["jti": .null], now: now)
        #expect(AuthTest.failure(verifier.verify(noJTI, expecting: .access, now: now, cache: nil))?.code == .invalidToken)
        let expired = factory.token(ttl: .seconds(60), now: now - 3600)
        #expect(AuthTest.failure(verifier.verify(expired, expecting: .access, now: now, cache: nil))?.code == .tokenExpired)
        let other = TokenFactory(secret: "a-different-secret-for-this-test-only")
        #expect(AuthTest.failure(verifier.verify(other.token(now: now), expecting: .access, now: now, cache: nil))?.code == .invalidToken)
    }
}
