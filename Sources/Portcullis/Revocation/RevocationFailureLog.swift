import Logging
import NIOCore

/// Logs blocklist failures on the request path at most once a second per event loop, with
/// the number folded into each line, so a backend outage under load does not flood the log.
struct RevocationFailureLog {
    private var lastLogged: NIODeadline?
    private var suppressed = 0

    mutating func record(_ reason: String, allowed: Bool, logger: Logger, now: NIODeadline) {
        if let lastLogged, now - lastLogged < .seconds(1) {
            suppressed += 1
            return
        }
        let folded = suppressed
        lastLogged = now
        suppressed = 0
        logger.warning(
            "revocation check failed; request \(allowed ? "allowed (on_error: allow)" : "refused with 503 (on_error: deny)")",
            metadata: [
                "portcullis.reason": "\(reason)",
                "portcullis.failures_not_logged": "\(folded)",
            ]
        )
    }
}
