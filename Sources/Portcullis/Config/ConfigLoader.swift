import Foundation

/// Reads `gateway.yaml` into a validated `GatewayConfig` (SPEC §2).
///
/// Decoding keeps going after a problem, so one run reports every error, each as
/// `FILE:LINE:COLUMN: key.path: message`. Typing follows the schema, not YAML's tag guessing:
/// `port: "8080"` and `port: ${PORT}` are both integers; `token: 123` is a string.
/// File sources (keys, CA, TLS) are read or checked here, so the runtime never meets an
/// unreadable file. Blocking file I/O: call it off the event loop.
public enum ConfigLoader {
    /// The top-level sections, in the order SPEC §2 documents them.
    static let sections = ["server", "admin", "log", "jwt", "blocklist", "upstreams", "routes", "logout"]

    /// Reads and validates a config file. `file` is the path as given (used verbatim in errors).
    ///
    /// Relative paths inside the file resolve against the file's folder (made absolute from the
    /// current directory). A file that cannot be read is one error without a position.
    public static func load(
        file: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigErrors) -> GatewayConfig {
        let absolutePath = ConfigFile.absolute(file)
        let bytes: [UInt8]
        switch ConfigFile.read(absolutePath) {
        case .success(let contents): bytes = contents
        case .failure(let failure):
            throw ConfigErrors([ConfigError("\(file): cannot read config: \(failure.reason)", at: nil)])
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigErrors([ConfigError("\(file): cannot read config: not valid UTF-8", at: nil)])
        }
        let directory = URL(fileURLWithPath: absolutePath).deletingLastPathComponent().path
        return try parse(yaml: text, file: file, directory: directory, environment: environment)
    }

    /// Same from a string; `directory` is the absolute folder relative paths resolve against.
    ///
    /// Throws every problem found, sorted by position.
    public static func parse(
        yaml: String, file: String, directory: String, environment: [String: String]
    ) throws(ConfigErrors) -> GatewayConfig {
        let diagnostics = ConfigDiagnostics(file: file, directory: directory, environment: environment)
        let config = decode(yaml, diagnostics: diagnostics)
        guard diagnostics.errors.isEmpty, let config else {
            var errors = diagnostics.sortedErrors
            if errors.isEmpty {
                // Every decoder that returns nil has reported why; this is a backstop, not a path.
                errors = [ConfigError("\(file): invalid config", at: nil)]
            }
            throw ConfigErrors(errors)
        }
        return config
    }

    private static func decode(_ yaml: String, diagnostics: ConfigDiagnostics) -> GatewayConfig? {
        let protected = EnvironmentInterpolation.protectReferences(in: yaml)
        guard let root = ConfigYAMLSyntax.compose(protected, diagnostics: diagnostics) else { return nil }
        let document = ConfigNode(yaml: root, path: "", diagnostics: diagnostics)
        if document.isNull {
            diagnostics.report("the config is empty", at: document.location)
            return nil
        }
        guard case .mapping = root else {
            document.error("expected a mapping of sections (server, jwt, routes, ...), got \(document.summary)")
            return nil
        }
        guard let top = document.mapping(keys: sections) else { return nil }

        let server = top["server"].map(decodeServer) ?? ServerSettings()
        let admin = top["admin"].flatMap(decodeAdmin)
        let log = top["log"].map(decodeLog) ?? LogSettings()
        let jwt = top.required("jwt").flatMap(decodeJWT)
        let blocklist =
            top["blocklist"].map { decodeBlocklist($0, keyLocation: top.keyLocation("blocklist")) }
            ?? defaultBlocklist(top)
        let upstreams = top["upstreams"].map(decodeUpstreams) ?? UpstreamsSection(settings: [], names: [])
        let routes = top["routes"].map { decodeRoutes($0, upstreamNames: upstreams.names) } ?? []
        let logout: LogoutSettings? = top["logout"].map(decodeLogout) ?? LogoutSettings()

        guard let jwt else { return nil }
        return GatewayConfig(
            file: diagnostics.file, directory: diagnostics.directory, server: server, admin: admin, log: log,
            jwt: jwt, blocklist: blocklist, upstreams: upstreams.settings, routes: routes, logout: logout,
            presentSections: Set(top.present(sections))
        )
    }

    /// `blocklist:` written with no value: the defaults, located at the key.
    private static func defaultBlocklist(_ top: ConfigMapping) -> BlocklistSettings {
        var settings = BlocklistSettings()
        settings.location = top.keyLocation("blocklist")
        return settings
    }
}
