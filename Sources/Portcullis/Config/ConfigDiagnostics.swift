/// What one config load shares while decoding: the file, the environment, and every error so far.
///
/// A reference type so that every `ConfigNode` cursor reports into the same list; one instance is
/// used by one load on one thread and then discarded.
final class ConfigDiagnostics {
    let file: String
    /// Absolute folder of the config file.
    let directory: String
    let environment: [String: String]
    private(set) var errors: [ConfigError] = []

    init(file: String, directory: String, environment: [String: String]) {
        self.file = file
        self.directory = directory
        self.environment = environment
    }

    func report(_ message: String, at location: SourceLocation?) {
        // Show `${...}` as written, not with the parse-time brace stand-ins.
        let shown = String(
            message.map { $0 == EnvironmentInterpolation.openMarker ? "{" : $0 == EnvironmentInterpolation.closeMarker ? "}" : $0 }
        )
        errors.append(ConfigError(shown, at: location))
    }

    func location(line: Int, column: Int) -> SourceLocation {
        SourceLocation(file: file, line: line, column: column)
    }

    /// Errors in file order (those without a position last), so output reads top to bottom.
    var sortedErrors: [ConfigError] {
        errors.enumerated().sorted { lhs, rhs in
            let left = lhs.element.location.map { ($0.line, $0.column) } ?? (Int.max, Int.max)
            let right = rhs.element.location.map { ($0.line, $0.column) } ?? (Int.max, Int.max)
            return left != right ? left < right : lhs.offset < rhs.offset
        }.map(\.element)
    }

    /// Resolves a path from the file against the config folder.
    func resolve(path: String) -> String {
        if path.hasPrefix("/") { return path }
        return directory.hasSuffix("/") ? directory + path : directory + "/" + path
    }

    /// ` (did you mean 'x'?)` when one of `candidates` is a likely typo of `word`, else "".
    static func suggestion(for word: String, among candidates: [String]) -> String {
        let scored = candidates.map { ($0, editDistance(Array(word.utf8), Array($0.utf8))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(1, min(2, word.utf8.count / 3)) else {
            return ""
        }
        return " (did you mean '\(best.0)'?)"
    }

    private static func editDistance(_ lhs: [UInt8], _ rhs: [UInt8]) -> Int {
        guard !lhs.isEmpty else { return rhs.count }
        guard !rhs.isEmpty else { return lhs.count }
        var previous = Array(0...rhs.count)
        for (i, left) in lhs.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: rhs.count)
            for (j, right) in rhs.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (left == right ? 0 : 1))
            }
            previous = current
        }
        return previous[rhs.count]
    }
}
