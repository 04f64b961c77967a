import Crypto
import _CryptoExtras

/// Reads private keys from PEM: `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY`, `EC PRIVATE KEY`.
enum PrivateKeyParser {
    static func parsePEM(_ text: String) throws(KeyParseError) -> JWTSigningKey.Material {
        let blocks = try PEMBlock.parseAll(text)
        for block in blocks {
            switch block.label {
            case "PRIVATE KEY": return try parsePKCS8(block.der)
            case "RSA PRIVATE KEY": return .rsa(try rsaPrivateKey(der: block.der))
            case "EC PRIVATE KEY": return try parseSEC1(block.der, curve: nil)
            case "ENCRYPTED PRIVATE KEY": throw KeyParseError("encrypted private keys are not supported")
            default: continue
            }
        }
        throw KeyParseError("no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block found")
    }

    /// RFC 5208 `PrivateKeyInfo`.
    static func parsePKCS8(_ der: [UInt8]) throws(KeyParseError) -> JWTSigningKey.Material {
        var outer = DERReader(der[...])
        guard var info = outer.enter(), info.read(DERReader.Tag.integer) != nil,
            var algorithm = info.enter(), let oid = algorithm.read(DERReader.Tag.objectIdentifier),
            let privateKey = info.read(DERReader.Tag.octetString)
        else { throw KeyParseError("the private key is not valid PKCS#8") }
        switch Array(oid.content) {
        case KeyOID.rsaEncryption, KeyOID.rsassaPSS:
            return .rsa(try rsaPrivateKey(der: der))
        case KeyOID.ecPublicKey:
            let curve = algorithm.read(DERReader.Tag.objectIdentifier).map { Array($0.content) }
            return try parseSEC1(Array(privateKey.content), curve: curve)
        case KeyOID.ed25519:
            // RFC 8410: the octet string wraps another OCTET STRING with the 32-byte seed.
            var inner = DERReader(privateKey.content)
            guard let seed = inner.read(DERReader.Tag.octetString), seed.content.count == 32,
                let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed.content)
            else { throw KeyParseError("the Ed25519 private key is malformed") }
            return .ed25519(key)
        default:
            throw KeyParseError("unsupported private key type (RSA, EC P-256/P-384 and Ed25519 are supported)")
        }
    }

    /// RFC 5915 `ECPrivateKey`; the curve comes from PKCS#8, the `[0]` parameters, or the key size.
    static func parseSEC1(_ der: [UInt8], curve: [UInt8]?) throws(KeyParseError) -> JWTSigningKey.Material {
        var outer = DERReader(der[...])
        guard var key = outer.enter(), key.read(DERReader.Tag.integer) != nil,
            let scalar = key.read(DERReader.Tag.octetString)
        else { throw KeyParseError("the EC private key is malformed") }
        var curve = curve
        if var parameters = key.enter(DERReader.Tag.contextConstructed(0)),
            let oid = parameters.read(DERReader.Tag.objectIdentifier)
        {
            curve = Array(oid.content)
        }
        switch curve ?? (scalar.content.count == 48 ? KeyOID.p384 : KeyOID.p256) {
        case KeyOID.p256:
            guard let key = try? P256.Signing.PrivateKey(rawRepresentation: scalar.content) else { break }
            return .p256(key)
        case KeyOID.p384:
            guard let key = try? P384.Signing.PrivateKey(rawRepresentation: scalar.content) else { break }
            return .p384(key)
        default:
            throw KeyParseError("only the P-256 and P-384 curves are supported")
        }
        throw KeyParseError("the EC private key does not fit its curve")
    }

    static func rsaPrivateKey(der: [UInt8]) throws(KeyParseError) -> _RSA.Signing.PrivateKey {
        if let key = try? _RSA.Signing.PrivateKey(derRepresentation: der) { return key }
        if let weak = try? _RSA.Signing.PrivateKey(unsafeDERRepresentation: der) {
            throw KeyParseError("the RSA key has \(weak.keySizeInBits) bits; at least 2048 are required")
        }
        throw KeyParseError("the RSA private key is malformed")
    }
}
