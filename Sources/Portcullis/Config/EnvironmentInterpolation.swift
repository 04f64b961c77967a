/// `${VAR}` / `${VAR:-default}` substitution applied to every scalar of `gateway.yaml`.
///
/// - `${VAR}`: the variable's value; an unset variable is an error naming it.
/// - `${VAR:-default}`: the value, or `default` when the variable is unset or empty (as in sh).
///   The default runs to the first `}` and is taken literally.
/// - `$$`: a literal `$`. Any other `$` is kept as is, so `pa$word` needs no escaping.
enum EnvironmentInterpolation {
    enum Failure: Error, Equatable {
        /// `${NAME}` with `NAME` unset and no default.
        case unsetVariable(String)
        /// `${` without a closing `}`.
        case unterminated
        /// `${...}` whose name is not `[A-Za-z_][A-Za-z0-9_]*`.
        case invalidName(String)
    }

    /// Stand-ins for the braces of a `${...}` reference while the YAML is parsed.
    static let openMarker: Character = "\u{E000}"
    static let closeMarker: Character = "\u{E001}"

    /// Replaces the braces of every `${...}` in the raw file with private-use characters, so a
    /// reference inside a flow collection (`algorithms: [${ALG}]`) is not read as a YAML flow
    /// mapping. One scalar for one scalar: the columns libYAML reports do not move.
    static func protectReferences(in yaml: String) -> String {
        guard yaml.contains("${") else { return yaml }
        var output = String.UnicodeScalarView()
        let scalars = Array(yaml.unicodeScalars)
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "$", index + 1 < scalars.count, scalars[index + 1] == "$" {
                output.append(contentsOf: ["$", "$"])
                index += 2
            } else if scalar == "$", index + 1 < scalars.count, scalars[index + 1] == "{",
                let close = scalars[(index + 2)...].firstIndex(where: { $0 == "}" || $0 == "\n" }), scalars[close] == "}"
            {
                output.append("$")
                output.append(openMarker.unicodeScalars.first!)  // a one-scalar Character
                output.append(contentsOf: scalars[(index + 2)..<close])
                output.append(closeMarker.unicodeScalars.first!)  // a one-scalar Character
                index = close + 1
            } else {
                output.append(scalar)
                index += 1
            }
        }
        return String(output)
    }

    /// Returns `text` with every reference replaced from `environment`.
    static func expand(_ text: String, environment: [String: String]) -> Result<String, Failure> {
        guard text.contains("$") else { return .success(text) }
        var output = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            output += rest[..<dollar]
            let next = rest.index(after: dollar)
            if next < rest.endIndex, rest[next] == "$" {
                output += "$"
                rest = rest[rest.index(after: next)...]
            } else if next < rest.endIndex, rest[next] == "{" || rest[next] == openMarker {
                let closing: Character = rest[next] == "{" ? "}" : closeMarker
                guard let close = rest[next...].firstIndex(of: closing) else { return .failure(.unterminated) }
                let body = rest[rest.index(after: next)..<close]
                switch substitute(body, environment: environment) {
                case .success(let value): output += value
                case .failure(let failure): return .failure(failure)
                }
                rest = rest[rest.index(after: close)...]
            } else {
                output += "$"
                rest = rest[next...]
            }
        }
        output += rest
        return .success(output)
    }

    private static func substitute(_ body: Substring, environment: [String: String]) -> Result<String, Failure> {
        let name: Substring
        let fallback: Substring?
        if let separator = body.firstRange(of: ":-") {
            name = body[..<separator.lowerBound]
            fallback = body[separator.upperBound...]
        } else {
            name = body
            fallback = nil
        }
        guard isValidName(name) else { return .failure(.invalidName(String(name))) }
        if let value = environment[String(name)], !(value.isEmpty && fallback != nil) { return .success(value) }
        if let fallback { return .success(String(fallback)) }
        return .failure(.unsetVariable(String(name)))
    }

    private static func isValidName(_ name: Substring) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic)
        else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && $0.properties.isAlphabetic) || ("0"..."9").contains($0) }
    }
}
