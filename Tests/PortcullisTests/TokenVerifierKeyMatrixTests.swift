import Crypto
import Testing
import _CryptoExtras

@testable import Portcullis

/// Every algorithm against every kind of key source: accepted with the right key, refused
/// with another key, refused when the algorithm is not on the issuer's allow-list.
@Suite("Token verification across algorithms and key sources")
struct TokenVerifierKeyMatrixTests {
    struct KeyCase: Sendable, CustomTestStringConvertible {
        var name: String
        var algorithm: JWTAlgorithm
        var signer: JWTSigningKey
        var other: JWTSigningKey
        var source: KeySourceSettings.Kind
        var testDescription: String { "\(algorithm.rawValue) via \(name)" }
    }

    static let cases: [KeyCase] = {
        let secret = JWTSigningKey.hmac(TestKeys.secret)
        let secretOther = JWTSigningKey.hmac(TestKeys.secretOther)
        let rsa = JWTSigningKey.rsa(TestKeys.rsa)
        let rsaOther = JWTSigningKey.rsa(TestKeys.rsaOther)
        let p256 = JWTSigningKey(material: .p256(TestKeys.p256))
        let p256Other = JWTSigningKey(material: .p256(TestKeys.p256Other))
        let p384 = JWTSigningKey(material: .p384(TestKeys.p384))
        let p384Other = JWTSigningKey(material: .p384(TestKeys.p384Other))
        let ed = JWTSigningKey(material: .ed25519(TestKeys.ed25519))
        let edOther = JWTSigningKey(material: .ed25519(TestKeys.ed25519Other))
        let rsaSPKI = KeySourceSettings.Kind.publicKeyFile(path: "rsa.pub", pem: TestKeys.rsa.publicKey.pemRepresentation, kid: nil)
        var cases: [KeyCase] = []
        for algorithm in [JWTAlgorithm.HS256, .HS384, .HS512] {
            cases.append(KeyCase(name: "secret", algorithm: algorithm, signer: secret, other: secretOther, source: .secret(bytes: TestKeys.secret)))
        }
        cases.append(KeyCase(name: "JWKS oct key", algorithm: .HS384, signer: secret, other: secretOther, source: .jwksFile(path: "k.json", contents: TestJWK.set(TestJWK.oct(TestKeys.secret)))))
        for algorithm in [JWTAlgorithm.RS256, .RS384, .RS512, .PS256, .PS384, .PS512] {
            cases.append(KeyCase(name: "PEM PUBLIC KEY", algorithm: algorithm, signer: rsa, other: rsaOther, source: rsaSPKI))
        }
        cases += [
            KeyCase(name: "PEM RSA PUBLIC KEY", algorithm: .RS256, signer: rsa, other: rsaOther, source: .publicKeyFile(path: "rsa1.pub", pem: TestKeys.rsa.publicKey.pkcs1PEMRepresentation, kid: nil)),
            KeyCase(name: "PEM CERTIFICATE", algorithm: .RS256, signer: TestKeys.fixtureRSA, other: rsaOther, source: .publicKeyFile(path: "rsa.crt", pem: KeyFixtures.rsaCertificate, kid: nil)),
            KeyCase(name: "JWKS RSA key", algorithm: .RS256, signer: rsa, other: rsaOther, source: .jwksFile(path: "k.json", contents: TestJWK.set(TestJWK.rsa(TestKeys.rsa.publicKey)))),
            KeyCase(name: "JWKS RSA key", algorithm: .PS512, signer: rsa, other: rsaOther, source: .jwksFile(path: "k.json", contents: TestJWK.set(TestJWK.rsa(TestKeys.rsa.publicKey)))),
            KeyCase(name: "RSA PRIVATE KEY file", algorithm: .RS384, signer: rsa, other: rsaOther, source: .privateKeyFile(path: "rsa.key", pem: TestKeys.rsa.pemRepresentation, kid: nil)),
            KeyCase(name: "PKCS#8 RSA PRIVATE KEY file", algorithm: .PS256, signer: rsa, other: rsaOther, source: .privateKeyFile(path: "rsa.p8", pem: TestKeys.rsa.pkcs8PEMRepresentation, kid: nil)),
            KeyCase(name: "OpenSSL RSA PRIVATE KEY file", algorithm: .RS512, signer: TestKeys.fixtureRSA, other: rsaOther, source: .privateKeyFile(path: "rsa.pem", pem: KeyFixtures.rsaPrivatePKCS1, kid: nil)),
            KeyCase(name: "PEM PUBLIC KEY", algorithm: .ES256, signer: p256, other: p256Other, source: .publicKeyFile(path: "p256.pub", pem: TestKeys.p256.publicKey.pemRepresentation, kid: nil)),
            KeyCase(name: "PEM CERTIFICATE", algorithm: .ES256, signer: TestKeys.fixtureP256, other: p256Other, source: .publicKeyFile(path: "p256.crt", pem: KeyFixtures.es256Certificate, kid: nil)),
            KeyCase(name: "JWKS EC key", algorithm: .ES256, signer: p256, other: p256Other, source: .jwksFile(path: "k.json", contents: TestJWK.set(TestJWK.ec(TestKeys.p256.publicKey.rawRepresentation, curve: "P-256")))),
            KeyCase(name: "PKCS#8 PRIVATE KEY file", algorithm: .ES256, signer: p256, other: p256Other, source: .privateKeyFile(path: "p256.key", pem: TestKeys.p256.pemRepresentation, kid: nil)),
            KeyCase(name: "OpenSSL EC PRIVATE KEY file", algorithm: .ES256, signer: TestKeys.fixtureP256, other: p256Other, source: .privateKeyFile(path: "ec.pem", pem: KeyFixtures.es256PrivateSEC1, kid: nil)),
            KeyCase(name: "PEM PUBLIC KEY", algorithm: .ES384, signer: p384, other: p384Other, source: .publicKeyFile(path: "p384.pub", pem: TestKeys.p384.publicKey.pemRepresentation, kid: nil)),
            KeyCase(name: "JWKS EC key", algorithm: .ES384, signer: p384, other: p384Other, source: .jwksFile(path: "k.json", contents: TestJWK.set(TestJWK.ec(TestKeys.p384.publicKey.rawRepresentation, curve: "P-384")))),
            KeyCase(name: "PKCS#8 PRIVATE KEY file", algorithm: .ES384, signer: p384, other: p384Other, source: .privateKeyFile(path: "p384.key", pem: TestKeys.p384.pemRepresentation, kid: nil)),
            KeyCase(name: "OpenSSL EC PRIVATE KEY file", algorithm: .ES384, signer: TestKeys.fixtureP384, other: p384Other, source: .privateKeyFile(path: "ec384.pem", pem: KeyFixtures.es384PrivateSEC1, kid: nil)),
            KeyCase(name: "PEM PUBLIC KEY", algorithm: .EdDSA, signer: ed, other: edOther, source: .publicKeyFile(path: "ed.pub", pem: TestPEM.ed25519Public(TestKeys.ed25519.publicKey), kid: nil)),
            KeyCase(name: "JWKS OKP key", algorithm: .EdDSA, signer: ed, other: edOther, source: .jwksFile(path: "k.json", contents: TestJWK.set(TestJWK.ed25519(TestKeys.ed25519.publicKey)))),
            KeyCase(name: "PKCS#8 PRIVATE KEY file", algorithm: .EdDSA, signer: ed, other: edOther, source: .privateKeyFile(path: "ed.key", pem: TestPEM.ed25519Private(TestKeys.ed25519), kid: nil)),
        ]
        return cases
    }()

    @Test("a token signed with the configured key is accepted", arguments: cases)
    func accepted(keyCase: KeyCase) throws {
        let verifier = try AuthTest.verifier(algorithms: [keyCase.algorithm], keys: [keyCase.source])
        let token = AuthTest.token(keyCase.signer, keyCase.algorithm)
        let verified = try verifier.verify(token, expecting: .access, now: AuthTest.now, cache: nil).get()
        #expect(verified.subject == "alice")
        #expect(verified.issuer == AuthTest.issuer)
        #expect(verified.algorithm == keyCase.algorithm)
    }

    @Test("a token signed with another key of the same type is refused", arguments: cases)
    func otherKeyRefused(keyCase: KeyCase) throws {
        let verifier = try AuthTest.verifier(algorithms: [keyCase.algorithm], keys: [keyCase.source])
        let token = AuthTest.token(keyCase.other, keyCase.algorithm)
        let result = verifier.verify(token, expecting: .access, now: AuthTest.now, cache: nil)
        #expect(AuthTest.failure(result) == AuthFailure(.invalidToken, "the token signature is invalid"))
    }

    @Test("a token whose algorithm is not on the issuer allow-list is refused", arguments: cases)
    func algorithmNotAllowed(keyCase: KeyCase) throws {
        let others = JWTAlgorithm.allCases.filter { $0 != keyCase.algorithm }
        let verifier = try AuthTest.verifier(algorithms: others, keys: [keyCase.source])
        let token = AuthTest.token(keyCase.signer, keyCase.algorithm)
        let result = verifier.verify(token, expecting: .access, now: AuthTest.now, cache: nil)
        #expect(AuthTest.failure(result) == AuthFailure(.invalidToken, "the token algorithm is not allowed for its issuer"))
    }

    @Test("a token whose payload was altered after signing is refused", arguments: cases)
    func alteredPayloadRefused(keyCase: KeyCase) throws {
        let verifier = try AuthTest.verifier(algorithms: [keyCase.algorithm], keys: [keyCase.source])
        let parts = AuthTest.token(keyCase.signer, keyCase.algorithm).split(separator: ".")
        let forged = Base64URL.encode(Array(JSONValue.object(AuthTest.claims(["sub": "mallory"])).compactText.utf8))
        let result = verifier.verify("\(parts[0]).\(forged).\(parts[2])", expecting: .access, now: AuthTest.now, cache: nil)
        #expect(AuthTest.failure(result)?.code == .invalidToken)
    }
}
