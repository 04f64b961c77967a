import Foundation
import PortcullisTestSupport

/// Runs the built `portcullis` executable with `arguments` to completion.
func runPortcullis(_ arguments: [String]) throws -> CommandOutput {
    try runCommand(GatewayProcess.executable, arguments)
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
