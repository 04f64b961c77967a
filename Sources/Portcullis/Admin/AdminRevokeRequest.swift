/// The body of `POST /admin/revoke`: exactly one of `{"token": JWT}`,
/// `{"jti": ID, "expires_at": UNIX}` or `{"sub": S}` (SPEC section 5).
enum AdminRevokeRequest: Sendable, Equatable {
    case token(String)
    case jti(String, expiresAt: Int64)
    case subject(String)

    /// Why a body was refused, as a sentence for the `bad_request` answer.
    struct Invalid: Error, Equatable {
        var message: String
    }

    /// Parses the body; anything but exactly one of the three shapes, with the right types
    /// and nothing else, is refused with a message that says what is wrong.
    static func parse(_ body: [UInt8]) -> Result<AdminRevokeRequest, Invalid> {
        guard let json = JSONValue.parse(body), case .object(let members) = json else {
            return .failure(Invalid(message: "The body must be a JSON object."))
        }
        let shapes = #"Send exactly one of {"token": JWT}, {"jti": ID, "expires_at": UNIX} or {"sub": S}."#
        let keys = Set(members.keys)
        switch keys {
        case ["token"]:
            guard let token = members["token"]?.stringValue, !token.isEmpty else {
                return .failure(Invalid(message: "\"token\" must be a non-empty string."))
            }
            return .success(.token(token))
        case ["jti", "expires_at"]:
            guard let jti = members["jti"]?.stringValue, !jti.isEmpty else {
                return .failure(Invalid(message: "\"jti\" must be a non-empty string."))
            }
            guard let expiresAt = members["expires_at"]?.int64Value else {
                return .failure(Invalid(message: "\"expires_at\" must be an integer (Unix seconds)."))
            }
            return .success(.jti(jti, expiresAt: expiresAt))
        case ["jti"]:
            return .failure(Invalid(message: "\"jti\" needs \"expires_at\" (Unix seconds)."))
        case ["sub"]:
            guard let subject = members["sub"]?.stringValue, !subject.isEmpty else {
                return .failure(Invalid(message: "\"sub\" must be a non-empty string."))
            }
            return .success(.subject(subject))
        default:
            return .failure(Invalid(message: shapes))
        }
    }
}
