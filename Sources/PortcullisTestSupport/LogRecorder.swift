import Logging
import NIOConcurrencyHelpers

/// A logger whose lines are kept in memory, for tests that assert what was logged.
public final class LogRecorder: Sendable {
    public struct Entry: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]
    }

    private let entries = NIOLockedValueBox<[Entry]>([])

    public init() {}

    /// A logger writing into this recorder at `level` and above.
    public func logger(label: String = "test", level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { _ in Handler(recorder: self) }
        logger.logLevel = level
        return logger
    }

    public var recorded: [Entry] {
        entries.withLockedValue { $0 }
    }

    public var messages: [String] {
        recorded.map(\.message)
    }

    /// Every message and metadata value in one string, for "was a secret ever logged?" checks.
    public var fullText: String {
        recorded.map { entry in
            ([entry.message] + entry.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
                .joined(separator: " ")
        }.joined(separator: "\n")
    }

    fileprivate func append(_ entry: Entry) {
        entries.withLockedValue { $0.append(entry) }
    }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var merged: [String: String] = [:]
            for (key, value) in metadata { merged[key] = "\(value)" }
            for (key, value) in event.metadata ?? [:] { merged[key] = "\(value)" }
            recorder.append(Entry(level: event.level, message: "\(event.message)", metadata: merged))
        }
    }
}
