import Crypto
import Foundation
import _CryptoExtras

@testable import Portcullis

/// Keys generated once per test run, and builders for settings, PEM/JWKS text and tokens.
enum TestKeys {
    // Generation only fails on an internal BoringSSL error; a crash is the right test outcome.
    static let rsa = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    static let rsaOther = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    static let rsaUnlisted = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    static let p256 = P256.Signing.PrivateKey()
    static let p256Other = P256.Signing.PrivateKey()
    static let p384 = P384.Signing.PrivateKey()
    static let p384Other = P384.Signing.PrivateKey()
    static let ed25519 = Curve25519.Signing.PrivateKey()
    static let ed25519Other = Curve25519.Signing.PrivateKey()
    static let secret = Array("an-hmac-secret-that-is-long-enough-0123456789".utf8)
    static let secretOther = Array("another-hmac-secret-that-is-long-enough-987".utf8)

    static let fixtureP256 = try! JWTSigningKey(pem: KeyFixtures.es256PrivateSEC1)
    static let fixtureP384 = try! JWTSigningKey(pem: KeyFixtures.es384PrivateSEC1)
    static let fixtureRSA = try! JWTSigningKey(pem: KeyFixtures.rsaPrivatePKCS1)
}

enum TestPEM {
    static func wrap(_ label: String, _ der: [UInt8]) -> String {
        let body = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN \(label)-----\n\(body)\n-----END \(label)-----\n"
    }

    /// RFC 8410 SubjectPublicKeyInfo for an Ed25519 key.
    static func ed25519Public(_ key: Curve25519.Signing.PublicKey) -> String {
        wrap("PUBLIC KEY", [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00] + Array(key.rawRepresentation))
    }

    /// RFC 8410 PKCS#8 for an Ed25519 key.
    static func ed25519Private(_ key: Curve25519.Signing.PrivateKey) -> String {
        let prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
        return wrap("PRIVATE KEY", prefix + Array(key.rawRepresentation))
    }
}

enum TestJWK {
    static func b64(_ data: some Collection<UInt8>) -> JSONValue { .string(Base64URL.encode(Array(data))) }

    static func rsa(_ key: _RSA.Signing.PublicKey, kid: String? = nil, extra: [String: JSONValue] = [:]) -> JSONValue {
        let primitives = try! key.getKeyPrimitives()  // a parsed key always has n and e
        return object(["kty": "RSA", "n": b64(primitives.modulus), "e": b64(primitives.publicExponent)], kid, extra)
    }

    static func ec(_ raw: Data, curve: String, kid: String? = nil) -> JSONValue {
        let half = raw.count / 2
        return object(["kty": "EC", "crv": .string(curve), "x": b64(raw.prefix(half)), "y": b64(raw.suffix(half))], kid, [:])
    }

    static func ed25519(_ key: Curve25519.Signing.PublicKey, kid: String? = nil) -> JSONValue {
        object(["kty": "OKP", "crv": "Ed25519", "x": b64(key.rawRepresentation)], kid, [:])
    }

    static func oct(_ secret: [UInt8], kid: String? = nil) -> JSONValue {
        object(["kty": "oct", "k": b64(secret)], kid, [:])
    }

    static func set(_ keys: JSONValue...) -> [UInt8] {
        Array(JSONValue.object(["keys": .array(keys)]).compactText.utf8)
    }

    private static func object(_ members: [String: JSONValue], _ kid: String?, _ extra: [String: JSONValue]) -> JSONValue {
        var members = members
        if let kid { members["kid"] = .string(kid) }
        members.merge(extra) { _, new in new }
        return .object(members)
    }
}

/// Builds settings and tokens around one issuer.
enum AuthTest {
    static let issuer = "https://issuer.test"
    static let audience = "orders-api"
    static let now: Int64 = 1_700_000_000

    static func settings(
        algorithms: [JWTAlgorithm], keys: [KeySourceSettings.Kind], audiences: [String]? = [audience],
        issuer: String = issuer
    ) -> JWTSettings {
        JWTSettings(issuers: [
            IssuerSettings(
                issuer: issuer, audiences: audiences, algorithms: algorithms,
                keys: keys.map { KeySourceSettings(kind: $0, location: SourceLocation(file: "gateway.yaml", line: 9, column: 3)) })
        ])
    }

    static func verifier(algorithms: [JWTAlgorithm], keys: [KeySourceSettings.Kind]) throws -> TokenVerifier {
        try TokenVerifier(settings: settings(algorithms: algorithms, keys: keys))
    }

    /// Standard claims valid at `now`; `overrides` replace them (`.null` removes one).
    static func claims(_ overrides: [String: JSONValue] = [:]) -> [String: JSONValue] {
        var claims: [String: JSONValue] = [
            "iss": .string(issuer), "aud": .string(audience), "sub": "alice", "jti": "jti-1",
            "iat": .number(Double(now - 60)), "exp": .number(Double(now + 600)),
        ]
        for (name, value) in overrides { claims[name] = value == .null ? nil : value }
        return claims
    }

    static func token(
        _ key: JWTSigningKey, _ algorithm: JWTAlgorithm, claims overrides: [String: JSONValue] = [:],
        header: [String: JSONValue] = ["typ": "JWT"]
    ) -> String {
        JWTSigner.sign(header: header, payload: claims(overrides), key: key, algorithm: algorithm)
    }

    /// A token over raw header and payload text (for malformed JSON), signed with `key`.
    static func rawToken(header: String, payload: String, key: JWTSigningKey, algorithm: JWTAlgorithm) -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8))
        return input + "." + Base64URL.encode(key.signature(for: Array(input.utf8), algorithm: algorithm))
    }

    static func failure(_ result: Result<VerifiedToken, AuthFailure>) -> AuthFailure? {
        if case .failure(let failure) = result { return failure }
        return nil
    }
}

extension JWTSigningKey {
    static func rsa(_ key: _RSA.Signing.PrivateKey, kid: String? = nil) -> JWTSigningKey {
        JWTSigningKey(material: .rsa(key), keyID: kid)
    }
}
