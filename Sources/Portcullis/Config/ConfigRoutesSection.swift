/// `routes`: the ordered route table, checked against the upstreams that exist.
extension ConfigLoader {
    static let routeKeys = [
        "name", "path", "path_prefix", "host", "methods", "upstream", "strip_prefix", "auth", "forward_claims",
        "forward_token",
    ]

    static func decodeRoutes(_ node: ConfigNode, upstreamNames: Set<String>) -> [RouteSettings] {
        guard let elements = node.sequence() else { return [] }
        var routes: [RouteSettings] = []
        var firstLines: [String: Int] = [:]
        for element in elements {
            guard let section = element.mapping(keys: routeKeys) else { continue }
            let nameNode = section.required("name")
            let name = nameNode?.nonEmptyString()
            if let name, let nameNode {
                if let line = firstLines[name] {
                    nameNode.error("duplicate route name '\(name)' (first at line \(line))")
                } else {
                    firstLines[name] = nameNode.location.line
                }
            }
            let upstreamNode = section.required("upstream")
            var upstream = upstreamNode?.nonEmptyString()
            if let name = upstream, let upstreamNode, !upstreamNames.contains(name) {
                let hint = ConfigDiagnostics.suggestion(for: name, among: upstreamNames.sorted())
                upstreamNode.error("undefined upstream '\(name)'\(hint)")
                upstream = nil
            }
            let path = decodePathRule(section)
            let auth: AuthPolicy? = if let node = section["auth"] { decodeAuth(node) } else { AuthPolicy(kind: .access) }
            var route: RouteSettings?
            if let name, let upstream, let path, let auth {
                route = RouteSettings(name: name, path: path, upstream: upstream, auth: auth)
                route?.upstreamLocation = upstreamNode?.location
            }
            // Checked even for a route that is already invalid, so one run reports everything.
            let optionsValid = decodeRouteOptions(section, path: path, into: &route)
            if let route, optionsValid { routes.append(route) }
        }
        return routes
    }

    /// `path` (exact) or `path_prefix`: exactly one, starting with `/`.
    private static func decodePathRule(_ section: ConfigMapping) -> PathRule? {
        let written = section.present(["path", "path_prefix"])
        guard written.count == 1, let key = written.first else {
            if written.isEmpty {
                section.node.error("one of 'path' or 'path_prefix' is required")
            } else {
                // Both written: report at the one that comes second in the file.
                let later = written[1]
                let node = section[later] ?? section.node
                node.diagnostics.report(
                    "\(section.node.path).\(later): use either 'path' or 'path_prefix', not both", at: node.location)
            }
            return nil
        }
        guard let value = section.required(key)?.absolutePath() else { return nil }
        return key == "path" ? .exact(value) : .prefix(value)
    }

    /// The optional route keys, written into `route` when there is one. Returns whether all were valid.
    private static func decodeRouteOptions(_ section: ConfigMapping, path: PathRule?, into route: inout RouteSettings?) -> Bool {
        var valid = true
        func check<T>(_ value: T?) -> T? {
            if value == nil { valid = false }
            return value
        }
        if let node = section["host"], let host = check(node.routeHost()) { route?.host = host }
        if let node = section["methods"], let methods = check(node.methods()) { route?.methods = methods }
        if let node = section["strip_prefix"], let prefix = check(node.stripPrefix(for: path)) { route?.stripPrefix = prefix }
        if let node = section["forward_claims"], let forwards = check(node.claimForwards()) {
            route?.forwardClaims = forwards
        }
        if let node = section["forward_token"], let value = check(node.bool()) { route?.forwardToken = value }
        return valid
    }
}
