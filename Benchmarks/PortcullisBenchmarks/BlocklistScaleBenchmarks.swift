import Benchmark
import Foundation
import Logging
import Portcullis

/// One `is_revoked` call through the plugin ABI into the sqlite and redis plugins holding a
/// million revoked jtis, made on the benchmark's thread: the time a worker thread spends per
/// check, without the hop from and back to the event loop.
///
/// Filling a million entries takes a while (one `revoke` per entry), so the filled store is
/// kept and reused while it still holds the last entry: the SQLite file
/// `$TMPDIR/portcullis-benchmarks/sqlite-1000000.db`, and the keys under `portcullis-bench:`
/// in the Redis named by `PORTCULLIS_BENCH_REDIS_URL` (the redis cases run only when it is set).
func blocklistScaleBenchmarks() {
    let entries = 1_000_000
    var stores: [(name: String, config: () -> JSONValue?)] = [
        ("sqlite", { .object(["path": .string(BlocklistScaleFixture.sqlitePath(entries: entries))]) })
    ]
    if let url = ProcessInfo.processInfo.environment["PORTCULLIS_BENCH_REDIS_URL"] {
        stores.append(("redis", { .object(["url": .string(url), "key_prefix": .string("portcullis-bench:")]) }))
    }
    let cases: [(name: String, token: RevocationToken, revoked: Bool)] = [
        ("not revoked", RevocationFixture.liveToken, false),
        ("revoked", RevocationFixture.revokedToken(entries / 2), true),
    ]
    for store in stores {
        for check in cases {
            Benchmark(
                "Revocation check, \(store.name) plugin, \(entries) entries, \(check.name)",
                configuration: .init(scalingFactor: .one, maxDuration: .seconds(2))
            ) { benchmark, plugin in
                for _ in benchmark.scaledIterations {
                    blackHole(try plugin.isRevoked(check.token))
                }
            } setup: { () throws -> BlocklistPlugin in
                let plugin = try BlocklistScaleFixture.filled(store.name, config: store.config()!, entries: entries)
                guard try plugin.isRevoked(check.token) == check.revoked else {
                    throw FixtureError("\(store.name): \(check.token.jti) is not \(check.name)")
                }
                return plugin
            }
        }
    }
}

enum BlocklistScaleFixture {
    static func sqlitePath(entries: Int) -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("portcullis-benchmarks").path
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder + "/sqlite-\(entries).db"
    }

    /// The plugin `name` with `config`, holding `entries` revoked jtis (filled unless the last
    /// one is already there). The entries expire a week from now.
    static func filled(_ name: String, config: JSONValue, entries: Int) throws -> BlocklistPlugin {
        let path = BlocklistPlugin.path(
            for: name, pluginDirectory: RevocationService.defaultPluginDirectory, configDirectory: "/")
        guard FileManager.default.fileExists(atPath: path) else {
            throw FixtureError("\(path) is missing: build it first (scripts/benchmarks.sh does)")
        }
        var settings = BlocklistSettings()
        settings.plugin = name
        settings.config = config
        let plugin = try BlocklistPlugin.open(
            path: path, configJSON: RevocationService.pluginConfigJSON(settings, configDirectory: "/"),
            logger: Logger(label: "portcullis.benchmarks"))
        let last = RevocationToken(jti: RevocationFixture.revokedJTI(entries - 1), expiresAt: RevocationFixture.now + 604_800)
        if try plugin.isRevoked(last) { return plugin }
        for index in 0..<entries {
            try plugin.revoke(
                RevocationToken(jti: RevocationFixture.revokedJTI(index), expiresAt: RevocationFixture.now + 604_800))
        }
        return plugin
    }
}
