import CPortcullisPlugin
import Logging

/// The `pc_host_api` table handed to one plugin instance: logging through the gateway's
/// logger, callable from any thread. It is allocated once per instance and freed only after
/// the instance's `destroy` has returned, as the ABI promises.
final class PluginHostAPI {
    /// The logger behind `host_ctx`. Immutable, hence safe from the plugin's threads.
    private final class Context: Sendable {
        let logger: Logger

        init(logger: Logger) {
            self.logger = logger
        }
    }

    let table: UnsafeMutablePointer<pc_host_api>
    private let context: Unmanaged<Context>

    init(logger: Logger) {
        context = Unmanaged.passRetained(Context(logger: logger))
        table = .allocate(capacity: 1)
        table.initialize(
            to: pc_host_api(
                abi_major: UInt32(PC_PLUGIN_ABI_MAJOR),
                abi_minor: UInt32(PC_PLUGIN_ABI_MINOR),
                struct_size: MemoryLayout<pc_host_api>.size,
                host_ctx: context.toOpaque(),
                log: { hostContext, level, message, length in
                    guard let hostContext, let message else { return }
                    let logger = Unmanaged<Context>.fromOpaque(hostContext).takeUnretainedValue().logger
                    let bytes = UnsafeRawBufferPointer(start: message, count: length)
                    logger.log(level: PluginHostAPI.level(level), "\(String(decoding: bytes, as: UTF8.self))")
                },
                log_enabled: { hostContext, level in
                    guard let hostContext else { return 0 }
                    let logger = Unmanaged<Context>.fromOpaque(hostContext).takeUnretainedValue().logger
                    return logger.logLevel <= PluginHostAPI.level(level) ? 1 : 0
                }
            )
        )
    }

    /// Call only once no instance can use the table any more (after `destroy`).
    func release() {
        table.deinitialize(count: 1)
        table.deallocate()
        context.release()
    }

    static func level(_ level: Int32) -> Logger.Level {
        switch level {
        case ...PC_LOG_DEBUG: return .debug
        case PC_LOG_INFO: return .info
        case PC_LOG_WARN: return .warning
        default: return .error
        }
    }
}
