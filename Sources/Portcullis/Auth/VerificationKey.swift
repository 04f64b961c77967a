import Crypto
import _CryptoExtras

/// A key that can check JWS signatures, with the algorithms it may be used for.
///
/// The algorithm family is bound to the key type here, once: an RSA or EC key can never be
/// reached through an HS* algorithm, which rules out the classic alg-confusion attack.
public struct VerificationKey: Sendable {
    public enum Material: Sendable {
        case hmac(SymmetricKey)
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
        case p384(P384.Signing.PublicKey)
        case ed25519(Curve25519.Signing.PublicKey)
    }

    public var material: Material
    /// The key id (`kid`), when the source names one.
    public var keyID: String?
    /// A JWK `alg` member: the key then verifies only this algorithm.
    public var restrictedTo: JWTAlgorithm?

    public init(material: Material, keyID: String? = nil, restrictedTo: JWTAlgorithm? = nil) {
        self.material = material
        self.keyID = keyID
        self.restrictedTo = restrictedTo
    }

    /// Whether this key may verify `algorithm` (key type fits, and any JWK `alg` agrees).
    public func supports(_ algorithm: JWTAlgorithm) -> Bool {
        if let restrictedTo, restrictedTo != algorithm { return false }
        return material.fits(algorithm)
    }

    /// Checks `signature` over `signingInput` (the ASCII `header.payload`). False for any
    /// algorithm the key does not support.
    func isValidSignature(_ signature: [UInt8], for signingInput: ArraySlice<UInt8>, algorithm: JWTAlgorithm) -> Bool {
        guard supports(algorithm) else { return false }
        switch (material, algorithm) {
        case (.hmac(let key), .HS256):
            return HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: key)
        case (.hmac(let key), .HS384):
            return HMAC<SHA384>.isValidAuthenticationCode(signature, authenticating: signingInput, using: key)
        case (.hmac(let key), .HS512):
            return HMAC<SHA512>.isValidAuthenticationCode(signature, authenticating: signingInput, using: key)
        case (.rsa(let key), _):
            let rsaSignature = _RSA.Signing.RSASignature(rawRepresentation: signature)
            let padding: _RSA.Signing.Padding = algorithm.usesPSS ? .PSS : .insecurePKCS1v1_5
            switch algorithm {
            case .RS256, .PS256:
                return key.isValidSignature(rsaSignature, for: SHA256.hash(data: signingInput), padding: padding)
            case .RS384, .PS384:
                return key.isValidSignature(rsaSignature, for: SHA384.hash(data: signingInput), padding: padding)
            default:
                return key.isValidSignature(rsaSignature, for: SHA512.hash(data: signingInput), padding: padding)
            }
        case (.p256(let key), _):
            // JWS carries raw r||s; the init refuses any other length.
            guard let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(ecdsa, for: SHA256.hash(data: signingInput))
        case (.p384(let key), _):
            guard let ecdsa = try? P384.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(ecdsa, for: SHA384.hash(data: signingInput))
        case (.ed25519(let key), _):
            return key.isValidSignature(signature, for: signingInput)
        default:
            return false
        }
    }
}

extension VerificationKey.Material {
    func fits(_ algorithm: JWTAlgorithm) -> Bool {
        switch (self, algorithm) {
        case (.hmac, .HS256), (.hmac, .HS384), (.hmac, .HS512): true
        case (.rsa, .RS256), (.rsa, .RS384), (.rsa, .RS512), (.rsa, .PS256), (.rsa, .PS384), (.rsa, .PS512): true
        case (.p256, .ES256), (.p384, .ES384), (.ed25519, .EdDSA): true
        default: false
        }
    }
}

extension JWTAlgorithm {
    var usesPSS: Bool { self == .PS256 || self == .PS384 || self == .PS512 }
}
