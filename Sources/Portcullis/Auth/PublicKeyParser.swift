import Crypto
import _CryptoExtras

/// Reads public keys from PEM (`PUBLIC KEY`, `RSA PUBLIC KEY`, `CERTIFICATE`) and DER.
enum PublicKeyParser {
    static let acceptedLabels: Set<String> = ["PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE"]

    /// The key of the first public-key or certificate block in `text` (for a chain, the leaf).
    static func parsePEM(_ text: String) throws(KeyParseError) -> VerificationKey.Material {
        let blocks = try PEMBlock.parseAll(text)
        guard let block = blocks.first(where: { acceptedLabels.contains($0.label) }) else {
            if blocks.contains(where: { $0.label.hasSuffix("PRIVATE KEY") }) {
                throw KeyParseError("the file holds a private key; use private_key_file for it")
            }
            throw KeyParseError("no PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE block found")
        }
        switch block.label {
        case "RSA PUBLIC KEY": return .rsa(try rsaPublicKey(der: block.der))
        case "CERTIFICATE": return try parseCertificate(block.der[...])
        default: return try parseSPKI(block.der[...])
        }
    }

    /// A DER `SubjectPublicKeyInfo` (RFC 5280 §4.1) holding an RSA, P-256, P-384 or Ed25519 key.
    static func parseSPKI(_ der: ArraySlice<UInt8>) throws(KeyParseError) -> VerificationKey.Material {
        var outer = DERReader(der)
        guard var spki = outer.enter(), outer.isAtEnd, var algorithm = spki.enter(),
            let oid = algorithm.read(DERReader.Tag.objectIdentifier),
            let bits = spki.read(DERReader.Tag.bitString), spki.isAtEnd,
            bits.content.first == 0
        else { throw KeyParseError("the public key is not a valid SubjectPublicKeyInfo") }
        let key = bits.content.dropFirst()
        switch Array(oid.content) {
        case KeyOID.rsaEncryption, KeyOID.rsassaPSS:
            return .rsa(try rsaPublicKey(der: Array(der)))
        case KeyOID.ecPublicKey:
            let curve = algorithm.read(DERReader.Tag.objectIdentifier).map { Array($0.content) }
            let material: VerificationKey.Material?
            switch curve {
            case KeyOID.p256: material = (try? P256.Signing.PublicKey(x963Representation: key)).map { .p256($0) }
            case KeyOID.p384: material = (try? P384.Signing.PublicKey(x963Representation: key)).map { .p384($0) }
            default: throw KeyParseError("only the P-256 and P-384 curves are supported")
            }
            guard let material else { throw KeyParseError("the EC public key is not a valid curve point") }
            return material
        case KeyOID.ed25519:
            guard key.count == 32, let ed = try? Curve25519.Signing.PublicKey(rawRepresentation: key) else {
                throw KeyParseError("the Ed25519 public key must be 32 bytes")
            }
            return .ed25519(ed)
        default:
            throw KeyParseError("unsupported public key type (RSA, EC P-256/P-384 and Ed25519 are supported)")
        }
    }

    /// The subject key of an X.509 certificate. Validity and chain are not checked: the
    /// certificate is only a container for a key the operator chose to trust.
    static func parseCertificate(_ der: ArraySlice<UInt8>) throws(KeyParseError) -> VerificationKey.Material {
        var outer = DERReader(der)
        guard var certificate = outer.enter(), var tbs = certificate.enter() else {
            throw KeyParseError("the certificate is not valid DER")
        }
        if tbs.peekTag == DERReader.Tag.contextConstructed(0) { _ = tbs.read() }  // version
        guard tbs.read(DERReader.Tag.integer) != nil,  // serialNumber
            tbs.read(DERReader.Tag.sequence) != nil,  // signature
            tbs.read(DERReader.Tag.sequence) != nil,  // issuer
            tbs.read(DERReader.Tag.sequence) != nil,  // validity
            tbs.read(DERReader.Tag.sequence) != nil,  // subject
            let spki = tbs.read(DERReader.Tag.sequence)
        else { throw KeyParseError("the certificate has no readable subject public key") }
        return try parseSPKI(spki.encoded)
    }

    /// An RSA public key from SPKI or PKCS#1 DER, refusing keys under 2048 bits by name.
    static func rsaPublicKey(der: [UInt8]) throws(KeyParseError) -> _RSA.Signing.PublicKey {
        if let key = try? _RSA.Signing.PublicKey(derRepresentation: der) { return key }
        if let weak = try? _RSA.Signing.PublicKey(unsafeDERRepresentation: der) {
            throw KeyParseError("the RSA key has \(weak.keySizeInBits) bits; at least 2048 are required")
        }
        throw KeyParseError("the RSA public key is malformed")
    }
}
