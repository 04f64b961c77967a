/// A token whose signature, issuer, audience and required claims have been checked.
///
/// The registered claims are read out once, typed; `claims` keeps every claim as parsed
/// (for policies and `forward_claims`).
public struct VerifiedToken: Sendable {
    public var issuer: String
    public var subject: String?
    public var jti: String?
    public var issuedAt: Int64?
    public var expiresAt: Int64?
    public var notBefore: Int64?
    /// `aud` as a list (a single string becomes one element); empty when absent.
    public var audiences: [String]
    /// From the type claim (`jwt.token_type_claim`); a token without it is an access token.
    public var type: TokenType
    public var claims: [String: JSONValue]
    /// The header `alg` the signature was checked with.
    public var algorithm: JWTAlgorithm
    /// The header `kid`, if any.
    public var keyID: String?
    /// False when the type claim holds a value other than `access` or `refresh`: such a
    /// token is refused as `wrong_token_type` whatever is expected.
    var typeIsRecognised = true
    /// What the blocklist knows the token by: its `jti`, or for a token without one,
    /// `sha256:` and the base64url SHA-256 of the compact token (so it can still be revoked).
    public var revocationID: String

    /// The identity handed to a blocklist check.
    public var revocationToken: RevocationToken {
        RevocationToken(jti: revocationID, subject: subject, issuedAt: issuedAt, expiresAt: expiresAt)
    }

    public init(
        issuer: String, subject: String? = nil, jti: String? = nil, issuedAt: Int64? = nil, expiresAt: Int64? = nil,
        notBefore: Int64? = nil, audiences: [String] = [], type: TokenType = .access,
        claims: [String: JSONValue] = [:], algorithm: JWTAlgorithm = .HS256, keyID: String? = nil
    ) {
        self.issuer = issuer
        self.subject = subject
        self.jti = jti
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.notBefore = notBefore
        self.audiences = audiences
        self.type = type
        self.claims = claims
        self.algorithm = algorithm
        self.keyID = keyID
        self.revocationID = jti ?? ""
    }

    /// Reads the registered claims of `payload`, refusing wrong types.
    static func decode(
        payload: [String: JSONValue], issuer: String, algorithm: JWTAlgorithm, keyID: String?, typeClaim: String
    ) throws(AuthFailure) -> VerifiedToken {
        var token = VerifiedToken(issuer: issuer, claims: payload, algorithm: algorithm, keyID: keyID)
        token.subject = try string("sub", in: payload)
        token.jti = try string("jti", in: payload)
        token.revocationID = token.jti ?? ""
        token.issuedAt = try date("iat", in: payload)
        token.expiresAt = try date("exp", in: payload)
        token.notBefore = try date("nbf", in: payload)
        switch payload["aud"] {
        case nil: break
        case .string(let audience)?: token.audiences = [audience]
        case .array(let values)? where values.allSatisfy({ $0.stringValue != nil }):
            token.audiences = values.compactMap(\.stringValue)
        default: throw .invalid("the token `aud` claim is not a string or an array of strings")
        }
        switch payload[typeClaim] {
        case nil: token.type = .access
        case .string(let value)?:
            if let type = TokenType(rawValue: value) { token.type = type } else { token.typeIsRecognised = false }
        default: token.typeIsRecognised = false
        }
        return token
    }

    private static func string(_ name: String, in payload: [String: JSONValue]) throws(AuthFailure) -> String? {
        guard let value = payload[name] else { return nil }
        guard let string = value.stringValue else { throw .invalid("the token `\(name)` claim is not a string") }
        return string
    }

    /// A NumericDate (RFC 7519 §2); a fraction is floored, whole seconds being enough here.
    private static func date(_ name: String, in payload: [String: JSONValue]) throws(AuthFailure) -> Int64? {
        guard let value = payload[name] else { return nil }
        guard case .number(let number) = value, number.isFinite, abs(number) < 9.2e18 else {
            throw .invalid("the token `\(name)` claim is not a number")
        }
        return Int64(number.rounded(.down))
    }
}
