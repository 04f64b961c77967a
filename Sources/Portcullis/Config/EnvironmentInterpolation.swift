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
            } else if next < rest.endIndex, rest[next] == "{" {
                guard let close = rest[next...].firstIndex(of: "}") else { return .failure(.unterminated) }
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
