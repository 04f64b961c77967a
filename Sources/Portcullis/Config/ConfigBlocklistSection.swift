import Yams

/// `blocklist`: which revocation plugin, its free-form `config`, and how failures are treated.
extension ConfigLoader {
    /// `keyLocation` is where `blocklist:` is written, the location when `plugin` is absent.
    static func decodeBlocklist(_ node: ConfigNode, keyLocation: SourceLocation?) -> BlocklistSettings {
        var settings = BlocklistSettings()
        settings.location = keyLocation ?? node.location
        guard let section = node.mapping(keys: ["plugin", "config", "on_error", "timeout"]) else { return settings }
        if let plugin = section["plugin"] {
            settings.location = plugin.location
            if let value = plugin.nonEmptyString() { settings.plugin = value }
        }
        if let config = section["config"] {
            if case .mapping = config.yaml {
                if let value = config.jsonValue() { settings.config = value }
            } else {
                config.error("expected a mapping, got \(config.summary)")
            }
        }
        let modes: KeyValuePairs<String, RevocationFailureMode> = ["deny": .deny, "allow": .allow]
        if let value = section["on_error"]?.choice(modes) { settings.onError = value }
        if let value = section["timeout"]?.duration() { settings.timeout = value }
        return settings
    }
}

extension ConfigNode {
    /// The node as JSON: plain decimal numbers, `true`/`false` and `null`/`~` are typed, quoted
    /// scalars stay strings (so `"${PASSWORD}"` is never turned into a number).
    func jsonValue() -> JSONValue? {
        switch yaml {
        case .scalar(let scalar):
            if isNull { return .null }
            guard let text = string() else { return nil }
            guard scalar.style == .plain || scalar.style == .any else { return .string(text) }
            return Self.typedPlainScalar(text)
        case .sequence:
            guard let elements = sequence() else { return nil }
            let values = elements.map { $0.jsonValue() }
            return values.contains(where: { $0 == nil }) ? nil : .array(values.compactMap { $0 })
        case .mapping:
            guard let entries = entries() else { return nil }
            var members: [String: JSONValue] = [:]
            var failed = false
            for entry in entries {
                guard let value = entry.value.jsonValue() else {
                    failed = true
                    continue
                }
                members[entry.key] = value
            }
            return failed ? nil : .object(members)
        case .alias:
            error("aliases are not supported here")
            return nil
        }
    }

    /// Types an unquoted scalar's text (after interpolation) the way JSON would read it.
    static func typedPlainScalar(_ text: String) -> JSONValue {
        switch text.lowercased() {
        case "true": return .bool(true)
        case "false": return .bool(false)
        case "null", "~", "": return .null
        default: break
        }
        if isDecimalNumber(text), let number = Double(text) { return .number(number) }
        return .string(text)
    }

    /// `-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?`
    private static func isDecimalNumber(_ text: String) -> Bool {
        var bytes = Substring(text).utf8[...]
        func digits() -> Int {
            let count = bytes.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
            bytes = bytes.dropFirst(count)
            return count
        }
        if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        guard digits() > 0 else { return false }
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            guard digits() > 0 else { return false }
        }
        if bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
            guard digits() > 0 else { return false }
        }
        return bytes.isEmpty
    }
}
