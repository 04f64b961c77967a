import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads files named by the config (the config itself, key files, CA files) and says why when it
/// cannot, with the operating system's reason (`No such file or directory`), which Foundation's
/// `Data(contentsOf:)` does not keep on Linux.
///
/// Blocking I/O: called only while loading a config, never on an event loop.
enum ConfigFile {
    struct Failure: Error {
        var reason: String
    }

    /// At most this much is read: config and key files are small, and a mistaken path to a
    /// device or a huge file should fail rather than fill memory.
    static let maximumSize = 16 * 1024 * 1024

    static func read(_ path: String) -> Result<[UInt8], Failure> {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return .failure(Failure(reason: describe(errno: errno))) }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return .failure(Failure(reason: describe(errno: errno))) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            let kind = info.st_mode & S_IFMT == S_IFDIR ? "is a directory" : "not a regular file"
            return .failure(Failure(reason: kind))
        }
        guard Int(info.st_size) <= maximumSize else {
            return .failure(Failure(reason: "larger than \(maximumSize / 1024 / 1024) MiB"))
        }
        do {
            return .success(Array(try handle.readToEnd() ?? Data()))
        } catch {
            return .failure(Failure(reason: "\(error)"))
        }
    }

    /// Absolute, normalized path of `path` taken relative to the current directory.
    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    private static func describe(errno code: Int32) -> String {
        String(cString: strerror(code))
    }
}
