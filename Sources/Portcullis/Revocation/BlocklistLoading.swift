import Foundation
import Logging

extension RevocationService {
    /// The folder the built-in plugins are looked for in without `--plugin-dir`: the running
    /// executable's own folder, where `swift build` puts them.
    public static var defaultPluginDirectory: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path
    }

    /// The JSON handed to `create`: the `blocklist.config` mapping plus `config_dir`.
    public static func pluginConfigJSON(_ settings: BlocklistSettings, configDirectory: String) -> String {
        var members: [String: JSONValue] = [:]
        if case .object(let configured) = settings.config { members = configured }
        members["config_dir"] = .string(configDirectory)
        return JSONValue.object(members).compactText
    }

    /// Loads and creates the configured plugin and wraps it in a service. Blocking (the
    /// plugin may connect to its backend): call it before serving or off the event loops.
    public static func load(
        _ config: GatewayConfig, pluginDirectory: String?, logger: Logger
    ) throws(PluginLoadError) -> RevocationService {
        let settings = config.blocklist
        let path = BlocklistPlugin.path(
            for: settings.plugin, pluginDirectory: pluginDirectory ?? defaultPluginDirectory,
            configDirectory: config.directory
        )
        var pluginLogger = logger
        pluginLogger[metadataKey: "portcullis.plugin"] = "\(settings.plugin)"
        let plugin = try BlocklistPlugin.open(
            path: path, configJSON: pluginConfigJSON(settings, configDirectory: config.directory), logger: pluginLogger
        )
        return RevocationService(plugin: plugin, settings: settings, logger: logger)
    }
}
