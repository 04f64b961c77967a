import Logging
import NIOCore

/// One request's record, filled in as the request goes and finished once when its response
/// is complete: it feeds the metrics and, when `log.access_log` is on, the access-log line.
/// Never holds a token: only the verified `sub`.
struct AccessRecord {
    let start: NIODeadline
    let requestID: String
    /// Whether the access-log line is written (`log.access_log`).
    let logged: Bool
    let method: String
    /// Normalized, without the query string; `-` when the path was refused.
    let path: String
    var route = "-"
    /// `allowed`, `public` (an `auth: none` route), or the refusal's error code.
    var auth = "-"
    var subject: String?
    var upstream: String?
    var upstreamStart: NIODeadline?
    var upstreamStatus: Int?

    /// `path` is the normalized path (`nil` when it was refused or there is no head).
    init(start: NIODeadline, requestID: String, head: RequestHead?, path: String?, logged: Bool) {
        self.start = start
        self.requestID = requestID
        self.logged = logged
        self.method = head.map { $0.string($0.method) } ?? "-"
        self.path = path ?? "-"
    }

    /// The auth result a refusal stands for: its code when the token decided it.
    static func authResult(of error: GatewayError) -> String {
        switch error.status {
        case 401, 403: return error.code
        default:
            return error.code == "revocation_unavailable" || error.code == "keys_unavailable" ? error.code : "-"
        }
    }

    /// Writes the line at info level (the access logger is never quieter than info).
    func emit(status: Int, now: NIODeadline, logger: Logger) {
        var metadata: Logger.Metadata = [
            "portcullis.request_id": "\(requestID)",
            "portcullis.method": "\(method)",
            "portcullis.path": "\(path)",
            "portcullis.route": "\(route)",
            "portcullis.status": "\(status)",
            "portcullis.duration_ms": "\(Self.milliseconds(now - start))",
            "portcullis.auth": "\(auth)",
        ]
        if let subject { metadata["portcullis.sub"] = "\(subject)" }
        if let upstream {
            metadata["portcullis.upstream"] = "\(upstream)"
            if let upstreamStart { metadata["portcullis.upstream_ms"] = "\(Self.milliseconds(now - upstreamStart))" }
        }
        logger.info("request", metadata: metadata)
    }

    /// Milliseconds with microsecond precision, e.g. `1.234`.
    static func milliseconds(_ amount: TimeAmount) -> String {
        let micros = amount.nanoseconds / 1000
        let fraction = String(micros % 1000)
        return "\(micros / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}
