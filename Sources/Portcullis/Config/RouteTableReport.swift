import Foundation

/// The route table as `portcullis check` prints it: name, match, methods, auth, upstream.
public struct RouteTableReport: Sendable {
    private let config: GatewayConfig

    public init(_ config: GatewayConfig) {
        self.config = config
    }

    public func render() -> String {
        var rows = [["NAME", "MATCH", "METHODS", "AUTH", "UPSTREAM"]]
        for route in config.routes {
            var match: String
            switch route.path {
            case .exact(let path): match = "path \(path)"
            case .prefix(let prefix): match = "prefix \(prefix)"
            }
            if let host = route.host { match += " host \(host)" }
            if let strip = route.stripPrefix { match += " strip \(strip)" }
            let upstream = config.upstream(named: route.upstream)
                .map { "\(route.upstream) (\($0.scheme.rawValue)://\($0.host):\($0.port)\($0.basePath))" } ?? route.upstream
            rows.append([route.name, match, route.methods?.joined(separator: ",") ?? "*", Self.describe(route.auth), upstream])
        }
        let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index] + 2, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n")
    }

    static func describe(_ policy: AuthPolicy) -> String {
        var parts = [policy.kind.rawValue]
        if !policy.requireScopes.isEmpty { parts.append("scopes=" + policy.requireScopes.joined(separator: ",")) }
        for claim in policy.requireClaims {
            parts.append("\(claim.path.joined(separator: "."))=\(claim.value.stringValue ?? claim.value.compactText)")
        }
        return parts.joined(separator: " ")
    }
}
