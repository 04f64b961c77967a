import Crypto
import _CryptoExtras

/// Reads a JWK Set (RFC 7517) into verification keys.
///
/// Keys that are not for signatures (`use` other than `sig`), or of a type or `alg` we do not
/// support, are skipped: a set published by an identity provider often carries such keys.
/// A key of a supported type that is malformed is an error when `strict` (a local file the
/// operator controls) and skipped otherwise (a remote set, where one bad key must not hide
/// the others).
enum JWKSParser {
    static func parse(_ bytes: [UInt8], strict: Bool) throws(KeyParseError) -> [VerificationKey] {
        guard let document = JSONValue.parse(bytes), case .object(let members) = document else {
            throw KeyParseError("the JWKS is not a JSON object")
        }
        let entries: [JSONValue]
        if members["kty"] != nil {
            entries = [document]  // a bare JWK is accepted as a set of one
        } else if case .array(let keys)? = members["keys"] {
            entries = keys
        } else {
            throw KeyParseError("the JWKS has no \"keys\" array")
        }
        var keys: [VerificationKey] = []
        for (index, entry) in entries.enumerated() {
            do {
                if let key = try parseKey(entry) { keys.append(key) }
            } catch {
                if strict { throw KeyParseError("JWKS key \(index): \(error.message)") }
            }
        }
        if strict, keys.isEmpty { throw KeyParseError("the JWKS has no usable signing key") }
        return keys
    }

    /// One JWK; `nil` when it is of a kind we skip.
    static func parseKey(_ jwk: JSONValue) throws(KeyParseError) -> VerificationKey? {
        guard case .object(let members) = jwk else { throw KeyParseError("a key is not a JSON object") }
        if let use = members["use"], use != .string("sig") { return nil }
        var restriction: JWTAlgorithm?
        if let alg = members["alg"] {
            guard let name = alg.stringValue else { throw KeyParseError("\"alg\" is not a string") }
            guard let algorithm = JWTAlgorithm(rawValue: name) else { return nil }
            restriction = algorithm
        }
        var keyID: String?
        if let kid = members["kid"] {
            guard let value = kid.stringValue else { throw KeyParseError("\"kid\" is not a string") }
            keyID = value
        }
        guard let kty = members["kty"]?.stringValue else { throw KeyParseError("\"kty\" is missing") }
        let material: VerificationKey.Material
        switch kty {
        case "RSA":
            let n = try bytes(members, "n")
            let e = try bytes(members, "e")
            do {
                material = .rsa(try _RSA.Signing.PublicKey(n: n, e: e))
            } catch {
                let bits = n.drop(while: { $0 == 0 }).count * 8
                throw KeyParseError(bits < 2048 ? "the RSA key is under 2048 bits" : "the RSA key is malformed")
            }
        case "EC":
            guard let curve = members["crv"]?.stringValue else { throw KeyParseError("\"crv\" is missing") }
            let size: Int
            switch curve {
            case "P-256": size = 32
            case "P-384": size = 48
            default: return nil
            }
            let x = try bytes(members, "x")
            let y = try bytes(members, "y")
            guard x.count == size, y.count == size else { throw KeyParseError("the \(curve) coordinates have the wrong length") }
            let point = [0x04] + x + y
            let parsed: VerificationKey.Material? =
                size == 32
                ? (try? P256.Signing.PublicKey(x963Representation: point)).map { .p256($0) }
                : (try? P384.Signing.PublicKey(x963Representation: point)).map { .p384($0) }
            guard let parsed else { throw KeyParseError("the \(curve) key is not a valid curve point") }
            material = parsed
        case "OKP":
            guard members["crv"] == .string("Ed25519") else { return nil }
            let x = try bytes(members, "x")
            guard x.count == 32, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: x) else {
                throw KeyParseError("the Ed25519 key must be 32 bytes")
            }
            material = .ed25519(key)
        case "oct":
            let k = try bytes(members, "k")
            guard !k.isEmpty else { throw KeyParseError("the oct key is empty") }
            material = .hmac(SymmetricKey(data: k))
        default:
            return nil
        }
        if let restriction, !material.fits(restriction) {
            throw KeyParseError("\"alg\" \(restriction.rawValue) does not fit a \(kty) key")
        }
        return VerificationKey(material: material, keyID: keyID, restrictedTo: restriction)
    }

    private static func bytes(_ members: [String: JSONValue], _ name: String) throws(KeyParseError) -> [UInt8] {
        guard let text = members[name]?.stringValue,
            let decoded = Base64URL.decode(text.utf8, alphabet: .url, allowPadding: true)
        else { throw KeyParseError("\"\(name)\" is missing or not base64url") }
        return decoded
    }
}
