/// A YAML mapping with a fixed set of keys (a config section). Unknown keys are reported at the key
/// when the mapping is opened; lookups return cursors for the values.
struct ConfigMapping {
    let node: ConfigNode
    private let entries: [String: ConfigEntry]

    init(node: ConfigNode, entries: [ConfigEntry], allowedKeys: [String]) {
        self.node = node
        var known: [String: ConfigEntry] = [:]
        for entry in entries {
            guard allowedKeys.contains(entry.key) else {
                // Yams' node API does not apply merge keys, so `<<` would otherwise look like a typo.
                if entry.key == "<<" {
                    node.diagnostics.report("YAML merge keys ('<<') are not supported; write the keys out", at: entry.keyLocation)
                    continue
                }
                let place = node.path.isEmpty ? "" : " in \(node.path)"
                let hint = ConfigDiagnostics.suggestion(for: entry.key, among: allowedKeys)
                node.diagnostics.report("unknown key '\(entry.key)'\(place)\(hint)", at: entry.keyLocation)
                continue
            }
            known[entry.key] = entry
        }
        self.entries = known
    }

    /// The value of `key`, or `nil` when the key is absent or its value is null (`~`, empty).
    subscript(key: String) -> ConfigNode? {
        guard let value = entries[key]?.value, !value.isNull else { return nil }
        return value
    }

    /// Whether `key` is written at all (even with a null value).
    func contains(_ key: String) -> Bool { entries[key] != nil }

    /// Position of the key itself (for "this key is not allowed here" problems).
    func keyLocation(_ key: String) -> SourceLocation? { entries[key]?.keyLocation }

    /// Which of `keys` are written (even with a null value), in file order.
    func present(_ keys: [String]) -> [String] {
        keys.compactMap { entries[$0] }
            .sorted { ($0.keyLocation.line, $0.keyLocation.column) < ($1.keyLocation.line, $1.keyLocation.column) }
            .map(\.key)
    }

    /// The value of a key that must be there; a missing key or null value is reported.
    func required(_ key: String) -> ConfigNode? {
        if let value = self[key] { return value }
        if let entry = entries[key] {
            entry.value.error("a value is required")
        } else if node.path.isEmpty {
            node.diagnostics.report("missing required section '\(key)'", at: node.location)
        } else {
            node.error("missing required key '\(key)'")
        }
        return nil
    }

    /// Reports `message` at the key `key` (prefixed with the mapping's path).
    func keyError(_ key: String, _ message: String) {
        let prefix = node.path.isEmpty ? "" : "\(node.path).\(key): "
        node.diagnostics.report(prefix + message, at: keyLocation(key) ?? node.location)
    }
}
