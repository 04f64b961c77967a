import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process failed to start or to behave.
public struct ChildProcessFailure: Error, CustomStringConvertible {
    public var description: String
}

func closeDescriptor(_ fd: Int32) {
    #if canImport(Glibc)
    _ = Glibc.close(fd)
    #elseif canImport(Darwin)
    _ = Darwin.close(fd)
    #endif
}

/// A port the kernel just handed out for 127.0.0.1 and that is free again.
public func freeLocalPort() throws -> Int {
    let held = try RefusingLocalPort()
    defer { held.close() }
    return held.port
}

/// A 127.0.0.1 port bound without listening, held until `close()`: a connection to it is
/// refused at once, and no other socket can take the port meanwhile (as one could take a port
/// from `freeLocalPort()` that a test means to keep dead).
public final class RefusingLocalPort: Sendable {
    private let descriptor: Int32
    public let port: Int

    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ChildProcessFailure(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            let code = errno
            closeDescriptor(fd)
            throw ChildProcessFailure(description: "bind: errno \(code)")
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    public func close() {
        closeDescriptor(descriptor)
    }
}

/// A child started with `posix_spawn`, with every signal unblocked and at its default action.
/// Foundation's `Process` passes on the spawning thread's signal mask, and the test runner's
/// threads block SIGTERM, so a server started that way would ignore SIGTERM.
final class SpawnedProcess {
    /// Held while making a pipe and while spawning, so no child spawned here inherits a pipe
    /// end before it is marked close-on-exec.
    static let spawnLock = NIOLock()

    let pid: pid_t

    /// `output`: a file for stdout (appended), else /dev/null; `errorOutput`: a file for
    /// stderr, else the same as stdout.
    init(
        executable: String, arguments: [String], standardInput: Int32? = nil, output: String? = nil,
        errorOutput: String? = nil
    ) throws {
        var attributes = posix_spawnattr_t()
        var actions = posix_spawn_file_actions_t()
        posix_spawnattr_init(&attributes)
        posix_spawn_file_actions_init(&actions)
        defer {
            posix_spawnattr_destroy(&attributes)
            posix_spawn_file_actions_destroy(&actions)
        }
        var nothing = sigset_t()
        var everything = sigset_t()
        sigemptyset(&nothing)
        sigfillset(&everything)
        posix_spawnattr_setsigmask(&attributes, &nothing)
        posix_spawnattr_setsigdefault(&attributes, &everything)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        if let standardInput {
            posix_spawn_file_actions_adddup2(&actions, standardInput, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if let errorOutput {
            posix_spawn_file_actions_addopen(&actions, 2, errorOutput, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child = pid_t()
        let status = Self.spawnLock.withLock { posix_spawn(&child, executable, &actions, &attributes, argv, environ) }
        guard status == 0 else {
            throw ChildProcessFailure(description: "posix_spawn \(executable): errno \(status)")
        }
        pid = child
    }

    /// True once the process has exited; it is not reaped (its pid stays taken).
    var hasExited: Bool {
        var info = siginfo_t()
        return waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_signo == SIGCHLD
    }

    func send(_ signal: Int32) {
        kill(pid, signal)
    }

    /// Reaps the process once it has exited; false if it is still running at the deadline.
    func waitForExit(within timeout: Duration) -> Bool {
        waitForStatus(within: timeout) != nil
    }

    /// The raw wait status once the process has exited (`nil` if still running at the
    /// deadline; -1 if it was reaped elsewhere).
    func waitForStatus(within timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return status }
            if result < 0 && errno != EINTR { return -1 }
            if ContinuousClock.now >= deadline { return nil }
            Thread.sleep(forTimeInterval: 0.005)
        }
    }
}

/// How a command run to completion ended, and what it printed.
public struct CommandOutput: Sendable {
    /// The exit code, or 128 + the signal number when a signal ended it (as a shell reports).
    public var status: Int32
    public var standardOutput: String
    public var standardError: String
}

/// Runs `executable` to completion and collects its stdout and stderr (each through a file,
/// so a chatty child never blocks on a full pipe). Blocks the calling thread.
///
/// The tests spawn through this rather than Foundation's `Process`: on Linux, `Process.run()`
/// (swift-corelibs-foundation before 6.4) copies a whole `struct dirent` out of readdir's
/// buffer while counting open descriptors, reading up to 256 bytes past that buffer. With
/// many descriptors open, as in a parallel test run, that is an AddressSanitizer report or
/// an occasional SIGSEGV (swiftlang/swift-corelibs-foundation#5472).
public func runCommand(_ executable: String, _ arguments: [String], within timeout: Duration = .seconds(300)) throws
    -> CommandOutput
{
    let folder = NSTemporaryDirectory() + "/portcullis-command-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let outputPath = "\(folder)/stdout"
    let errorPath = "\(folder)/stderr"
    let child = try SpawnedProcess(executable: executable, arguments: arguments, output: outputPath, errorOutput: errorPath)
    guard let status = child.waitForStatus(within: timeout) else {
        child.send(SIGKILL)
        _ = child.waitForExit(within: .seconds(10))
        throw ChildProcessFailure(description: "\(executable) \(arguments.joined(separator: " ")) still running after \(timeout)")
    }
    func text(_ path: String) -> String {
        String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }
    return CommandOutput(
        status: status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F),
        standardOutput: text(outputPath),
        standardError: text(errorPath)
    )
}

/// A child process guarded by a watchdog: `sh` blocked reading a pipe only this process
/// holds sends the child SIGTERM when that pipe closes, so a test process that crashes does
/// not leave servers behind.
public final class WatchedProcess: @unchecked Sendable {
    // `@unchecked Sendable`: everything is immutable after init; `stop` may run twice safely
    // (closing the pipe twice is avoided by the caller owning the instance once).
    private let child: SpawnedProcess
    private let watchdog: SpawnedProcess
    /// The write end of the watchdog's stdin: closing it (or dying) stops the child.
    private let watchdogPipe: Int32

    public var pid: pid_t { child.pid }

    public init(executable: String, arguments: [String], output: String? = nil) throws {
        let child = try SpawnedProcess(executable: executable, arguments: arguments, output: output)
        var ends: [Int32] = [-1, -1]
        let piped = SpawnedProcess.spawnLock.withLock {
            // Close-on-exec before any other spawn here can inherit the write end.
            pipe(&ends) == 0 && fcntl(ends[0], F_SETFD, FD_CLOEXEC) == 0 && fcntl(ends[1], F_SETFD, FD_CLOEXEC) == 0
        }
        guard piped else {
            child.send(SIGKILL)
            _ = child.waitForExit(within: .seconds(10))
            throw ChildProcessFailure(description: "pipe: errno \(errno)")
        }
        defer { closeDescriptor(ends[0]) }
        do {
            // "$0" is the child's pid; it stays a zombie (not reaped, so not reused) until
            // this watchdog has exited, see stop().
            watchdog = try SpawnedProcess(
                executable: "/bin/sh",
                arguments: ["-c", "read ignored; kill -TERM \"$0\" 2>/dev/null", "\(child.pid)"],
                standardInput: ends[0]
            )
        } catch {
            closeDescriptor(ends[1])
            child.send(SIGKILL)
            _ = child.waitForExit(within: .seconds(10))
            throw error
        }
        self.child = child
        self.watchdogPipe = ends[1]
    }

    public var hasExited: Bool { child.hasExited }

    public func send(_ signal: Int32) {
        child.send(signal)
    }

    /// Sends `signal` and returns the exit code once the child exits on its own within
    /// `timeout` (`nil` when it is still running or was killed by a signal).
    public func exitCode(after signal: Int32, within timeout: Duration) -> Int32? {
        child.send(signal)
        guard let status = child.waitForStatus(within: timeout), status >= 0, status & 0x7F == 0 else { return nil }
        return (status >> 8) & 0xFF
    }

    /// SIGTERM through the watchdog, then waits for the child to exit (SIGKILL after 10 s).
    /// Call once.
    public func stop() {
        closeDescriptor(watchdogPipe)
        if !watchdog.waitForExit(within: .seconds(5)) {
            watchdog.send(SIGKILL)
            _ = watchdog.waitForExit(within: .seconds(5))
            child.send(SIGTERM)
        }
        if !child.waitForExit(within: .seconds(10)) {
            child.send(SIGKILL)
            _ = child.waitForExit(within: .seconds(10))
        }
    }
}
