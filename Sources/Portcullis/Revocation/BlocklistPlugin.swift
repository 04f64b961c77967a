import CPortcullisPlugin
import Logging
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One blocklist plugin library, loaded with `dlopen`, and the one instance created from it.
///
/// Every call is synchronous and may block (unless the plugin has `PC_CAP_NONBLOCKING`):
/// callers on the request path go through `RevocationService`, which schedules calls by
/// capability. Calls on a plugin without `PC_CAP_THREADSAFE` are serialized here.
///
/// `@unchecked Sendable`: the descriptor and instance pointer are written once in `open` and
/// only read afterwards; the plugin is called concurrently only when it declares
/// `PC_CAP_THREADSAFE`, and `close` must only be called once no call is in flight (the
/// owner's job: shutdown, or a reload once the last request using the old runtime is done).
public final class BlocklistPlugin: @unchecked Sendable {
    /// The resolved path the library was loaded from.
    public let path: String
    /// The plugin's name and version, as it reports them.
    public let name: String
    public let version: String
    public let capabilities: PluginCapabilities

    private let library: UnsafeMutableRawPointer
    private let descriptor: pc_blocklist_plugin
    private let instance: OpaquePointer
    private let hostAPI: PluginHostAPI
    /// Held around every call when the plugin is not thread-safe.
    private let callLock: NIOLock?
    private let closed = NIOLockedValueBox(false)

    private init(
        path: String, library: UnsafeMutableRawPointer, descriptor: pc_blocklist_plugin, instance: OpaquePointer,
        hostAPI: PluginHostAPI
    ) {
        self.path = path
        self.library = library
        self.descriptor = descriptor
        self.instance = instance
        self.hostAPI = hostAPI
        self.name = descriptor.name.map { String(cString: $0) } ?? "unnamed"
        self.version = descriptor.version.map { String(cString: $0) } ?? "unknown"
        self.capabilities = PluginCapabilities(rawValue: descriptor.capabilities)
        self.callLock = capabilities.contains(.threadsafe) ? nil : NIOLock()
    }

    deinit {
        close()
    }

    // MARK: Loading

    /// Loads the library at `path`, checks its ABI and creates an instance with `configJSON`.
    /// Blocking (the plugin may connect to its backend): call it off the event loops.
    public static func open(path: String, configJSON: String, logger: Logger) throws(PluginLoadError) -> BlocklistPlugin {
        func failure(_ reason: String) -> PluginLoadError { PluginLoadError(path: path, reason: reason) }
        guard let library = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw failure("cannot load the library: \(dlerrorText())")
        }
        var keepLoaded = false
        let hostAPI = PluginHostAPI(logger: logger)
        var created = false
        defer {
            if !created {
                if !keepLoaded { dlclose(library) }
                hostAPI.release()
            }
        }
        let descriptor: pc_blocklist_plugin
        switch PluginABI.describe(library: library, hostAPI: hostAPI.table) {
        case .failure(let refusal): throw failure(refusal.reason)
        case .success(let found): descriptor = found
        }
        keepLoaded = descriptor.capabilities & PC_CAP_NO_UNLOAD != 0
        var instance: OpaquePointer?
        let status = configJSON.withPluginString { config in
            withErrorBuffer { error in descriptor.create(hostAPI.table, config, &instance, error) }
        }
        if let error = status.error {
            throw failure("create failed: \(error)")
        }
        guard let instance else { throw failure("create returned PC_OK without an instance") }
        created = true
        return BlocklistPlugin(path: path, library: library, descriptor: descriptor, instance: instance, hostAPI: hostAPI)
    }

    /// Where `blocklist.plugin` points: `memory`, `redis` and `sqlite` are the built-in
    /// libraries in `pluginDirectory`; anything else is a path, relative to the config folder.
    public static func path(for plugin: String, pluginDirectory: String, configDirectory: String) -> String {
        if ["memory", "redis", "sqlite"].contains(plugin) {
            return "\(pluginDirectory)/libportcullis_\(plugin).so"
        }
        return plugin.hasPrefix("/") ? plugin : "\(configDirectory)/\(plugin)"
    }

    // MARK: Calls

    /// `PC_OK` from the plugin's `health`, or why not.
    public func health() throws(PluginCallError) {
        try call { error in descriptor.health(instance, error) }.check()
    }

    public func isRevoked(_ token: RevocationToken) throws(PluginCallError) -> Bool {
        var verdict = PC_NOT_REVOKED
        try call { error in
            token.withPluginToken { plugged in descriptor.is_revoked(instance, plugged, &verdict, error) }
        }.check()
        return verdict == PC_REVOKED
    }

    /// One `is_revoked_batch` call when the plugin has `PC_CAP_BATCH`, else one call per token.
    public func isRevoked(batch tokens: [RevocationToken]) throws(PluginCallError) -> [Bool] {
        guard let batch = descriptor.is_revoked_batch, capabilities.contains(.batch), tokens.count > 1 else {
            var verdicts: [Bool] = []
            verdicts.reserveCapacity(tokens.count)
            for token in tokens { verdicts.append(try isRevoked(token)) }
            return verdicts
        }
        var verdicts = [Int32](repeating: PC_NOT_REVOKED, count: tokens.count)
        try call { error in
            RevocationToken.withPluginTokens(tokens) { plugged in
                verdicts.withUnsafeMutableBufferPointer { out in
                    batch(instance, plugged.baseAddress, plugged.count, out.baseAddress, error)
                }
            }
        }.check()
        return verdicts.map { $0 == PC_REVOKED }
    }

    /// Revokes `token.jti` until `token.expiresAt`.
    public func revoke(_ token: RevocationToken) throws(PluginCallError) {
        try call { error in
            token.withPluginToken { plugged in descriptor.revoke(instance, plugged, error) }
        }.check()
    }

    /// Revokes every token of `subject` issued at or before `at`; the entry may go after `until`.
    public func revokeSubject(_ subject: String, at: Int64, until: Int64) throws(PluginCallError) {
        guard let revokeSubject = descriptor.revoke_subject, capabilities.contains(.subject) else {
            throw PluginCallError(status: PC_ERR_UNSUPPORTED, message: "the plugin cannot revoke subjects")
        }
        try call { error in
            subject.withPluginString { sub in revokeSubject(instance, sub, at, until, error) }
        }.check()
    }

    /// Destroys the instance and unloads the library (unless `PC_CAP_NO_UNLOAD`). Idempotent.
    public func close() {
        let alreadyClosed = closed.withLockedValue { closed in
            defer { closed = true }
            return closed
        }
        guard !alreadyClosed else { return }
        descriptor.destroy(instance)
        hostAPI.release()
        if !capabilities.contains(.noUnload) { dlclose(library) }
    }

    private func call(_ body: (pc_errbuf) -> Int32) -> PluginStatus {
        if let callLock {
            return callLock.withLock { withErrorBuffer(body) }
        }
        return withErrorBuffer(body)
    }
}

/// A status and the message the plugin wrote with it.
struct PluginStatus {
    var status: Int32
    var message: String

    var error: PluginCallError? {
        status == PC_OK ? nil : PluginCallError(status: status, message: message)
    }

    func check() throws(PluginCallError) {
        if let error { throw error }
    }
}

/// Runs `body` with a zeroed 512-byte error buffer and reads the message back on failure.
func withErrorBuffer(_ body: (pc_errbuf) -> Int32) -> PluginStatus {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: 512) { buffer in
        buffer[0] = 0
        let status = body(pc_errbuf(buf: buffer.baseAddress, cap: buffer.count))
        guard status != PC_OK else { return PluginStatus(status: status, message: "") }
        buffer[buffer.count - 1] = 0  // a plugin that forgot the terminator cannot make us overrun
        return PluginStatus(status: status, message: String(cString: buffer.baseAddress!))  // capacity > 0
    }
}

func dlerrorText() -> String {
    dlerror().map { String(cString: $0) } ?? "unknown dlerror"
}
