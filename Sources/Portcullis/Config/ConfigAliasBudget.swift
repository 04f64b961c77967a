import CYaml

/// Refuses YAML whose aliases would expand into more nodes than any real config has (the
/// "billion laughs" attack), before Yams composes it.
///
/// Yams resolves an alias by copying the anchored node, and compares and hashes mapping keys
/// in full, so a few hundred bytes of nested anchors (`b: &b [*a, *a, ...]`) would otherwise
/// take exponential time and memory in `Yams.compose` and in every decoder that walks the tree
/// (found by `Fuzz/FuzzConfig`). Anchors and aliases themselves stay allowed: reusing a block a
/// few times costs little. The check reads libYAML's event stream, the same parser Yams uses,
/// once more; it is linear in the size of the text.
enum ConfigAliasBudget {
    /// Nodes a document may have with every alias expanded; a large real config has a few thousand.
    static let maximumNodes = 100_000

    /// The 1-based line and column of the first alias that takes the document over
    /// `maximumNodes`, or `nil` when it stays within (a syntax error is left for Yams to report).
    static func firstExcessiveAlias(in yaml: String) -> (line: Int, column: Int)? {
        var bytes = Array(yaml.utf8)
        return bytes.withUnsafeMutableBufferPointer { buffer in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { return nil }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var counter = ExpansionCounter()
            var event = yaml_event_t()
            while yaml_parser_parse(&parser, &event) == 1 {
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { return nil }
                guard counter.add(event) else {
                    return (Int(event.start_mark.line) + 1, Int(event.start_mark.column) + 1)
                }
            }
            return nil
        }
    }
}

/// Counts nodes as they would be after alias expansion: each anchor remembers the size of its
/// node, and an alias adds that size again.
private struct ExpansionCounter {
    private var total = 0
    private var anchorSizes: [String: Int] = [:]
    /// Collections not yet ended: their anchor and the total when they started.
    private var open: [(anchor: String?, start: Int)] = []

    /// False once the expanded document exceeds `ConfigAliasBudget.maximumNodes`.
    mutating func add(_ event: yaml_event_t) -> Bool {
        switch event.type {
        case YAML_SCALAR_EVENT:
            total += 1
            if let anchor = Self.name(event.data.scalar.anchor) { anchorSizes[anchor] = 1 }
        case YAML_SEQUENCE_START_EVENT:
            total += 1
            open.append((Self.name(event.data.sequence_start.anchor), total - 1))
        case YAML_MAPPING_START_EVENT:
            total += 1
            open.append((Self.name(event.data.mapping_start.anchor), total - 1))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            if let (anchor, start) = open.popLast(), let anchor { anchorSizes[anchor] = total - start }
        case YAML_ALIAS_EVENT:
            // An undefined alias is Yams' error to report; it expands to nothing here.
            total += Self.name(event.data.alias.anchor).flatMap { anchorSizes[$0] } ?? 0
        default:
            break
        }
        return total <= ConfigAliasBudget.maximumNodes
    }

    private static func name(_ anchor: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        anchor.map { String(cString: $0) }
    }
}
