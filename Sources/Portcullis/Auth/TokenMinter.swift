/// Mints signed tokens with the first issuer that can sign: for `portcullis token` and the demo.
public struct TokenMinter: Sendable {
    public let issuer: String
    /// The issuer's first audience; `nil` when it lists none (then no `aud` is written).
    public let audience: String?
    public let algorithm: JWTAlgorithm
    public let signingKey: JWTSigningKey
    public let typeClaim: String

    /// Picks the first issuer (in file order) with a `private_key_file` or `secret` that can sign
    /// one of its allowed algorithms; the algorithm is the first allowed one the key supports.
    public init(settings: JWTSettings) throws(ConfigErrors) {
        for issuer in settings.issuers {
            for source in issuer.keys {
                let key: JWTSigningKey?
                do throws(ConfigError) {
                    key = try KeySourceLoader.signingKey(for: source)
                } catch {
                    throw ConfigErrors([error])
                }
                guard let key, let algorithm = issuer.algorithms.first(where: key.supports) else { continue }
                self.issuer = issuer.issuer
                self.audience = issuer.audiences?.first
                self.algorithm = algorithm
                self.signingKey = key
                self.typeClaim = settings.tokenTypeClaim
                return
            }
        }
        throw ConfigErrors([
            ConfigError(
                "no issuer has a private_key_file or secret that can sign one of its algorithms",
                at: settings.issuers.first?.location)
        ])
    }

    /// A token with `iss`, `aud` (when the issuer has one), `sub`, a fresh random 128-bit `jti`,
    /// `iat` = `now`, `exp` = `now + ttl` and the type claim. `extraClaims` are added last and
    /// win over these.
    public func mint(
        subject: String, type: TokenType, ttl: Duration, extraClaims: [String: JSONValue] = [:], now: Int64
    ) -> String {
        var claims: [String: JSONValue] = [
            "iss": .string(issuer),
            "sub": .string(subject),
            "jti": .string(Self.randomID()),
            "iat": .number(Double(now)),
            "exp": .number(Double(now + ttl.wholeSeconds)),
            typeClaim: .string(type.rawValue),
        ]
        if let audience { claims["aud"] = .string(audience) }
        claims.merge(extraClaims) { _, extra in extra }
        var header: [String: JSONValue] = ["typ": "JWT"]
        if let kid = signingKey.keyID { header["kid"] = .string(kid) }
        return JWTSigner.sign(header: header, payload: claims, key: signingKey, algorithm: algorithm)
    }

    /// 128 random bits from the system CSPRNG, as 32 hex digits.
    static func randomID() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return hex(high) + hex(low)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
