import Foundation
import Portcullis

/// Mints HMAC-signed tokens and the matching `jwt` settings, for tests of any layer.
///
/// ```swift
/// let factory = TokenFactory(issuer: "https://issuer.test", audience: "orders")
/// var config = GatewayConfig(..., jwt: factory.jwtSettings, ...)
/// let token = factory.token(sub: "alice", extra: ["scope": "orders:read"])
/// ```
public struct TokenFactory: Sendable {
    public let secret: [UInt8]
    public let issuer: String
    public let audience: String?
    public let typeClaim: String
    /// Signs with `secret` under HS256/384/512.
    public let signingKey: JWTSigningKey

    public init(
        secret: String = "test-secret-0123456789abcdef0123456789abcdef", issuer: String = "https://issuer.test",
        audience: String? = "test-api", typeClaim: String = "type"
    ) {
        self.secret = Array(secret.utf8)
        self.issuer = issuer
        self.audience = audience
        self.typeClaim = typeClaim
        self.signingKey = .hmac(self.secret)
    }

    /// Settings that accept this factory's tokens: one issuer, the secret, HS256/384/512,
    /// default leeway, lifetime and required claims.
    public var jwtSettings: JWTSettings {
        var settings = JWTSettings(issuers: [
            IssuerSettings(
                issuer: issuer, audiences: audience.map { [$0] }, algorithms: [.HS256, .HS384, .HS512],
                keys: [KeySourceSettings(kind: .secret(bytes: secret))])
        ])
        settings.tokenTypeClaim = typeClaim
        return settings
    }

    /// Unix seconds now.
    public static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    /// A signed token with `iss`, `aud`, `sub`, `jti`, `iat`, `exp` and the type claim (the
    /// type claim is left out for `.access` when `typeClaimForAccess` is false).
    /// `extra` is merged last and wins, so a test can override or break any claim; a claim
    /// mapped to `.null` is removed.
    public func token(
        sub: String = "user-1", type: TokenType = .access, ttl: Duration = .seconds(900),
        extra: [String: JSONValue] = [:], algorithm: JWTAlgorithm = .HS256, jti: String = UUID().uuidString,
        now: Int64 = TokenFactory.now, typeClaimForAccess: Bool = true
    ) -> String {
        var claims: [String: JSONValue] = [
            "iss": .string(issuer), "sub": .string(sub), "jti": .string(jti),
            "iat": .number(Double(now)), "exp": .number(Double(now + ttl.components.seconds)),
        ]
        if let audience { claims["aud"] = .string(audience) }
        if type == .refresh || typeClaimForAccess { claims[typeClaim] = .string(type.rawValue) }
        for (name, value) in extra {
            claims[name] = value == .null ? nil : value
        }
        return JWTSigner.sign(header: ["typ": "JWT"], payload: claims, key: signingKey, algorithm: algorithm)
    }
}
