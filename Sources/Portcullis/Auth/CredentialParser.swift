/// A token as found in a request, before verification.
public enum Credential: Sendable, Hashable {
    /// Nothing usable where the token is read (no header, another auth scheme, no cookie).
    case absent
    /// Something was presented; `presented("")` (`Bearer` with nothing after it) is an invalid token.
    case presented(String)
}

/// Reads credentials from header values and cookies (SPEC §2, token locations).
public enum CredentialParser {
    /// `Authorization: Bearer <token>`, scheme case-insensitive. Another scheme (Basic, …) is
    /// `.absent`; `Bearer` with nothing after it is `.presented("")`.
    public static func authorizationHeader(_ value: Substring) -> Credential {
        let (scheme, rest) = splitScheme(value.trimmingOWS())
        return isBearer(scheme) ? .presented(String(rest)) : .absent
    }

    /// Any other header: the bare token, with an optional `Bearer ` prefix. An empty value is `.absent`.
    public static func bareHeader(_ value: Substring) -> Credential {
        let trimmed = value.trimmingOWS()
        guard !trimmed.isEmpty else { return .absent }
        let (scheme, rest) = splitScheme(trimmed)
        return .presented(String(isBearer(scheme) ? rest : trimmed))
    }

    private static func splitScheme(_ value: Substring) -> (scheme: Substring, rest: Substring) {
        let end = value.utf8.firstIndex(where: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) ?? value.endIndex
        return (value[..<end], value[end...].trimmingOWS())
    }

    private static func isBearer(_ scheme: Substring) -> Bool {
        scheme.utf8.count == 6 && zip(scheme.utf8, "bearer".utf8).allSatisfy { $0 | 0x20 == $1 }
    }

    /// The first cookie called `name` (case-sensitive) in a `Cookie` header value (RFC 6265
    /// §4.2.1: `name=value` pairs separated by `;`), with optional double quotes removed.
    /// A cookie with an empty value (as left by a logout) is `.absent`.
    public static func cookie(named name: String, in cookieHeader: Substring) -> Credential {
        for pair in cookieHeader.split(separator: ";", omittingEmptySubsequences: true) {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            guard pair[..<equals].trimmingOWS() == name else { continue }
            var value = pair[pair.index(after: equals)...].trimmingOWS()
            if value.count >= 2, value.first == "\"", value.last == "\"" {
                value = value.dropFirst().dropLast()
            }
            return value.isEmpty ? .absent : .presented(String(value))
        }
        return .absent
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (HTTP optional whitespace).
    fileprivate func trimmingOWS() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
