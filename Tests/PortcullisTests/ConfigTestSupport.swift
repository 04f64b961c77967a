import Foundation

@testable import Portcullis

/// Helpers for the config loader tests: parse a YAML string, collect its errors, and make a
/// throwaway folder for key files.
enum ConfigFixture {
    /// `jwt` and `upstreams` (lines 1-9); tests add `routes:` from line 10.
    static let prelude = """
        jwt:
          issuers:
            - issuer: https://auth.example.com
              algorithms: [HS256]
              keys:
                - secret: s3cret
        upstreams:
          orders:
            url: http://127.0.0.1:9000

        """

    /// The smallest valid config (lines 1-13); tests append sections from line 14.
    static let minimal = prelude + """
        routes:
          - name: api
            path_prefix: /api/
            upstream: orders

        """

    static func parse(
        _ yaml: String, environment: [String: String] = [:], directory: String = "/nonexistent-config-dir"
    ) throws(ConfigErrors) -> GatewayConfig {
        try ConfigLoader.parse(yaml: yaml, file: "gateway.yaml", directory: directory, environment: environment)
    }

    /// The errors `yaml` produces (empty when it is valid).
    static func errors(_ yaml: String, environment: [String: String] = [:], directory: String = "/nonexistent-config-dir")
        -> [ConfigError]
    {
        do {
            _ = try parse(yaml, environment: environment, directory: directory)
            return []
        } catch {
            return error.errors
        }
    }

    /// `(line, column)` of an error, for compact position assertions.
    static func position(_ error: ConfigError?) -> [Int]? {
        error?.location.map { [$0.line, $0.column] }
    }
}

/// A fresh folder under the system temporary directory, removed by `remove()`.
struct TemporaryFolder {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "portcullis-config-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `contents` at `relativePath`, creating folders; returns the absolute path.
    @discardableResult
    func write(_ relativePath: String, _ contents: String) throws -> String {
        let file = path + "/" + relativePath
        let folder = URL(fileURLWithPath: file).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
