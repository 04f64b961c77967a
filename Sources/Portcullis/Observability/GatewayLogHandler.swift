import Foundation
import Logging

/// One log line per event on stderr, as JSON (`log.format: json`) or text. Metadata keys are
/// dotted (`portcullis.route`); values are never tokens or secrets (callers guarantee it).
public struct GatewayLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let format: LogFormat

    public init(label: String, level: Logger.Level, format: LogFormat) {
        self.label = label
        self.logLevel = level
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let time = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
        var line: String
        switch format {
        case .json:
            var object: [String: JSONValue] = [
                "time": .string(time), "level": .string(event.level.rawValue), "message": .string(event.message.description),
            ]
            for (key, value) in merged { object[key] = .string(value.description) }
            line = JSONValue.object(object).compactText
        case .text:
            line = "\(time) \(event.level.rawValue) \(event.message)"
            for key in merged.keys.sorted() { line += " \(key)=\(merged[key]!)" }  // key from keys
        }
        line += "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
