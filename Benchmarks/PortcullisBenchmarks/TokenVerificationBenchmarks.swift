import Benchmark
import Crypto
import Foundation
import Portcullis
import _CryptoExtras

/// `TokenVerifier.verify` for HS256, RS256 and ES256 tokens: cold (no cache, so the token is
/// parsed and its signature checked every time, as for a token seen the first time) and cached
/// (a `VerifiedTokenCache` hit: one lookup plus the time and type checks).
func tokenVerificationBenchmarks() {
    for algorithm in [JWTAlgorithm.HS256, .RS256, .ES256] {
        // A public-key signature check takes tens of microseconds: one per iteration is enough.
        let coldScaling: BenchmarkScalingFactor = algorithm == .HS256 ? .kilo : .one
        Benchmark(
            "Token verify \(algorithm.rawValue), cold (signature checked)",
            configuration: .init(scalingFactor: coldScaling)
        ) { benchmark, fixture in
            for _ in benchmark.scaledIterations {
                blackHole(fixture.verifier.verify(fixture.token, expecting: .access, now: fixture.now, cache: nil))
            }
        } setup: {
            try TokenFixture(algorithm)
        }

        Benchmark(
            "Token verify \(algorithm.rawValue), cached",
            configuration: .init(scalingFactor: .kilo)
        ) { benchmark, fixture in
            let cache = fixture.cache
            for _ in benchmark.scaledIterations {
                blackHole(fixture.verifier.verify(fixture.token, expecting: .access, now: fixture.now, cache: cache))
            }
        } setup: { () throws -> TokenFixture in
            let fixture = try TokenFixture(algorithm)
            guard case .success = fixture.verifier.verify(fixture.token, expecting: .access, now: fixture.now, cache: fixture.cache),
                fixture.cache.count == 1
            else { throw FixtureError("the token was not cached") }
            return fixture
        }
    }
}

/// A verifier for one issuer and one algorithm, a valid access token for it, and an empty cache.
final class TokenFixture {
    let verifier: TokenVerifier
    let token: String
    let now: Int64
    let cache = VerifiedTokenCache()

    init(_ algorithm: JWTAlgorithm) throws {
        let signingKey: JWTSigningKey
        let keySource: KeySourceSettings.Kind
        switch algorithm {
        case .HS256:
            let secret = Array("a-benchmark-secret-of-32-bytes-or-more-0123456789".utf8)
            signingKey = .hmac(secret)
            keySource = .secret(bytes: secret)
        case .RS256:
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            signingKey = JWTSigningKey(material: .rsa(key), keyID: "rsa-2026")
            keySource = .publicKeyFile(path: "rsa.pem", pem: key.publicKey.pemRepresentation, kid: "rsa-2026")
        case .ES256:
            let key = P256.Signing.PrivateKey()
            signingKey = JWTSigningKey(material: .p256(key), keyID: "ec-2026")
            keySource = .publicKeyFile(path: "ec.pem", pem: key.publicKey.pemRepresentation, kid: "ec-2026")
        default:
            throw FixtureError("no fixture for \(algorithm.rawValue)")
        }
        verifier = try TokenVerifier(settings: TokenClaims.settings(algorithms: [algorithm], keys: [keySource]))
        now = Int64(Date().timeIntervalSince1970)
        token = TokenClaims.token(signingKey: signingKey, algorithm: algorithm, now: now)
        guard case .success = verifier.verify(token, expecting: .access, now: now, cache: nil) else {
            throw FixtureError("the \(algorithm.rawValue) token does not verify")
        }
    }
}

/// The claims of a typical access token from an OpenID provider, and settings that accept it.
enum TokenClaims {
    static let issuer = "https://id.example.com"
    static let audience = "orders-api"

    static func settings(algorithms: [JWTAlgorithm], keys: [KeySourceSettings.Kind]) -> JWTSettings {
        JWTSettings(issuers: [
            IssuerSettings(
                issuer: issuer, audiences: [audience], algorithms: algorithms,
                keys: keys.map { KeySourceSettings(kind: $0) })
        ])
    }

    /// A token issued a minute before `now`, valid for 15 minutes.
    static func token(signingKey: JWTSigningKey, algorithm: JWTAlgorithm, now: Int64) -> String {
        var header: [String: JSONValue] = ["typ": "JWT"]
        if let keyID = signingKey.keyID { header["kid"] = .string(keyID) }
        let claims: [String: JSONValue] = [
            "iss": .string(issuer), "aud": .string(audience), "sub": "user-7f3c2a91",
            "jti": "0b6e1f2c-5d8a-4c3e-9f47-2a1b3c4d5e6f", "iat": .number(Double(now - 60)),
            "exp": .number(Double(now + 840)), "type": "access", "scope": "orders:read orders:write",
            "email": "alice@example.com",
        ]
        return JWTSigner.sign(header: header, payload: claims, key: signingKey, algorithm: algorithm)
    }
}
