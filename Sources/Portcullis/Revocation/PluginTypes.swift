import CPortcullisPlugin

/// What a revocation call is about: the identity fields of a verified token.
public struct RevocationToken: Sendable, Hashable {
    public var jti: String
    /// `sub`; `nil` is passed to the plugin as a NULL pointer.
    public var subject: String?
    /// `iat` in Unix seconds; `nil` is passed as `INT64_MIN`.
    public var issuedAt: Int64?
    /// For a check, the token's `exp`; for a revocation, the time until which the jti must
    /// be remembered. `nil` is passed as `INT64_MIN`.
    public var expiresAt: Int64?

    public init(jti: String, subject: String? = nil, issuedAt: Int64? = nil, expiresAt: Int64? = nil) {
        self.jti = jti
        self.subject = subject
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
    }
}

/// The `PC_CAP_*` bits a plugin declares.
public struct PluginCapabilities: OptionSet, Sendable, CustomStringConvertible {
    public let rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    public static let nonblocking = PluginCapabilities(rawValue: PC_CAP_NONBLOCKING)
    public static let threadsafe = PluginCapabilities(rawValue: PC_CAP_THREADSAFE)
    public static let subject = PluginCapabilities(rawValue: PC_CAP_SUBJECT)
    public static let batch = PluginCapabilities(rawValue: PC_CAP_BATCH)
    public static let noUnload = PluginCapabilities(rawValue: PC_CAP_NO_UNLOAD)

    public var description: String {
        let names: [(PluginCapabilities, String)] = [
            (.nonblocking, "nonblocking"), (.threadsafe, "threadsafe"), (.subject, "subject"),
            (.batch, "batch"), (.noUnload, "no_unload"),
        ]
        let present = names.filter { contains($0.0) }.map(\.1)
        return present.isEmpty ? "none" : present.joined(separator: ",")
    }
}

/// A plugin call that answered something other than `PC_OK`, or that the host gave up on.
public struct PluginCallError: Error, Sendable, CustomStringConvertible {
    /// The `PC_ERR_*` status.
    public var status: Int32
    /// The plugin's own message (from its error buffer), or the host's.
    public var message: String

    public init(status: Int32, message: String) {
        self.status = status
        self.message = message
    }

    /// The check did not finish within `blocklist.timeout`.
    static func timedOut(after timeout: Duration) -> PluginCallError {
        let (seconds, attoseconds) = timeout.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return PluginCallError(status: PC_ERR_TIMEOUT, message: "no answer within \(milliseconds) ms (blocklist.timeout)")
    }

    /// `PC_ERR_UNAVAILABLE` and friends, for logs.
    public var statusName: String {
        switch status {
        case PC_ERR_INVALID: return "PC_ERR_INVALID"
        case PC_ERR_UNAVAILABLE: return "PC_ERR_UNAVAILABLE"
        case PC_ERR_TIMEOUT: return "PC_ERR_TIMEOUT"
        case PC_ERR_UNSUPPORTED: return "PC_ERR_UNSUPPORTED"
        case PC_ERR_INTERNAL: return "PC_ERR_INTERNAL"
        default: return "status \(status)"
        }
    }

    public var description: String {
        message.isEmpty ? statusName : "\(statusName): \(message)"
    }
}

/// A plugin that could not be loaded or created. `description` is `PATH: reason`.
public struct PluginLoadError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
