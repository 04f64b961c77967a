/// Why a request's credential was refused; `code` is the SPEC §3 `error` value.
///
/// `message` is a short human sentence for the response body and logs. It never contains the
/// token (or any part of it), so it is always safe to send back and to log.
public struct AuthFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: AuthErrorCode
    public var message: String

    public init(_ code: AuthErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    static func invalid(_ message: String) -> AuthFailure { AuthFailure(.invalidToken, message) }
}

/// The `error` codes of SPEC §3 that token handling can produce.
public enum AuthErrorCode: String, Sendable, CaseIterable {
    case missingToken = "missing_token"
    case invalidToken = "invalid_token"
    case tokenExpired = "token_expired"
    case tokenNotYetValid = "token_not_yet_valid"
    case tokenRevoked = "token_revoked"
    case wrongTokenType = "wrong_token_type"
    case insufficientScope = "insufficient_scope"
    case keysUnavailable = "keys_unavailable"

    /// The HTTP status SPEC §3 assigns to this code.
    public var httpStatus: Int {
        switch self {
        case .insufficientScope: 403
        case .keysUnavailable: 503
        default: 401
        }
    }
}
