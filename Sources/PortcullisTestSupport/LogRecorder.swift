import Foundation
import Logging

/// A logger that keeps what it is given, for checking what a component (a plugin) logs.
/// `@unchecked Sendable`: `entries` is only touched under `lock`.
public final class LogRecorder: @unchecked Sendable {
    public struct Entry: Sendable {
        public var level: Logger.Level
        public var message: String
    }

    private let lock = NSLock()
    private var stored: [Entry] = []

    public init() {}

    public var entries: [Entry] { lock.withLock { stored } }
    public var messages: [String] { entries.map(\.message) }

    /// A logger at `.trace` whose every line lands in `entries`.
    public var logger: Logger {
        Logger(label: "portcullis.test") { _ in Handler(recorder: self) }
    }

    fileprivate func append(_ entry: Entry) {
        lock.withLock { stored.append(entry) }
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
            recorder.append(Entry(level: event.level, message: event.message.description))
        }
    }
}
