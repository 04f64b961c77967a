/// `jwt`: issuers and their key sources, time checks, and where tokens are read from.
extension ConfigLoader {
    static func decodeJWT(_ node: ConfigNode) -> JWTSettings? {
        guard
            let section = node.mapping(keys: [
                "issuers", "leeway", "max_lifetime", "require", "token_type_claim", "access_token", "refresh_token",
            ])
        else { return nil }
        let issuers = section.required("issuers").flatMap(decodeIssuers)
        var settings = JWTSettings(issuers: issuers ?? [])
        if let value = section["leeway"]?.duration(allowZero: true) { settings.leeway = value }
        if let value = section["max_lifetime"]?.duration() { settings.maxLifetime = value }
        if let value = section["require"]?.strings() { settings.require = value }
        if let value = section["token_type_claim"]?.nonEmptyString() { settings.tokenTypeClaim = value }
        if let value = section["access_token"].flatMap({ decodeTokenLocations($0, allowBody: false) }) {
            settings.accessToken = value
        }
        if let value = section["refresh_token"].flatMap({ decodeTokenLocations($0, allowBody: true) }) {
            settings.refreshToken = value
        }
        return issuers == nil ? nil : settings
    }

    private static func decodeIssuers(_ node: ConfigNode) -> [IssuerSettings]? {
        guard let elements = node.sequence() else { return nil }
        guard !elements.isEmpty else {
            node.error("at least one issuer is required")
            return nil
        }
        var issuers: [IssuerSettings] = []
        var firstLines: [String: Int] = [:]
        var failed = false
        for element in elements {
            guard let issuer = decodeIssuer(element) else {
                failed = true
                continue
            }
            if let line = firstLines[issuer.issuer] {
                element.diagnostics.report(
                    "\(element.path).issuer: duplicate issuer '\(issuer.issuer)' (first at line \(line))",
                    at: issuer.location)
                failed = true
            } else {
                firstLines[issuer.issuer] = issuer.location?.line ?? 0
            }
            issuers.append(issuer)
        }
        return failed ? nil : issuers
    }

    private static func decodeIssuer(_ node: ConfigNode) -> IssuerSettings? {
        guard let section = node.mapping(keys: ["issuer", "audiences", "algorithms", "keys"]) else { return nil }
        let issuerNode = section.required("issuer")
        let issuer = issuerNode?.nonEmptyString()
        var audiences: [String]?
        if let audiencesNode = section["audiences"], let values = audiencesNode.strings() {
            if values.isEmpty { audiencesNode.error("must not be empty (omit it to skip the audience check)") }
            audiences = values
        }
        let algorithms = section.required("algorithms").flatMap(decodeAlgorithms)
        let keys = section.required("keys").flatMap(decodeKeySources)
        guard let issuer, let algorithms, let keys else { return nil }
        return IssuerSettings(
            issuer: issuer, audiences: audiences, algorithms: algorithms, keys: keys, location: issuerNode?.location)
    }

    private static func decodeAlgorithms(_ node: ConfigNode) -> [JWTAlgorithm]? {
        guard let elements = node.sequence() else { return nil }
        guard !elements.isEmpty else {
            node.error("at least one algorithm is required")
            return nil
        }
        var algorithms: [JWTAlgorithm] = []
        var failed = false
        for element in elements {
            guard let name = element.text(expected: "an algorithm name") else {
                failed = true
                continue
            }
            if name.lowercased() == "none" {
                element.error("algorithm 'none' is never accepted")
                failed = true
            } else if let algorithm = JWTAlgorithm.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) {
                if !algorithms.contains(algorithm) { algorithms.append(algorithm) }
            } else {
                let valid = JWTAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
                element.error("unknown algorithm \(ConfigNode.quoted(name)) (valid: \(valid))")
                failed = true
            }
        }
        return failed ? nil : algorithms
    }

    /// `[header: NAME | cookie: NAME | json_body: NAME]`; `json_body` only where `allowBody`.
    private static func decodeTokenLocations(_ node: ConfigNode, allowBody: Bool) -> [TokenLocation]? {
        guard let elements = node.sequence() else { return nil }
        guard !elements.isEmpty else {
            node.error("at least one location is required")
            return nil
        }
        var locations: [TokenLocation] = []
        var failed = false
        for element in elements {
            guard let entries = element.entries() else {
                failed = true
                continue
            }
            guard entries.count == 1, let entry = entries.first else {
                element.error("expected exactly one of header: NAME, cookie: NAME\(allowBody ? ", json_body: NAME" : "")")
                failed = true
                continue
            }
            let name = entry.value.nonEmptyString()
            switch (entry.key, name) {
            case (_, nil):
                failed = true
            case ("header", let name?) where ConfigSyntax.isToken(name):
                locations.append(.header(name))
            case ("cookie", let name?) where ConfigSyntax.isToken(name):
                locations.append(.cookie(name))
            case ("header", let name?), ("cookie", let name?):
                entry.value.error("\(ConfigNode.quoted(name)) is not a valid \(entry.key) name")
                failed = true
            case ("json_body", let name?) where allowBody:
                locations.append(.jsonBody(name))
            case ("json_body", _):
                element.diagnostics.report(
                    "\(element.path): json_body is only supported for refresh_token (used by /logout)", at: entry.keyLocation)
                failed = true
            default:
                let valid = allowBody ? ["header", "cookie", "json_body"] : ["header", "cookie"]
                let hint = ConfigDiagnostics.suggestion(for: entry.key, among: valid)
                element.diagnostics.report(
                    "unknown key '\(entry.key)' in \(element.path); expected \(valid.joined(separator: ", "))\(hint)",
                    at: entry.keyLocation)
                failed = true
            }
        }
        return failed ? nil : locations
    }
}
