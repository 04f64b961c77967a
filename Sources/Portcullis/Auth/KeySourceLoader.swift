/// Turns one configured key source into verification keys, or a config error at its position.
enum KeySourceLoader {
    /// The keys a source contributes now; `jwks_url` contributes none until it is fetched.
    static func verificationKeys(for source: KeySourceSettings) throws(ConfigError) -> [VerificationKey] {
        do throws(KeyParseError) {
            switch source.kind {
            case .jwksURL:
                return []
            case .jwksFile(_, let contents):
                return try JWKSParser.parse(contents, strict: true)
            case .publicKeyFile(_, let pem, let kid):
                return [VerificationKey(material: try PublicKeyParser.parsePEM(pem), keyID: kid)]
            case .secret(let bytes):
                guard !bytes.isEmpty else { throw KeyParseError("the HMAC secret is empty") }
                return [JWTSigningKey.hmac(bytes).verificationKey]
            case .privateKeyFile(_, let pem, let kid):
                return [try JWTSigningKey(pem: pem, keyID: kid).verificationKey]
            }
        } catch {
            throw ConfigError(describe(source, error), at: source.location)
        }
    }

    /// The signing key of a `secret` or `private_key_file` source; `nil` for other kinds.
    static func signingKey(for source: KeySourceSettings) throws(ConfigError) -> JWTSigningKey? {
        switch source.kind {
        case .secret(let bytes):
            guard !bytes.isEmpty else { throw ConfigError("the HMAC secret is empty", at: source.location) }
            return JWTSigningKey.hmac(bytes)
        case .privateKeyFile(_, let pem, let kid):
            do throws(KeyParseError) {
                return try JWTSigningKey(pem: pem, keyID: kid)
            } catch {
                throw ConfigError(describe(source, error), at: source.location)
            }
        default:
            return nil
        }
    }

    private static func describe(_ source: KeySourceSettings, _ error: KeyParseError) -> String {
        switch source.kind {
        case .jwksFile(let path, _), .publicKeyFile(let path, _, _), .privateKeyFile(let path, _, _):
            "invalid key file \(path): \(error.message)"
        case .secret, .jwksURL:
            error.message
        }
    }
}
