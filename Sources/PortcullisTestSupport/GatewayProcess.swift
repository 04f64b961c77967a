import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The built `portcullis` executable running `serve` as a separate process, for tests that
/// need several gateways (each with its own plugin instance) or the real command line.
/// `{{LISTEN}}` in the YAML becomes a free 127.0.0.1 port.
public final class GatewayProcess: Sendable {
    public let port: Int
    public let directory: String
    private let process: WatchedProcess

    /// The executable next to the test binary.
    public static var executable: String { "\(BuiltPlugins.directory)/portcullis" }

    /// Writes the config, starts `portcullis serve` and returns once it accepts connections.
    public init(yaml: String) throws {
        directory = try CPluginCompiler.temporaryDirectory("portcullis-gateway")
        var lastError: Error = ChildProcessFailure(description: "no attempt")
        for _ in 0..<3 {
            let port = try freeLocalPort()
            let config = "\(directory)/gateway.yaml"
            try yaml.replacingOccurrences(of: "{{LISTEN}}", with: "127.0.0.1:\(port)")
                .write(toFile: config, atomically: true, encoding: .utf8)
            let process = try WatchedProcess(
                executable: Self.executable,
                arguments: ["serve", "--config", config, "--plugin-dir", BuiltPlugins.directory],
                output: "\(directory)/gateway.log"
            )
            if Self.awaitListening(port: port, process: process) {
                self.port = port
                self.process = process
                return
            }
            process.stop()
            lastError = ChildProcessFailure(description: "portcullis serve did not come up:\n\(Self.log(in: directory))")
        }
        throw lastError
    }

    /// The config file the process serves.
    public var configPath: String { "\(directory)/gateway.yaml" }

    /// Replaces the config file (`{{LISTEN}}` becomes the same port), e.g. before a SIGHUP.
    public func rewrite(yaml: String) throws {
        try yaml.replacingOccurrences(of: "{{LISTEN}}", with: "127.0.0.1:\(port)")
            .write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Sends `signal` (SIGTERM, SIGINT) and returns the exit code once the process exits
    /// within `timeout`; `nil` if it did not (or died of a signal).
    public func exitCode(after signal: Int32, within timeout: Duration) -> Int32? {
        process.exitCode(after: signal, within: timeout)
    }

    /// Sends `signal` (e.g. SIGHUP) to the process.
    public func send(_ signal: Int32) {
        process.send(signal)
    }

    /// What the process wrote to stdout and stderr.
    public var log: String { Self.log(in: directory) }

    /// SIGTERM and wait.
    public func stop() {
        process.stop()
    }

    private static func log(in directory: String) -> String {
        (try? String(contentsOfFile: "\(directory)/gateway.log", encoding: .utf8)) ?? ""
    }

    private static func awaitListening(port: Int, process: WatchedProcess) -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, !process.hasExited {
            if canConnect(port: port) { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }

    private static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { closeDescriptor(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
