import Logging

/// `server`, `admin`, `log` and `logout`: the sections about the gateway's own listeners.
extension ConfigLoader {
    static func decodeServer(_ node: ConfigNode) -> ServerSettings {
        var settings = ServerSettings()
        guard
            let section = node.mapping(keys: [
                "listen", "tls", "workers", "max_header_bytes", "max_body_bytes", "idle_timeout", "max_connections",
                "header_timeout",
            ])
        else { return settings }
        if let value = section["listen"]?.listenAddress() { settings.listen = value }
        settings.tls = section["tls"].flatMap(decodeTLS)
        if let workers = section["workers"] {
            if let text = workers.text(expected: "auto or an integer"), text.lowercased() == "auto" {
                settings.workers = nil
            } else if case .scalar = workers.yaml, let count = workers.int(minimum: 1) {
                settings.workers = count
            }
        }
        if let value = section["max_header_bytes"]?.int(minimum: 1024) { settings.maxHeaderBytes = value }
        if let value = section["max_body_bytes"]?.int(minimum: 0) { settings.maxBodyBytes = value }
        if let value = section["idle_timeout"]?.duration() { settings.idleTimeout = value }
        if let value = section["max_connections"]?.int(minimum: 1) { settings.maxConnections = value }
        if let value = section["header_timeout"]?.duration() { settings.headerTimeout = value }
        return settings
    }

    private static func decodeTLS(_ node: ConfigNode) -> TLSSettings? {
        guard let section = node.mapping(keys: ["certificate", "private_key"]) else { return nil }
        // Both are read (not just checked) so that a directory or an unreadable file fails here.
        // Parsing them is left to the runtime build, which reads them again on every reload.
        let certificateNode = section.required("certificate")
        let privateKeyNode = section.required("private_key")
        let certificate = certificateNode?.fileContents()
        let privateKey = privateKeyNode?.fileContents()
        guard let certificate, let privateKey else { return nil }
        return TLSSettings(
            certificatePath: certificate.path, privateKeyPath: privateKey.path,
            certificateLocation: certificateNode?.location, privateKeyLocation: privateKeyNode?.location
        )
    }

    static func decodeAdmin(_ node: ConfigNode) -> AdminSettings? {
        guard let section = node.mapping(keys: ["listen", "token"]) else { return nil }
        let listen = section.required("listen")?.listenAddress()
        let token = section["token"]?.string()
        guard let listen else { return nil }
        return AdminSettings(listen: listen, token: token?.isEmpty == false ? token : nil)
    }

    static func decodeLog(_ node: ConfigNode) -> LogSettings {
        var settings = LogSettings()
        guard let section = node.mapping(keys: ["level", "format", "access_log"]) else { return settings }
        let levels: KeyValuePairs<String, Logger.Level> = [
            "trace": .trace, "debug": .debug, "info": .info, "warning": .warning, "error": .error,
        ]
        if let value = section["level"]?.choice(levels) { settings.level = value }
        if let value = section["format"]?.choice(["json": LogFormat.json, "text": .text]) { settings.format = value }
        if let value = section["access_log"]?.bool() { settings.accessLog = value }
        return settings
    }

    /// `false` disables `/logout` (nil); `true` keeps the defaults; a mapping sets them.
    static func decodeLogout(_ node: ConfigNode) -> LogoutSettings? {
        if case .scalar = node.yaml {
            return node.bool() == false ? nil : LogoutSettings()
        }
        var settings = LogoutSettings()
        guard let section = node.mapping(keys: ["path", "require_refresh"]) else { return settings }
        if let path = section["path"]?.absolutePath() { settings.path = path }
        if let value = section["require_refresh"]?.bool() { settings.requireRefresh = value }
        return settings
    }
}

extension ConfigNode {
    /// `host:port` or `[v6]:port`, port 0 (ephemeral) to 65535.
    func listenAddress() -> ListenAddress? {
        guard let text = text(expected: "host:port") else { return nil }
        switch ConfigSyntax.splitHostPort(Substring(text), portRequired: true) {
        case .success(let parts):
            // `portRequired` guarantees a port on success.
            guard let port = parts.port else { return nil }
            return ListenAddress(host: parts.host, port: port)
        case .failure(.unbracketedIPv6):
            error("an IPv6 address needs brackets, e.g. [::1]:8080, got \(Self.quoted(text))")
        case .failure(.badPort):
            error("port must be a number from 0 to 65535, got \(Self.quoted(text))")
        case .failure(.malformed):
            error("expected host:port or [ipv6]:port, got \(Self.quoted(text))")
        }
        return nil
    }

    /// A URL path: must start with `/`.
    func absolutePath() -> String? {
        guard let text = string() else { return nil }
        guard text.hasPrefix("/") else {
            error("must start with '/', got \(Self.quoted(text))")
            return nil
        }
        return text
    }
}
