/// `upstreams`: named backends, in file order.
extension ConfigLoader {
    struct UpstreamsSection {
        var settings: [UpstreamSettings]
        /// Every name written, valid or not, so that a route naming a broken upstream is not
        /// also reported as "undefined".
        var names: Set<String>
    }

    static func decodeUpstreams(_ node: ConfigNode) -> UpstreamsSection {
        guard let entries = node.entries() else { return UpstreamsSection(settings: [], names: []) }
        var section = UpstreamsSection(settings: [], names: [])
        for entry in entries {
            section.names.insert(entry.key)
            guard !entry.key.isEmpty else {
                node.diagnostics.report("\(node.path): upstream name must not be empty", at: entry.keyLocation)
                continue
            }
            if let upstream = decodeUpstream(name: entry.key, entry.value) { section.settings.append(upstream) }
        }
        return section
    }

    private static func decodeUpstream(name: String, _ node: ConfigNode) -> UpstreamSettings? {
        guard let section = node.mapping(keys: ["url", "ca_file", "connect_timeout", "timeout", "max_connections"])
        else { return nil }
        let urlNode = section.required("url")
        guard var upstream = urlNode.flatMap({ $0.upstreamURL(name: name) }) else {
            // Still check the other keys, so one run reports everything.
            _ = section["ca_file"]?.filePath()
            _ = section["connect_timeout"]?.duration()
            _ = section["timeout"]?.duration()
            _ = section["max_connections"]?.int(minimum: 1)
            return nil
        }
        upstream.location = urlNode?.location
        var failed = false
        if let caNode = section["ca_file"] {
            if upstream.scheme != .https {
                caNode.error("ca_file is only used with an https:// url")
                failed = true
            } else if let file = caNode.fileContents() {
                upstream.caFile = file.path
                upstream.caFileLocation = caNode.location
            } else {
                failed = true
            }
        }
        if let node = section["connect_timeout"] {
            if let value = node.duration() { upstream.connectTimeout = value } else { failed = true }
        }
        if let node = section["timeout"] {
            if let value = node.duration() { upstream.timeout = value } else { failed = true }
        }
        if let node = section["max_connections"] {
            if let value = node.int(minimum: 1) { upstream.maxConnections = value } else { failed = true }
        }
        return failed ? nil : upstream
    }
}

extension ConfigNode {
    /// `http[s]://host[:port][/path]`: no user info, query or fragment; the path loses its
    /// trailing `/`. IPv6 hosts are written `[::1]` and stored without brackets.
    func upstreamURL(name: String) -> UpstreamSettings? {
        guard let text = nonEmptyString() else { return nil }
        let lower = text.lowercased()
        let scheme: UpstreamSettings.Scheme
        let rest: Substring
        if lower.hasPrefix("http://") {
            (scheme, rest) = (.http, text.dropFirst(7))
        } else if lower.hasPrefix("https://") {
            (scheme, rest) = (.https, text.dropFirst(8))
        } else {
            error("expected an http:// or https:// URL, got \(Self.quoted(text))")
            return nil
        }
        if text.contains("?") || text.contains("#") {
            error("must not have a query or fragment, got \(Self.quoted(text))")
            return nil
        }
        let authority = rest.prefix { $0 != "/" }
        var path = String(rest[authority.endIndex...])
        if authority.contains("@") {
            error("must not contain user info (user@), got \(Self.quoted(text))")
            return nil
        }
        guard !text.contains(where: { $0.isWhitespace }),
            case .success(let parts) = ConfigSyntax.splitHostPort(authority, portRequired: false),
            parts.port != 0
        else {
            error("expected http[s]://host[:port][/path] with a port from 1 to 65535, got \(Self.quoted(text))")
            return nil
        }
        while path.hasSuffix("/") { path.removeLast() }
        let port = parts.port ?? (scheme == .https ? 443 : 80)
        return UpstreamSettings(name: name, scheme: scheme, host: parts.host.lowercased(), port: port, basePath: path)
    }
}
