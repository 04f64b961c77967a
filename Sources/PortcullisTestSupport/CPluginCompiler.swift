import Foundation

/// Compiles C plugins with the system `cc`, as a plugin author would, for tests that load
/// what they built.
public enum CPluginCompiler {
    public struct Failure: Error, CustomStringConvertible {
        public var command: String
        public var output: String
        public var description: String { "\(command) failed:\n\(output)" }
    }

    /// The repository root, found from this source file's location.
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The folder holding `portcullis_plugin.h`.
    public static var headerDirectory: String {
        repositoryRoot.appendingPathComponent("Sources/CPortcullisPlugin/include").path
    }

    /// A fresh temporary folder for build products.
    public static func temporaryDirectory(_ prefix: String = "portcullis-plugin") throws -> String {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// Runs `cc -shared -fPIC` on `sourceFile` with `flags` and the header folder on the
    /// include path; returns the library path.
    @discardableResult
    public static func compile(sourceFile: String, output: String, flags: [String] = []) throws -> String {
        let arguments = ["-shared", "-fPIC", "-I", headerDirectory] + flags + ["-o", output, sourceFile]
        try run("cc", arguments)
        return output
    }

    /// Writes `source` to `directory/name.c` and compiles it to `directory/libname.so`.
    public static func compile(source: String, name: String, in directory: String, flags: [String] = []) throws -> String {
        let sourceFile = "\(directory)/\(name).c"
        try source.write(toFile: sourceFile, atomically: true, encoding: .utf8)
        return try compile(sourceFile: sourceFile, output: "\(directory)/lib\(name).so", flags: flags)
    }

    /// Runs a tool from PATH and throws with its output when it fails.
    public static func run(_ tool: String, _ arguments: [String]) throws {
        let result = try runCommand("/usr/bin/env", [tool] + arguments)
        guard result.status == 0 else {
            throw Failure(
                command: ([tool] + arguments).joined(separator: " "),
                output: result.standardOutput + result.standardError
            )
        }
    }
}
