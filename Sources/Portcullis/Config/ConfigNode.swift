import Yams

/// A cursor over one YAML node of `gateway.yaml`: knows its dotted key path and position, and
/// reads itself as a schema type, reporting a positioned error instead of throwing.
///
/// Every typed accessor interpolates `${VAR}` first and returns `nil` after reporting a problem,
/// so section decoders stay a list of `mapping["key"]?.int(...)` calls and keep going.
struct ConfigNode {
    let yaml: Node
    /// `server.listen`, `routes[2].auth`; empty for the document root.
    let path: String
    let diagnostics: ConfigDiagnostics

    var location: SourceLocation {
        let mark = yaml.mark
        return diagnostics.location(line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    func child(_ key: String, _ node: Node) -> ConfigNode {
        ConfigNode(yaml: node, path: path.isEmpty ? key : "\(path).\(key)", diagnostics: diagnostics)
    }

    /// Reports `path: message` at this node.
    func error(_ message: String) {
        diagnostics.report(path.isEmpty ? message : "\(path): \(message)", at: location)
    }

    /// A plain `~`, `null` or empty scalar: treated as if the key were absent.
    var isNull: Bool {
        guard case .scalar(let scalar) = yaml, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// What the node is, for "expected X, got Y" messages.
    var summary: String {
        switch yaml {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar): return isNull ? "null" : Self.quoted(scalar.string)
        }
    }

    static func quoted(_ text: String) -> String {
        var out = ""
        JSONValue.writeString(text.count > 60 ? String(text.prefix(57)) + "..." : text, to: &out)
        return out
    }

    // MARK: Scalars

    /// The scalar's text after `${VAR}` interpolation; reports `expected <expected>` for other nodes.
    func text(expected: String) -> String? {
        guard case .scalar(let scalar) = yaml else {
            error("expected \(expected), got \(summary)")
            return nil
        }
        switch EnvironmentInterpolation.expand(scalar.string, environment: diagnostics.environment) {
        case .success(let text):
            return text
        case .failure(.unsetVariable(let name)):
            error("environment variable '\(name)' is not set (use ${\(name):-default} for a default)")
        case .failure(.unterminated):
            error("unterminated '${' (write '$$' for a literal '$')")
        case .failure(.invalidName(let name)):
            error("invalid environment variable name '\(name)'")
        }
        return nil
    }

    func string() -> String? { text(expected: "a string") }

    func nonEmptyString() -> String? {
        guard let text = string() else { return nil }
        guard !text.isEmpty else {
            error("must not be empty")
            return nil
        }
        return text
    }

    /// A decimal integer (optionally negative) no lower than `minimum` and no higher than `maximum`.
    func int(minimum: Int = .min, maximum: Int = .max) -> Int? {
        guard let text = text(expected: "an integer") else { return nil }
        let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let value = Int(text)
        else {
            error("expected an integer, got \(Self.quoted(text))")
            return nil
        }
        guard value >= minimum, value <= maximum else {
            let bounds = maximum == .max ? "at least \(minimum)" : "between \(minimum) and \(maximum)"
            error("must be \(bounds), got \(value)")
            return nil
        }
        return value
    }

    /// `true` or `false`, in any case.
    func bool() -> Bool? {
        guard let text = text(expected: "true or false") else { return nil }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default:
            error("expected true or false, got \(Self.quoted(text))")
            return nil
        }
    }

    /// A `DurationSyntax` duration; zero only when `allowZero`.
    func duration(allowZero: Bool = false) -> Duration? {
        guard let text = text(expected: "a duration") else { return nil }
        guard let value = DurationSyntax.parse(text) else {
            error("expected a duration like 250ms, 30s, 15m, 2h, 7d or whole seconds, got \(Self.quoted(text))")
            return nil
        }
        guard allowZero || value > .zero else {
            error("must be greater than 0")
            return nil
        }
        return value
    }

    /// One of `choices` (matched case-insensitively), mapped to its value.
    func choice<Value>(_ choices: KeyValuePairs<String, Value>) -> Value? {
        let names = choices.map(\.key)
        guard let text = text(expected: "one of \(names.joined(separator: ", "))") else { return nil }
        if let match = choices.first(where: { $0.key == text.lowercased() }) { return match.value }
        error("expected one of \(names.joined(separator: ", ")), got \(Self.quoted(text))")
        return nil
    }

    /// An absolute path: the string resolved against the config folder.
    func filePath() -> String? {
        nonEmptyString().map(diagnostics.resolve(path:))
    }

    /// Reads the file this node names; a failure is reported here with the resolved path and reason.
    func fileContents() -> (path: String, bytes: [UInt8])? {
        guard let path = filePath() else { return nil }
        switch ConfigFile.read(path) {
        case .success(let bytes): return (path, bytes)
        case .failure(let failure):
            error("cannot read '\(path)': \(failure.reason)")
            return nil
        }
    }

    // MARK: Collections

    /// The elements of a list, each with its `path[i]`.
    func sequence() -> [ConfigNode]? {
        guard case .sequence(let elements) = yaml else {
            error("expected a list, got \(summary)")
            return nil
        }
        return elements.enumerated().map { index, node in
            ConfigNode(yaml: node, path: "\(path)[\(index)]", diagnostics: diagnostics)
        }
    }

    /// A list of strings (each interpolated); `nil` if any element is not a string.
    func strings(nonEmpty: Bool = true) -> [String]? {
        guard let elements = sequence() else { return nil }
        let values = elements.map { nonEmpty ? $0.nonEmptyString() : $0.string() }
        return values.contains(where: { $0 == nil }) ? nil : values.compactMap { $0 }
    }

    /// A mapping whose keys must come from `keys`; others are reported at the key.
    func mapping(keys: [String]) -> ConfigMapping? {
        guard let entries = entries() else { return nil }
        return ConfigMapping(node: self, entries: entries, allowedKeys: keys)
    }

    /// A mapping with free-form keys, in file order. Keys are not interpolated.
    func entries() -> [ConfigEntry]? {
        guard case .mapping(let mapping) = yaml else {
            error("expected a mapping, got \(summary)")
            return nil
        }
        var entries: [ConfigEntry] = []
        for (key, value) in mapping {
            let keyNode = ConfigNode(yaml: key, path: path, diagnostics: diagnostics)
            guard case .scalar(let scalar) = key else {
                diagnostics.report("\(path.isEmpty ? "" : "\(path): ")expected a plain key, got \(keyNode.summary)",
                    at: keyNode.location)
                continue
            }
            entries.append(ConfigEntry(key: scalar.string, keyLocation: keyNode.location, value: child(scalar.string, value)))
        }
        return entries
    }
}

/// One `key: value` pair of a mapping.
struct ConfigEntry {
    var key: String
    var keyLocation: SourceLocation
    var value: ConfigNode
}
