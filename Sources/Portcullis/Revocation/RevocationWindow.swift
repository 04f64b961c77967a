/// How long revocations are remembered, the same for `/logout`, the admin API and
/// `portcullis revoke` (SPEC sections 2 and 4).
public enum RevocationWindow {
    /// A verified token revoked until its own `exp` plus `leeway` (so the store forgets it
    /// once it could not be used anyway); a token without `exp` for good (`INT64_MAX`).
    public static func entry(for token: VerifiedToken, jwt: JWTSettings) -> RevocationToken {
        var entry = token.revocationToken
        let leeway = jwt.leeway.components.seconds
        entry.expiresAt = token.expiresAt.map { $0.addingReportingOverflow(leeway).overflow ? .max : $0 + leeway } ?? .max
        return entry
    }

    /// "Log out everywhere": tokens of the subject issued at or before `now`, remembered
    /// until `now + max_lifetime + leeway`, after which none of them can still be valid.
    public static func subject(now: Int64, jwt: JWTSettings) -> (at: Int64, until: Int64) {
        (now, now + jwt.maxLifetime.components.seconds + jwt.leeway.components.seconds)
    }
}
