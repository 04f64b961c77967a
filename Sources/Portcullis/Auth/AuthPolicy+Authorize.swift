extension AuthPolicy {
    /// Checks `require_scopes` and `require_claims` against a verified token (SPEC §3: 403).
    ///
    /// Scopes are read from `scope` (space-separated string) and `scp` (array of strings, or a
    /// space-separated string as some providers send it). A claim requirement holds when the
    /// value at the dotted path equals the required value, or is an array containing it.
    /// - Returns: `nil` when authorized, else an `insufficient_scope` failure.
    public func authorize(_ token: VerifiedToken) -> AuthFailure? {
        if !requireScopes.isEmpty {
            let granted = Self.scopes(of: token.claims)
            for scope in requireScopes where !granted.contains(scope[...]) {
                return AuthFailure(.insufficientScope, "the token lacks the scope \(scope)")
            }
        }
        for requirement in requireClaims {
            guard let value = Self.resolve(requirement.path[...], in: token.claims), value.satisfies(requirement.value)
            else {
                return AuthFailure(
                    .insufficientScope, "the token claim \(requirement.path.joined(separator: ".")) does not have the required value")
            }
        }
        return nil
    }

    static func scopes(of claims: [String: JSONValue]) -> Set<Substring> {
        var scopes: Set<Substring> = []
        for name in ["scope", "scp"] {
            switch claims[name] {
            case .string(let list)?:
                scopes.formUnion(list.split(separator: " "))
            case .array(let values)?:
                for case .string(let scope) in values { scopes.insert(scope[...]) }
            default:
                break
            }
        }
        return scopes
    }

    /// The value at a dotted path. A claim name may itself contain dots (namespaced claims such
    /// as `https://example.com/roles`), so longer joined names are tried before nesting.
    static func resolve(_ path: ArraySlice<String>, in object: [String: JSONValue]) -> JSONValue? {
        guard !path.isEmpty else { return nil }
        for split in stride(from: path.endIndex, to: path.startIndex, by: -1) {
            let name = path[path.startIndex..<split].joined(separator: ".")
            guard let value = object[name] else { continue }
            if split == path.endIndex { return value }
            if case .object(let nested) = value, let found = resolve(path[split...], in: nested) { return found }
        }
        return nil
    }
}

extension JSONValue {
    fileprivate func satisfies(_ required: JSONValue) -> Bool {
        if self == required { return true }
        if case .array(let values) = self { return values.contains(required) }
        return false
    }
}
