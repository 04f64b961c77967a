import Crypto
import Testing
import _CryptoExtras

@testable import Portcullis

@Suite("Key sources: parsing and config errors")
struct KeySourceTests {
    static let location = SourceLocation(file: "gateway.yaml", line: 12, column: 9)

    func errors(_ kinds: [KeySourceSettings.Kind]) -> [ConfigError] {
        let settings = JWTSettings(issuers: [
            IssuerSettings(
                issuer: AuthTest.issuer, audiences: nil, algorithms: [.RS256],
                keys: kinds.map { KeySourceSettings(kind: $0, location: Self.location) })
        ])
        do {
            _ = try TokenVerifier(settings: settings)
            return []
        } catch {
            return error.errors
        }
    }

    @Test("an unparseable PEM is a config error at the key source's position, naming the file")
    func badPEM() {
        let found = errors([.publicKeyFile(path: "keys/bad.pem", pem: "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n", kid: nil)])
        #expect(found == [ConfigError("invalid key file keys/bad.pem: the PEM block PUBLIC KEY has an invalid base64 body", at: Self.location)])
        #expect(found.first?.description.hasPrefix("gateway.yaml:12:9: ") == true)
    }

    @Test("an RSA key under 2048 bits is refused with its size")
    func weakRSA() {
        let found = errors([.publicKeyFile(path: "weak.pem", pem: KeyFixtures.rsa1024Public, kid: nil)])
        #expect(found.map(\.message) == ["invalid key file weak.pem: the RSA key has 1024 bits; at least 2048 are required"])
    }

    @Test("every bad source is reported, not just the first")
    func reportsAll() {
        let found = errors([
            .publicKeyFile(path: "a.pem", pem: "not pem", kid: nil),
            .secret(bytes: []),
            .jwksFile(path: "k.json", contents: Array("{}".utf8)),
            .privateKeyFile(path: "p.pem", pem: TestKeys.p256.publicKey.pemRepresentation, kid: nil),
        ])
        #expect(found.map(\.message) == [
            "invalid key file a.pem: no PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE block found",
            "the HMAC secret is empty",
            "invalid key file k.json: the JWKS has no \"keys\" array",
            "invalid key file p.pem: no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block found",
        ])
    }

    @Test("a private key given as a public key file gets a hint")
    func privateAsPublic() {
        let found = errors([.publicKeyFile(path: "k.pem", pem: TestKeys.p256.pemRepresentation, kid: nil)])
        #expect(found.map(\.message) == ["invalid key file k.pem: the file holds a private key; use private_key_file for it"])
    }

    @Test("a JWKS file with a malformed key or no usable key is refused")
    func badJWKS() {
        let badEC = TestJWK.set(.object(["kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"]))
        #expect(errors([.jwksFile(path: "k.json", contents: badEC)]).map(\.message) == ["invalid key file k.json: JWKS key 0: the P-256 coordinates have the wrong length"])
        let onlyEnc = TestJWK.set(TestJWK.rsa(TestKeys.rsa.publicKey, extra: ["use": "enc"]), .object(["kty": "EC", "crv": "P-521"]))
        #expect(errors([.jwksFile(path: "k.json", contents: onlyEnc)]).map(\.message) == ["invalid key file k.json: the JWKS has no usable signing key"])
        let mismatched = TestJWK.set(TestJWK.rsa(TestKeys.rsa.publicKey, extra: ["alg": "ES256"]))
        #expect(errors([.jwksFile(path: "k.json", contents: mismatched)]).count == 1)
        #expect(errors([.jwksFile(path: "k.json", contents: Array("[]".utf8))]).count == 1)
    }

    @Test("a remote JWKS skips a malformed key instead of failing the set")
    func lenientJWKS() throws {
        let set = TestJWK.set(.object(["kty": "RSA", "n": "AQAB"]), TestJWK.rsa(TestKeys.rsa.publicKey, kid: "ok"))
        let keys = try JWKSParser.parse(set, strict: false)
        #expect(keys.map(\.keyID) == ["ok"])
    }

    @Test("a bare JWK file is read as a set of one")
    func bareJWK() throws {
        let jwk = Array(TestJWK.ed25519(TestKeys.ed25519.publicKey, kid: "ed").compactText.utf8)
        #expect(try JWKSParser.parse(jwk, strict: true).map(\.keyID) == ["ed"])
    }

    @Test("a certificate chain yields the leaf key only")
    func certificateChain() throws {
        let chain = KeyFixtures.es256Certificate + "\n" + KeyFixtures.rsaCertificate
        let material = try PublicKeyParser.parsePEM(chain)
        guard case .p256(let key) = material else {
            Issue.record("expected the P-256 leaf key")
            return
        }
        guard case .p256(let fixture) = TestKeys.fixtureP256.material else { return }
        #expect(key.rawRepresentation == fixture.publicKey.rawRepresentation)
    }

    @Test("duplicate issuers and issuers without keys are config errors")
    func issuerErrors() {
        let issuerLocation = SourceLocation(file: "gateway.yaml", line: 3, column: 15)
        let settings = JWTSettings(issuers: [
            IssuerSettings(issuer: "a", audiences: nil, algorithms: [.HS256], keys: [KeySourceSettings(kind: .secret(bytes: [1]))]),
            IssuerSettings(issuer: "a", audiences: nil, algorithms: [.HS256], keys: [KeySourceSettings(kind: .secret(bytes: [1]))], location: issuerLocation),
            IssuerSettings(issuer: "b", audiences: nil, algorithms: [.HS256], keys: [], location: issuerLocation),
        ])
        #expect(throws: ConfigErrors.self) { try TokenVerifier(settings: settings) }
        do {
            _ = try TokenVerifier(settings: settings)
        } catch {
            #expect(error.errors == [
                ConfigError("issuer a is listed twice", at: issuerLocation), ConfigError("issuer b has no keys", at: issuerLocation),
            ])
        }
    }

    @Test("PEM parsing refuses encrypted keys and unterminated blocks")
    func pemEdgeCases() {
        #expect(throws: KeyParseError("encrypted private keys are not supported")) {
            try JWTSigningKey(pem: "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
        }
        #expect(throws: KeyParseError("the PEM block PUBLIC KEY has no END line")) {
            try PublicKeyParser.parsePEM("-----BEGIN PUBLIC KEY-----\nAAAA\n")
        }
        #expect(throws: KeyParseError("encrypted PEM keys are not supported")) {
            try JWTSigningKey(pem: "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nAAAA\n-----END RSA PRIVATE KEY-----\n")
        }
    }

    @Test("the public half of a private key file verifies what the private key signs")
    func privateKeyPublicHalf() throws {
        for (pem, algorithm) in [(TestKeys.rsa.pemRepresentation, JWTAlgorithm.RS256), (KeyFixtures.es384PrivateSEC1, .ES384)] {
            let key = try JWTSigningKey(pem: pem)
            let input: ArraySlice<UInt8> = Array("header.payload".utf8)[...]
            let signature = key.signature(for: Array(input), algorithm: algorithm)
            #expect(key.verificationKey.isValidSignature(signature, for: input, algorithm: algorithm))
            #expect(!key.verificationKey.isValidSignature(signature, for: input.dropLast(), algorithm: algorithm))
        }
    }
}
