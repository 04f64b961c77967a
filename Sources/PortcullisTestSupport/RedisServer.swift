import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A real `redis-server` for one test: 127.0.0.1 on a free port, no persistence, its own
/// temporary folder, optionally a password and a unix socket.
///
/// The server is a child of the test process, and a small watchdog (`sh` blocked reading a
/// pipe only this process holds) sends it SIGTERM when that pipe closes, so a test process
/// that crashes does not leave a Redis behind. `stop()` and `start()` bring the same server
/// down and up again on the same port, for outage tests.
///
/// `@unchecked Sendable`: the mutable state (port and running processes) is only touched
/// under `lock`; everything else is immutable.
public final class RedisServer: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The TCP port, fixed for the server's lifetime.
    public var port: Int { lock.withLock { state.port } }
    /// `requirepass`, if any.
    public let password: String?
    /// The server's folder; holds `redis.log` and `redis.sock`.
    public let directory: String
    /// The unix socket path when the server was made with `unixSocket: true`.
    public let unixSocketPath: String?

    /// `redis://[:password@]127.0.0.1:PORT/0`.
    public var url: String { url(database: 0) }

    private struct State {
        var port: Int
        var running: WatchedProcess?
    }

    private let lock = NIOLock()
    private var state: State

    /// Starts a server; retries on another port if the one it picked was taken meanwhile.
    public init(password: String? = nil, unixSocket: Bool = false) throws {
        self.password = password
        let folder = "\(NSTemporaryDirectory())/pc-redis-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        directory = folder
        unixSocketPath = unixSocket ? "\(folder)/redis.sock" : nil
        state = State(port: 0)
        var lastError: Error = Failure(description: "no attempt")
        for _ in 0..<5 {
            do {
                let port = try freeLocalPort()
                lock.withLock { state.port = port }
                try start()
                return
            } catch {
                lastError = error
            }
        }
        try? FileManager.default.removeItem(atPath: folder)
        throw lastError
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    public func url(database: Int, password overriding: String? = nil) -> String {
        let secret = overriding ?? password
        return "redis://\(secret.map { ":\($0)@" } ?? "")127.0.0.1:\(port)/\(database)"
    }

    // MARK: Life

    /// Launches redis-server on `port` and returns once it answers PING. Does nothing if it
    /// is running.
    public func start() throws {
        try lock.withLock {
            guard state.running == nil else { return }
            state.running = try launch(port: state.port)
        }
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            if (try? command(["PING"])) == "PONG" { return }
            if lock.withLock({ state.running.map { $0.hasExited } ?? true }) { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let log = (try? String(contentsOfFile: "\(directory)/redis.log", encoding: .utf8)) ?? ""
        stop()
        throw Failure(description: "redis-server on port \(port) did not come up:\n\(log.suffix(2000))")
    }

    /// SIGTERM (through the watchdog) and waits until the server has exited. Idempotent.
    public func stop() {
        guard let running = lock.withLock({ () -> WatchedProcess? in
            defer { state.running = nil }
            return state.running
        }) else { return }
        running.send(SIGCONT)  // in case it is frozen
        running.stop()
    }

    /// SIGSTOP: the server keeps its connections but answers nothing until `thaw()`.
    public func freeze() {
        lock.withLock { state.running?.send(SIGSTOP) }
    }

    /// SIGCONT after `freeze()`.
    public func thaw() {
        lock.withLock { state.running?.send(SIGCONT) }
    }

    private func launch(port: Int) throws -> WatchedProcess {
        var arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", directory, "--logfile", "\(directory)/redis.log", "--daemonize", "no",
        ]
        if let password { arguments += ["--requirepass", password] }
        if let unixSocketPath { arguments += ["--unixsocket", unixSocketPath, "--unixsocketperm", "700"] }
        return try WatchedProcess(executable: try Self.executable(), arguments: arguments)
    }

    private static func executable() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let candidates = path.split(separator: ":").map { "\($0)/redis-server" } + ["/usr/bin/redis-server"]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw Failure(description: "redis-server not found on PATH or in /usr/bin")
        }
        return found
    }

    // MARK: Talking to it

    /// Sends one command on a fresh connection (after AUTH and SELECT `database`) and renders
    /// the reply: a status or bulk string as its text, an integer in decimal, nil as `(nil)`,
    /// an error as `(error) MESSAGE`, an array as its elements on separate lines.
    public func command(_ arguments: [String], database: Int = 0) throws -> String {
        let connection = try RESPConnection(port: port)
        defer { connection.close() }
        if let password { _ = try connection.send(["AUTH", password]) }
        if database != 0 { _ = try connection.send(["SELECT", "\(database)"]) }
        return try connection.send(arguments)
    }
}

/// A blocking RESP2 client on one TCP connection, just enough for tests to look at keys.
private final class RESPConnection {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var position = 0

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ChildProcessFailure(description: "socket: errno \(errno)") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else {
            let code = errno
            closeDescriptor(fd)
            throw ChildProcessFailure(description: "connect to 127.0.0.1:\(port): errno \(code)")
        }
    }

    func close() {
        closeDescriptor(fd)
    }

    func send(_ arguments: [String]) throws -> String {
        var request = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            let bytes = Array(argument.utf8)
            request += Array("$\(bytes.count)\r\n".utf8) + bytes + Array("\r\n".utf8)
        }
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw ChildProcessFailure(description: "write: errno \(errno)") }
            sent += n
        }
        return try readReply()
    }

    private func readReply() throws -> String {
        let line = try readLine()
        guard let kind = line.first else { throw ChildProcessFailure(description: "empty reply line") }
        let rest = String(decoding: line.dropFirst(), as: UTF8.self)
        switch kind {
        case UInt8(ascii: "+"), UInt8(ascii: ":"):
            return rest
        case UInt8(ascii: "-"):
            return "(error) \(rest)"
        case UInt8(ascii: "$"):
            guard let length = Int(rest) else { throw ChildProcessFailure(description: "bad bulk length") }
            if length < 0 { return "(nil)" }
            let bytes = try readBytes(length + 2)
            return String(decoding: bytes.prefix(length), as: UTF8.self)
        case UInt8(ascii: "*"):
            guard let count = Int(rest) else { throw ChildProcessFailure(description: "bad array length") }
            if count < 0 { return "(nil)" }
            return try (0..<count).map { _ in try readReply() }.joined(separator: "\n")
        default:
            throw ChildProcessFailure(description: "unexpected reply type \(kind)")
        }
    }

    private func readLine() throws -> [UInt8] {
        var line: [UInt8] = []
        while true {
            let byte = try readBytes(1)[0]
            if byte == UInt8(ascii: "\n"), line.last == UInt8(ascii: "\r") { return Array(line.dropLast()) }
            line.append(byte)
        }
    }

    private func readBytes(_ count: Int) throws -> [UInt8] {
        while buffer.count - position < count {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw ChildProcessFailure(description: "read: \(n == 0 ? "closed" : "errno \(errno)")") }
            buffer = Array(buffer[position...]) + chunk.prefix(n)
            position = 0
        }
        defer { position += count }
        return Array(buffer[position..<position + count])
    }
}
