import Crypto
import _CryptoExtras

/// A private (or HMAC) key that can sign JWS tokens: for `portcullis token`, the demo and tests.
public struct JWTSigningKey: Sendable {
    public enum Material: Sendable {
        case hmac(SymmetricKey)
        case rsa(_RSA.Signing.PrivateKey)
        case p256(P256.Signing.PrivateKey)
        case p384(P384.Signing.PrivateKey)
        case ed25519(Curve25519.Signing.PrivateKey)
    }

    public var material: Material
    /// Written as the header `kid` by ``TokenMinter``.
    public var keyID: String?

    public init(material: Material, keyID: String? = nil) {
        self.material = material
        self.keyID = keyID
    }

    /// An HMAC key made of the raw bytes of `secret`.
    public static func hmac<Bytes: Sequence<UInt8>>(_ secret: Bytes, keyID: String? = nil) -> JWTSigningKey {
        JWTSigningKey(material: .hmac(SymmetricKey(data: Array(secret))), keyID: keyID)
    }

    /// Reads the first `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` (PKCS#1) or `EC PRIVATE KEY`
    /// (SEC 1) block of a PEM file; other blocks (such as `EC PARAMETERS`) are skipped.
    public init(pem: String, keyID: String? = nil) throws(KeyParseError) {
        self.init(material: try PrivateKeyParser.parsePEM(pem), keyID: keyID)
    }

    /// The public half (the same bytes for HMAC), which verifies what this key signs.
    public var verificationKey: VerificationKey {
        let material: VerificationKey.Material
        switch self.material {
        case .hmac(let key): material = .hmac(key)
        case .rsa(let key): material = .rsa(key.publicKey)
        case .p256(let key): material = .p256(key.publicKey)
        case .p384(let key): material = .p384(key.publicKey)
        case .ed25519(let key): material = .ed25519(key.publicKey)
        }
        return VerificationKey(material: material, keyID: keyID)
    }

    /// Whether the key type fits `algorithm`.
    public func supports(_ algorithm: JWTAlgorithm) -> Bool {
        verificationKey.material.fits(algorithm)
    }

    /// The JWS signature of `input`. The key must support `algorithm` (a programming error otherwise).
    func signature(for input: [UInt8], algorithm: JWTAlgorithm) -> [UInt8] {
        precondition(supports(algorithm), "a \(material.typeName) key cannot sign \(algorithm.rawValue)")
        do {
            switch (material, algorithm) {
            case (.hmac(let key), .HS256): return Array(HMAC<SHA256>.authenticationCode(for: input, using: key))
            case (.hmac(let key), .HS384): return Array(HMAC<SHA384>.authenticationCode(for: input, using: key))
            case (.hmac(let key), _): return Array(HMAC<SHA512>.authenticationCode(for: input, using: key))
            case (.rsa(let key), _):
                let padding: _RSA.Signing.Padding = algorithm.usesPSS ? .PSS : .insecurePKCS1v1_5
                switch algorithm {
                case .RS256, .PS256:
                    return Array(try key.signature(for: SHA256.hash(data: input), padding: padding).rawRepresentation)
                case .RS384, .PS384:
                    return Array(try key.signature(for: SHA384.hash(data: input), padding: padding).rawRepresentation)
                default:
                    return Array(try key.signature(for: SHA512.hash(data: input), padding: padding).rawRepresentation)
                }
            case (.p256(let key), _): return Array(try key.signature(for: SHA256.hash(data: input)).rawRepresentation)
            case (.p384(let key), _): return Array(try key.signature(for: SHA384.hash(data: input)).rawRepresentation)
            case (.ed25519(let key), _): return Array(try key.signature(for: input))
            }
        } catch {
            // Signing with a well-formed key only fails on an internal BoringSSL error.
            preconditionFailure("signing failed: \(error)")
        }
    }
}

extension JWTSigningKey.Material {
    var typeName: String {
        switch self {
        case .hmac: "HMAC"
        case .rsa: "RSA"
        case .p256: "P-256"
        case .p384: "P-384"
        case .ed25519: "Ed25519"
        }
    }
}
