import Foundation
import PortcullisTestSupport

/// Runs the built `portcullis` executable and collects what it printed.
struct CommandResult {
    var status: Int32
    var standardOutput: String
    var standardError: String

    static func run(_ arguments: [String]) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: GatewayProcess.executable)
        process.arguments = arguments
        // stderr goes to a file, so a chatty child never blocks on a second full pipe.
        let errorPath = "\(NSTemporaryDirectory())/portcullis-stderr-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errorPath) }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: errorPath)
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errorData = FileManager.default.contents(atPath: errorPath) ?? Data()
        return CommandResult(
            status: process.terminationStatus,
            standardOutput: String(decoding: outputData, as: UTF8.self),
            standardError: String(decoding: errorData, as: UTF8.self)
        )
    }
}

/// A config file on disk for the command-line tests.
func writeConfig(_ yaml: String, in directory: String? = nil) throws -> String {
    let folder = try directory ?? CPluginCompiler.temporaryDirectory("portcullis-config")
    let path = "\(folder)/gateway.yaml"
    try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// Polls `condition` until it holds or `timeout` passes; for state another process changes.
func eventually(within timeout: Duration = .seconds(15), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}
