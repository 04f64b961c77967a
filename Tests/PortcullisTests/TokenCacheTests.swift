import Testing

@testable import Portcullis

@Suite("Verified-token cache")
struct TokenCacheTests {
    let hmac = JWTSigningKey.hmac(TestKeys.secret)

    func verifier() throws -> TokenVerifier {
        try AuthTest.verifier(algorithms: [.HS256], keys: [.secret(bytes: TestKeys.secret)])
    }

    func token(_ jti: String, _ claims: [String: JSONValue] = [:]) -> String {
        AuthTest.token(hmac, .HS256, claims: claims.merging(["jti": .string(jti)]) { a, _ in a })
    }

    @Test("the second verification of the same token is a cache hit")
    func hit() throws {
        let verifier = try verifier()
        let cache = VerifiedTokenCache()
        let token = token("a")
        let first = try verifier.verify(token, expecting: .access, now: AuthTest.now, cache: cache).get()
        #expect((cache.hits, cache.misses, cache.count) == (0, 1, 1))
        let second = try verifier.verify(token, expecting: .access, now: AuthTest.now, cache: cache).get()
        #expect((cache.hits, cache.misses) == (1, 1))
        #expect(second.jti == first.jti)
    }

    @Test("a cached token is still refused once it has expired")
    func expiredHit() throws {
        let verifier = try verifier()
        let cache = VerifiedTokenCache()
        let token = token("a")
        #expect(throws: Never.self) { try verifier.verify(token, expecting: .access, now: AuthTest.now, cache: cache).get() }
        let later = verifier.verify(token, expecting: .access, now: AuthTest.now + 3600, cache: cache)
        #expect(AuthTest.failure(later)?.code == .tokenExpired)
        #expect(cache.hits == 1)
    }

    @Test("a cached token of the wrong type is still refused")
    func wrongTypeHit() throws {
        let verifier = try verifier()
        let cache = VerifiedTokenCache()
        let refresh = token("r", ["type": "refresh"])
        #expect(throws: Never.self) { try verifier.verify(refresh, expecting: .refresh, now: AuthTest.now, cache: cache).get() }
        let asAccess = verifier.verify(refresh, expecting: .access, now: AuthTest.now, cache: cache)
        #expect(AuthTest.failure(asAccess)?.code == .wrongTokenType)
        #expect(cache.hits == 1)
        let unknown = token("u", ["type": "id"])
        _ = verifier.verify(unknown, expecting: .access, now: AuthTest.now, cache: cache)
        #expect(AuthTest.failure(verifier.verify(unknown, expecting: .access, now: AuthTest.now, cache: cache))?.code == .wrongTokenType)
        #expect(cache.hits == 2)
    }

    @Test("tokens that fail signature or claim checks are not cached")
    func failuresNotCached() throws {
        let verifier = try verifier()
        let cache = VerifiedTokenCache()
        let forged = AuthTest.token(.hmac(TestKeys.secretOther), .HS256)
        for _ in 0..<2 { _ = verifier.verify(forged, expecting: .access, now: AuthTest.now, cache: cache) }
        _ = verifier.verify(token("x", ["aud": "other"]), expecting: .access, now: AuthTest.now, cache: cache)
        #expect(cache.count == 0)
        #expect(cache.hits == 0)
    }

    @Test("the cache never holds more than its capacity")
    func capacityBound() throws {
        let verifier = try verifier()
        let cache = VerifiedTokenCache(capacity: 3)
        for index in 0..<10 {
            _ = verifier.verify(token("t\(index)"), expecting: .access, now: AuthTest.now, cache: cache)
            #expect(cache.count <= 3)
        }
        #expect(cache.count == 3)
        #expect(cache.misses == 10)
    }

    @Test("eviction gives a recently used token a second chance")
    func secondChance() throws {
        let verifier = try verifier()
        let cache = VerifiedTokenCache(capacity: 2)
        let (a, b, c) = (token("a"), token("b"), token("c"))
        for token in [a, b, a, c] { _ = verifier.verify(token, expecting: .access, now: AuthTest.now, cache: cache) }
        #expect(cache.hits == 1)
        _ = verifier.verify(a, expecting: .access, now: AuthTest.now, cache: cache)
        #expect(cache.hits == 2)  // a survived
        _ = verifier.verify(b, expecting: .access, now: AuthTest.now, cache: cache)
        #expect(cache.hits == 2)  // b was evicted
    }

    @Test("a capacity of zero caches nothing")
    func zeroCapacity() throws {
        let verifier = try verifier()
        let cache = VerifiedTokenCache(capacity: 0)
        let token = token("a")
        for _ in 0..<2 { #expect(throws: Never.self) { try verifier.verify(token, expecting: .access, now: AuthTest.now, cache: cache).get() } }
        #expect(cache.hits == 0)
    }

    @Test("replacing a remote key set empties the cache, so a removed key stops being accepted")
    func generationChange() throws {
        let verifier = try AuthTest.verifier(
            algorithms: [.RS256], keys: [.jwksURL(url: "https://issuer.test/jwks", refresh: .seconds(60))])
        let old = JWTSigningKey.rsa(TestKeys.rsa, kid: "old")
        verifier.replaceRemoteKeys(forIssuer: AuthTest.issuer, with: [old.verificationKey])
        let cache = VerifiedTokenCache()
        let token = AuthTest.token(old, .RS256, header: ["kid": "old"])
        for _ in 0..<2 { #expect(throws: Never.self) { try verifier.verify(token, expecting: .access, now: AuthTest.now, cache: cache).get() } }
        #expect(cache.hits == 1)
        verifier.replaceRemoteKeys(forIssuer: AuthTest.issuer, with: [JWTSigningKey.rsa(TestKeys.rsaOther, kid: "new").verificationKey])
        let after = verifier.verify(token, expecting: .access, now: AuthTest.now, cache: cache)
        #expect(AuthTest.failure(after) == .invalid("the token signature is invalid"))
        #expect(cache.hits == 1)
        #expect(cache.count == 0)
    }

    @Test("a cache used with a new verifier (a reload) starts empty")
    func newVerifier() throws {
        let cache = VerifiedTokenCache()
        let token = token("a")
        _ = try verifier().verify(token, expecting: .access, now: AuthTest.now, cache: cache)
        let strict = try TokenVerifier(settings: {
            var settings = AuthTest.settings(algorithms: [.HS256], keys: [.secret(bytes: TestKeys.secret)])
            settings.require = ["tenant"]
            return settings
        }())
        let result = strict.verify(token, expecting: .access, now: AuthTest.now, cache: cache)
        #expect(AuthTest.failure(result) == .invalid("the token lacks the required claim `tenant`"))
        #expect(cache.hits == 0)
    }
}
