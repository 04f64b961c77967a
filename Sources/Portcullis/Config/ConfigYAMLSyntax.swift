import Yams

/// Turns YAML text into a Yams node tree, converting Yams' errors into positioned `ConfigError`s.
///
/// A syntax error, or aliases that expand too far, stops decoding (there is no tree to walk),
/// so it is the only error reported.
enum ConfigYAMLSyntax {
    /// The document's root node; `nil` after reporting a syntax error or an empty document.
    static func compose(_ yaml: String, diagnostics: ConfigDiagnostics) -> Node? {
        if let (line, column) = ConfigAliasBudget.firstExcessiveAlias(in: yaml) {
            diagnostics.report(
                "aliases expand the config to more than \(ConfigAliasBudget.maximumNodes) nodes",
                at: diagnostics.location(line: line, column: column))
            return nil
        }
        do {
            guard let root = try Yams.compose(yaml: yaml, .default, .default, .utf8) else {
                diagnostics.report("the config is empty", at: diagnostics.location(line: 1, column: 1))
                return nil
            }
            return root
        } catch let error as YamlError {
            report(error, yaml: yaml, diagnostics: diagnostics)
        } catch {
            diagnostics.report("invalid YAML: \(error)", at: diagnostics.location(line: 1, column: 1))
        }
        return nil
    }

    private static func report(_ error: YamlError, yaml: String, diagnostics: ConfigDiagnostics) {
        func at(_ mark: Mark) -> SourceLocation { diagnostics.location(line: mark.line, column: mark.column) }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var message = "invalid YAML: \(problem)"
            if let context, !context.text.isEmpty {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            diagnostics.report(message, at: at(mark))
        case .reader(let problem, let offset, _, _):
            let (line, column) = offset.map { position(ofCharacter: $0, in: yaml) } ?? (1, 1)
            diagnostics.report("invalid YAML: \(problem)", at: diagnostics.location(line: line, column: column))
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams stops at the first mapping with duplicates and gives the first key's position;
            // the useful position is the repeated key, found by scanning the same block.
            guard let key = duplicates.first else { return }
            let first = context.mark
            let others = duplicates.dropFirst().map { "'\($0)'" }
            let also = others.isEmpty ? "" : " (also \(others.joined(separator: ", ")))"
            if let (line, column) = repeatedKey(key, after: first, in: yaml) {
                diagnostics.report("duplicate key '\(key)' (first at line \(first.line))\(also)",
                    at: diagnostics.location(line: line, column: column))
            } else {
                diagnostics.report("duplicate key '\(key)'\(also)", at: at(first))
            }
        default:
            diagnostics.report("invalid YAML: \(error)", at: diagnostics.location(line: 1, column: 1))
        }
    }

    /// 1-based line and column (in characters) of the character at `offset`.
    private static func position(ofCharacter offset: Int, in text: String) -> (Int, Int) {
        var line = 1
        var column = 1
        for character in text.prefix(offset) {
            if character == "\n" || character == "\r\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }

    /// Where `key` appears again as a block-mapping key at the same column as `first`, before the
    /// block ends (a line indented less). `nil` when not found (flow mappings, quoted keys).
    private static func repeatedKey(_ key: String, after first: Mark, in yaml: String) -> (Int, Int)? {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        guard first.line >= 1, first.line < lines.count else { return nil }
        for index in first.line..<lines.count {
            let line = lines[index].unicodeScalars
            let indent = line.prefix { $0 == " " }.count
            let content = Substring(line.dropFirst(indent))
            if content.isEmpty || content.hasPrefix("#") || content == "\r" { continue }
            if indent + 1 < first.column { return nil }
            guard indent + 1 == first.column, content.hasPrefix(key) else { continue }
            let after = content.dropFirst(key.count).drop { $0 == " " }
            if after.hasPrefix(":") { return (index + 1, first.column) }
        }
        return nil
    }
}
