/// The per-route values of `routes[]`: host, methods, strip_prefix, auth and forward_claims.
extension ConfigLoader {
    /// `none | access | refresh`, or `{type, require_scopes, require_claims}`.
    static func decodeAuth(_ node: ConfigNode) -> AuthPolicy? {
        let kinds: KeyValuePairs<String, AuthPolicy.Kind> = ["none": .none, "access": .access, "refresh": .refresh]
        if case .scalar = node.yaml { return node.choice(kinds).map { AuthPolicy(kind: $0) } }
        guard let section = node.mapping(keys: ["type", "require_scopes", "require_claims"]) else { return nil }
        var failed = false
        var policy = AuthPolicy(kind: .access)
        if let typeNode = section["type"] {
            if let kind = typeNode.choice(kinds) { policy.kind = kind } else { failed = true }
        }
        if let scopes = section["require_scopes"] {
            if let values = scopes.strings() { policy.requireScopes = values } else { failed = true }
        }
        if let claims = section["require_claims"] {
            if let values = claims.claimRequirements() { policy.requireClaims = values } else { failed = true }
        }
        if policy.kind == .none, !policy.requireScopes.isEmpty || !policy.requireClaims.isEmpty {
            (section["type"] ?? node).error("require_scopes and require_claims need type access or refresh, not none")
            failed = true
        }
        return failed ? nil : policy
    }
}

extension ConfigNode {
    /// A `Host` to match: lowercased, port removed; IPv6 kept in brackets as in the header.
    func routeHost() -> String? {
        guard let text = nonEmptyString() else { return nil }
        guard case .success(let parts) = ConfigSyntax.splitHostPort(Substring(text), portRequired: false) else {
            error("expected a host name, optionally with :port, got \(Self.quoted(text))")
            return nil
        }
        let host = parts.host.lowercased()
        return host.contains(":") ? "[\(host)]" : host
    }

    /// HTTP method tokens, uppercased, without repeats.
    func methods() -> [String]? {
        guard let names = strings() else { return nil }
        guard !names.isEmpty else {
            error("must not be empty (omit it to allow every method)")
            return nil
        }
        if let bad = names.first(where: { !ConfigSyntax.isToken($0) }) {
            error("\(Self.quoted(bad)) is not a valid HTTP method")
            return nil
        }
        var methods: [String] = []
        for name in names.map({ $0.uppercased() }) where !methods.contains(name) { methods.append(name) }
        return methods
    }

    /// Must start with `/` and be a prefix of the route's path rule, ending on a segment boundary.
    func stripPrefix(for rule: PathRule?) -> String? {
        guard let prefix = absolutePath() else { return nil }
        guard let rule else { return prefix }  // the path rule's own error is already reported
        let path: String
        switch rule {
        case .exact(let value), .prefix(let value): path = value
        }
        let onBoundary =
            path == prefix || prefix.hasSuffix("/")
            || (path.hasPrefix(prefix) && path.dropFirst(prefix.count).hasPrefix("/"))
        guard path.hasPrefix(prefix), onBoundary else {
            error("'\(prefix)' is not a prefix of the route's path '\(path)' ending at a '/' boundary")
            return nil
        }
        return prefix
    }

    /// `claim: Header-Name` pairs, in file order.
    func claimForwards() -> [ClaimForward]? {
        guard let entries = entries() else { return nil }
        var forwards: [ClaimForward] = []
        var failed = false
        for entry in entries {
            guard let header = entry.value.nonEmptyString() else {
                failed = true
                continue
            }
            if entry.key.isEmpty {
                diagnostics.report("\(path): claim name must not be empty", at: entry.keyLocation)
                failed = true
            } else if !ConfigSyntax.isToken(header) {
                entry.value.error("\(Self.quoted(header)) is not a valid header name")
                failed = true
            } else if let other = forwards.first(where: { $0.header.lowercased() == header.lowercased() }) {
                entry.value.error("header '\(header)' already carries claim '\(other.claim)'")
                failed = true
            } else {
                forwards.append(ClaimForward(claim: entry.key, header: header))
            }
        }
        return failed ? nil : forwards
    }

    /// `dotted.path: value`; the value must be a scalar, typed like JSON.
    func claimRequirements() -> [ClaimRequirement]? {
        guard let entries = entries() else { return nil }
        var requirements: [ClaimRequirement] = []
        var failed = false
        for entry in entries {
            let components = entry.key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            if components.contains(where: \.isEmpty) {
                diagnostics.report("\(path): invalid claim path '\(entry.key)'", at: entry.keyLocation)
                failed = true
                continue
            }
            guard case .scalar = entry.value.yaml else {
                entry.value.error("expected a single value (string, number, true/false), got \(entry.value.summary)")
                failed = true
                continue
            }
            guard let value = entry.value.jsonValue() else {
                failed = true
                continue
            }
            requirements.append(ClaimRequirement(path: components, value: value))
        }
        return failed ? nil : requirements
    }
}
