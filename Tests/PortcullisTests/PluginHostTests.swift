import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import PortcullisTestSupport
import Testing

@testable import Portcullis

/// The dlopen host: what it refuses, and why it says so.
@Suite("Plugin host")
struct PluginHostTests {
    private func open(_ path: String) throws(PluginLoadError) -> BlocklistPlugin {
        try BlocklistPlugin.open(path: path, configJSON: #"{"config_dir":"/tmp"}"#, logger: Logger(label: "test"))
    }

    private func refusal(_ path: String) -> PluginLoadError? {
        do throws(PluginLoadError) {
            try open(path).close()
            return nil
        } catch {
            return error
        }
    }

    @Test("loads a plugin, reads its descriptor and calls it")
    func loadsAndCalls() throws {
        let plugin = try open(try ProbePlugin.build())
        defer { plugin.close() }
        #expect(plugin.name == "probe")
        #expect(plugin.capabilities == [.threadsafe, .batch])
        #expect(try plugin.isRevoked(RevocationToken(jti: "revoked-1")))
        #expect(try !plugin.isRevoked(RevocationToken(jti: "fine-1")))
        #expect(try plugin.isRevoked(batch: [RevocationToken(jti: "a"), RevocationToken(jti: "revoked-b")]) == [false, true])
        try plugin.health()
    }

    @Test("a missing file is refused with the path and the dlerror text")
    func missingFile() {
        let path = "/nonexistent/libportcullis_nothing.so"
        let error = refusal(path)
        #expect(error?.path == path)
        #expect(error?.description.hasPrefix("\(path): cannot load the library:") == true)
        #expect(error?.reason.contains("No such file") == true)
    }

    @Test("a library without the entry symbol is refused, naming the symbol")
    func missingSymbol() throws {
        let path = try ProbePlugin.build(["ENTRY=some_other_symbol"])
        let error = try #require(refusal(path))
        #expect(error.reason.contains("no symbol portcullis_blocklist_plugin_v1"))
    }

    @Test("a plugin that declares ABI major 2 is refused with both versions")
    func abiMajorTwo() throws {
        let error = try #require(refusal(try ProbePlugin.build(["ABI_MAJOR=2"])))
        #expect(error.reason == "plugin ABI 2.0 is not supported: this gateway speaks ABI 1.0")
    }

    @Test("a plugin built for ABI 2 (the v2 entry symbol) is named as such")
    func entryForMajorTwo() throws {
        let error = try #require(refusal(try ProbePlugin.build(["ENTRY=portcullis_blocklist_plugin_v2", "ABI_MAJOR=2"])))
        #expect(error.reason.contains("built for ABI 2.x"))
    }

    @Test("a failing create is refused with the plugin's own message and status")
    func failingCreate() throws {
        let error = try #require(refusal(try ProbePlugin.build(["CREATE_STATUS=PC_ERR_INVALID"])))
        #expect(error.reason == "create failed: PC_ERR_INVALID: the probe was told to refuse")
    }

    @Test("a capability without its function is refused")
    func capabilityWithoutFunction() throws {
        let error = try #require(refusal(try ProbePlugin.build(["CAPS=(PC_CAP_THREADSAFE|PC_CAP_SUBJECT)"])))
        #expect(error.reason.contains("revoke_subject (PC_CAP_SUBJECT is set)"))
    }

    @Test("built-in names resolve in the plugin folder, anything else is a path against the config folder")
    func pathResolution() {
        #expect(BlocklistPlugin.path(for: "redis", pluginDirectory: "/opt/p", configDirectory: "/etc/g") == "/opt/p/libportcullis_redis.so")
        #expect(BlocklistPlugin.path(for: "/x/lib.so", pluginDirectory: "/opt/p", configDirectory: "/etc/g") == "/x/lib.so")
        #expect(BlocklistPlugin.path(for: "plugins/lib.so", pluginDirectory: "/opt/p", configDirectory: "/etc/g") == "/etc/g/plugins/lib.so")
    }

    @Test("the plugin config is the blocklist mapping plus config_dir")
    func configJSON() throws {
        var settings = BlocklistSettings()
        settings.config = .object(["path": .string("data/revoked.db"), "sweep_interval": .number(5)])
        let json = RevocationService.pluginConfigJSON(settings, configDirectory: "/etc/gateway")
        #expect(JSONValue.parse(Array(json.utf8)) == .object([
            "path": .string("data/revoked.db"), "sweep_interval": .number(5), "config_dir": .string("/etc/gateway"),
        ]))
    }

    @Test("close unloads the library, unless the plugin has PC_CAP_NO_UNLOAD")
    func unloading() throws {
        func stillLoaded(_ path: String) -> Bool {
            guard let handle = dlopen(path, RTLD_NOW | RTLD_NOLOAD) else { return false }
            dlclose(handle)
            return true
        }
        let unloadable = try ProbePlugin.build(name: "probe_unload")
        try open(unloadable).close()
        #expect(!stillLoaded(unloadable))
        let pinned = try ProbePlugin.build(["CAPS=(PC_CAP_THREADSAFE|PC_CAP_NO_UNLOAD)"], name: "probe_pinned")
        try open(pinned).close()
        #expect(stillLoaded(pinned))
    }

    @Test("the host API logs through the gateway logger at the plugin's level")
    func hostLogging() throws {
        let recorder = LogRecorder()
        let plugin = try BlocklistPlugin.open(
            path: try ProbePlugin.build(), configJSON: "{}", logger: recorder.logger(level: .info)
        )
        defer { plugin.close() }
        _ = try plugin.isRevoked(RevocationToken(jti: "x"))
        #expect(recorder.recorded.contains { $0.level == .info && $0.message.hasPrefix("batch=1 thread=") })
    }
}
