import Crypto
import Testing
import _CryptoExtras

@testable import Portcullis

@Suite("Token verification: algorithms, keys and format")
struct TokenVerifierTests {
    let hmac = JWTSigningKey.hmac(TestKeys.secret)

    func hmacVerifier(_ algorithms: [JWTAlgorithm] = [.HS256]) throws -> TokenVerifier {
        try AuthTest.verifier(algorithms: algorithms, keys: [.secret(bytes: TestKeys.secret)])
    }

    func failure(_ verifier: TokenVerifier, _ token: String, expecting type: TokenType = .access) -> AuthFailure? {
        AuthTest.failure(verifier.verify(token, expecting: type, now: AuthTest.now, cache: nil))
    }

    @Test("an HS256 token signed with the RSA public key PEM as HMAC secret is refused")
    func rsaPublicKeyAsHMACSecret() throws {
        let pem = TestKeys.rsa.publicKey.pemRepresentation
        let verifier = try AuthTest.verifier(
            algorithms: [.RS256, .HS256], keys: [.publicKeyFile(path: "rsa.pub", pem: pem, kid: nil)])
        for secret in [Array(pem.utf8), Array(TestKeys.rsa.publicKey.derRepresentation)] {
            let forged = AuthTest.token(.hmac(secret), .HS256)
            #expect(failure(verifier, forged) == .invalid("no key of the token issuer accepts its algorithm"))
        }
        // The same verifier does accept a genuine RS256 token: the refusal is about the key type.
        #expect(failure(verifier, AuthTest.token(.rsa(TestKeys.rsa), .RS256)) == nil)
    }

    @Test("an HS256 token forged from an EC or JWKS public key is refused")
    func otherPublicKeysAsHMACSecret() throws {
        let ecPEM = TestKeys.p256.publicKey.pemRepresentation
        let jwks = TestJWK.set(TestJWK.rsa(TestKeys.rsa.publicKey))
        let verifier = try AuthTest.verifier(
            algorithms: [.ES256, .RS256, .HS256],
            keys: [.publicKeyFile(path: "ec.pub", pem: ecPEM, kid: nil), .jwksFile(path: "k.json", contents: jwks)])
        for secret in [Array(ecPEM.utf8), jwks, Array(TestKeys.p256.publicKey.x963Representation)] {
            #expect(failure(verifier, AuthTest.token(.hmac(secret), .HS256))?.code == .invalidToken)
        }
    }

    @Test("a header naming RS256 over an HMAC signature is refused by an HMAC-only issuer")
    func asymmetricHeaderWithHMACKey() throws {
        let verifier = try hmacVerifier([.HS256, .RS256])
        let token = AuthTest.token(hmac, .HS256, header: ["alg": "RS256"])
        #expect(failure(verifier, token) == .invalid("no key of the token issuer accepts its algorithm"))
    }

    @Test("alg none is refused in any spelling, signed or not", arguments: ["none", "NONE", "None", "nOnE"])
    func algNone(spelling: String) throws {
        let verifier = try hmacVerifier()
        let signed = AuthTest.token(hmac, .HS256, header: ["alg": .string(spelling)])
        #expect(failure(verifier, signed) == .invalid("unsigned tokens are not accepted"))
        let unsigned = signed.split(separator: ".").prefix(2).joined(separator: ".") + "."
        #expect(failure(verifier, unsigned)?.code == .invalidToken)
    }

    @Test("an unknown, missing or non-string alg is refused", arguments: [JSONValue.string("HS1024"), .string("hs256"), .number(256), .null])
    func badAlg(alg: JSONValue) throws {
        let verifier = try hmacVerifier()
        var header: [String: JSONValue] = ["typ": "JWT", "alg": alg]
        if alg == .null { header["alg"] = nil }
        let token = AuthTest.rawToken(
            header: JSONValue.object(header).compactText, payload: JSONValue.object(AuthTest.claims()).compactText,
            key: hmac, algorithm: .HS256)
        #expect(failure(verifier, token)?.code == .invalidToken)
    }

    @Test("a token with a crit header is refused")
    func critHeader() throws {
        let token = AuthTest.token(hmac, .HS256, header: ["crit": .array(["exp"]), "exp": 1])
        #expect(failure(try hmacVerifier(), token) == .invalid("the token has critical header parameters, which are not supported"))
    }

    @Test("a kid that no key carries falls back to every fitting key (SPEC: tried by kid, then all of them)")
    func unknownKid() throws {
        let verifier = try AuthTest.verifier(
            algorithms: [.RS256], keys: [.publicKeyFile(path: "a.pub", pem: TestKeys.rsa.publicKey.pemRepresentation, kid: "a")])
        #expect(failure(verifier, AuthTest.token(.rsa(TestKeys.rsa), .RS256, header: ["kid": "zzz"])) == nil)
        #expect(
            failure(verifier, AuthTest.token(.rsa(TestKeys.rsaOther), .RS256, header: ["kid": "zzz"]))
                == .invalid("the token signature is invalid"))
        #expect(failure(verifier, AuthTest.token(.rsa(TestKeys.rsa), .RS256, header: ["kid": 7]))?.code == .invalidToken)
    }

    @Test("the kid selects among several keys, and a token without kid tries every fitting key")
    func kidSelection() throws {
        let jwks = TestJWK.set(
            TestJWK.rsa(TestKeys.rsa.publicKey, kid: "a"), TestJWK.rsa(TestKeys.rsaOther.publicKey, kid: "b"),
            TestJWK.ec(TestKeys.p256.publicKey.rawRepresentation, curve: "P-256", kid: "c"))
        let verifier = try AuthTest.verifier(algorithms: [.RS256, .ES256], keys: [.jwksFile(path: "k.json", contents: jwks)])
        let signedByB = JWTSigningKey.rsa(TestKeys.rsaOther)
        #expect(failure(verifier, AuthTest.token(signedByB, .RS256, header: ["kid": "b"])) == nil)
        // A wrong kid is tried first, then the other fitting keys.
        #expect(failure(verifier, AuthTest.token(signedByB, .RS256, header: ["kid": "a"])) == nil)
        #expect(failure(verifier, AuthTest.token(signedByB, .RS256)) == nil)
        // kid "c" names an EC key: an RS256 token naming it is checked with the RSA keys.
        #expect(failure(verifier, AuthTest.token(signedByB, .RS256, header: ["kid": "c"])) == nil)
        #expect(
            failure(verifier, AuthTest.token(.rsa(TestKeys.rsaUnlisted), .RS256, header: ["kid": "a"]))
                == .invalid("the token signature is invalid"))
        let ec = JWTSigningKey(material: .p256(TestKeys.p256))
        #expect(failure(verifier, AuthTest.token(ec, .ES256, header: ["kid": "c"])) == nil)
    }

    @Test("a JWK with alg verifies only that algorithm, and a JWK for encryption is skipped")
    func jwkAlgAndUse() throws {
        let jwks = TestJWK.set(
            TestJWK.rsa(TestKeys.rsa.publicKey, kid: "sig", extra: ["alg": "RS256", "use": "sig"]),
            TestJWK.rsa(TestKeys.rsaOther.publicKey, kid: "enc", extra: ["use": "enc"]))
        let verifier = try AuthTest.verifier(algorithms: [.RS256, .PS256], keys: [.jwksFile(path: "k.json", contents: jwks)])
        #expect(failure(verifier, AuthTest.token(.rsa(TestKeys.rsa), .RS256)) == nil)
        #expect(failure(verifier, AuthTest.token(.rsa(TestKeys.rsa), .PS256))?.code == .invalidToken)
        #expect(failure(verifier, AuthTest.token(.rsa(TestKeys.rsaOther), .RS256, header: ["kid": "enc"])) == .invalid("the token signature is invalid"))
    }

    @Test(
        "malformed tokens are refused as invalid",
        arguments: [
            "", "garbage", "a.b", "a.b.c.d", "...", "!!!.e30.c2ln", "e30.e30.", "e30=.e30.c2ln", "W10.e30.c2ln",
            "e30.e30.c2ln", "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln",
        ])
    func malformed(token: String) throws {
        #expect(failure(try hmacVerifier(), token)?.code == .invalidToken)
    }

    @Test("a signature segment with padding or foreign characters is refused")
    func strictSignatureBase64() throws {
        let verifier = try hmacVerifier()
        let token = AuthTest.token(hmac, .HS256)
        #expect(failure(verifier, token) == nil)
        #expect(failure(verifier, token + "=")?.code == .invalidToken)
        #expect(failure(verifier, token.replacingLast("+"))?.code == .invalidToken)
    }

    @Test("a payload with a duplicate key is refused even when correctly signed")
    func duplicateKey() throws {
        let claims = JSONValue.object(AuthTest.claims()).compactText
        let duplicated = #"{"sub":"mallory","# + claims.dropFirst()
        let token = AuthTest.rawToken(header: #"{"alg":"HS256"}"#, payload: duplicated, key: hmac, algorithm: .HS256)
        #expect(failure(try hmacVerifier(), token) == .invalid("the token payload is not a base64url JSON object"))
        let headerDup = AuthTest.rawToken(header: #"{"alg":"HS256","alg":"none"}"#, payload: claims, key: hmac, algorithm: .HS256)
        #expect(failure(try hmacVerifier(), headerDup)?.code == .invalidToken)
    }

    @Test("an issuer whose only source is a JWKS URL answers keys_unavailable until keys are installed")
    func remoteKeysUnavailable() throws {
        let verifier = try AuthTest.verifier(
            algorithms: [.RS256], keys: [.jwksURL(url: "https://issuer.test/jwks.json", refresh: .seconds(600))])
        let token = AuthTest.token(.rsa(TestKeys.rsa, kid: "r1"), .RS256, header: ["kid": "r1"])
        #expect(verifier.issuersAwaitingKeys == [AuthTest.issuer])
        #expect(failure(verifier, token)?.code == .keysUnavailable)
        let generation = verifier.keyGeneration
        #expect(verifier.replaceRemoteKeys(forIssuer: AuthTest.issuer, with: [JWTSigningKey.rsa(TestKeys.rsa, kid: "r1").verificationKey]))
        #expect(verifier.keyGeneration != generation)
        #expect(verifier.issuersAwaitingKeys.isEmpty)
        #expect(failure(verifier, token) == nil)
        #expect(!verifier.replaceRemoteKeys(forIssuer: "https://other.test", with: []))
    }

    @Test("an issuer with static keys and a JWKS URL verifies with the static keys before any fetch")
    func staticKeysWithRemoteSource() throws {
        let verifier = try AuthTest.verifier(
            algorithms: [.HS256], keys: [.jwksURL(url: "https://issuer.test/jwks.json", refresh: .seconds(600)), .secret(bytes: TestKeys.secret)])
        #expect(failure(verifier, AuthTest.token(hmac, .HS256)) == nil)
        #expect(verifier.issuersAwaitingKeys.isEmpty)
    }
}

extension String {
    /// The string with its last character replaced.
    func replacingLast(_ replacement: Character) -> String { String(dropLast()) + String(replacement) }
}
