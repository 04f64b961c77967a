import Benchmark
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import Portcullis

/// `RevocationService.check` with the built-in memory plugin, loaded with `dlopen` from the
/// benchmark's own build folder: the whole request-path call through the plugin ABI (a
/// nonblocking plugin is called inline). A blocklist with no entries and one with 100,000;
/// a token that is not revoked and, with entries, one that is.
func revocationCheckBenchmarks() {
    let cases: [(revoked: Int, name: String, checked: RevocationToken, expected: RevocationService.Outcome)] = [
        (0, "not revoked", RevocationFixture.liveToken, .notRevoked),
        (100_000, "not revoked", RevocationFixture.liveToken, .notRevoked),
        (100_000, "revoked", RevocationFixture.revokedToken(50_000), .revoked),
        (1_000_000, "not revoked", RevocationFixture.liveToken, .notRevoked),
        (1_000_000, "revoked", RevocationFixture.revokedToken(500_000), .revoked),
    ]
    for (revoked, name, token, expected) in cases {
        Benchmark(
            "Revocation check, memory plugin, \(revoked) entries, \(name)",
            configuration: .init(
                metrics: Benchmark.defaultConfiguration.metrics + [RevocationFixture.entriesResident],
                scalingFactor: .kilo)
        ) { benchmark, fixture in
            let loop = fixture.loop
            benchmark.measurement(RevocationFixture.entriesResident, fixture.entriesResidentKiB)
            for _ in benchmark.scaledIterations {
                blackHole(fixture.service.check(token, on: loop))
            }
        } setup: { () throws -> RevocationFixture in
            let fixture = try RevocationFixture(revokedEntries: revoked)
            guard case .done(let outcome) = fixture.service.check(token, on: fixture.loop), outcome == expected else {
                throw FixtureError("the check of \(token.jti) did not answer \(expected) at once")
            }
            return fixture
        }
    }
}

/// A `RevocationService` over a fresh memory-plugin instance holding `revokedEntries` jtis.
final class RevocationFixture {
    let service: RevocationService
    /// Never run: a nonblocking plugin answers without it.
    let loop = EmbeddedEventLoop()

    static let now = Int64(Date().timeIntervalSince1970)

    /// The identity of a live access token (`RevocationToken` as `VerifiedToken` builds it).
    static let liveToken = RevocationToken(
        jti: "0b6e1f2c-5d8a-4c3e-9f47-2a1b3c4d5e6f", subject: "user-7f3c2a91", issuedAt: now - 60, expiresAt: now + 840)

    static func revokedToken(_ index: Int) -> RevocationToken {
        RevocationToken(jti: revokedJTI(index), subject: "user-\(index)", issuedAt: now - 60, expiresAt: now + 840)
    }

    static func revokedJTI(_ index: Int) -> String {
        "revoked-\(index)-5d8a-4c3e-9f47-2a1b3c4d5e6f"
    }

    /// The resident memory the revoked entries added, read from `/proc/self/statm` before and
    /// after filling the plugin (reported as its own metric, in KiB).
    static let entriesResident = BenchmarkMetric.custom("Entries resident (KiB)", useScalingFactor: false)
    private(set) var entriesResidentKiB = 0

    init(revokedEntries: Int) throws {
        let path = BlocklistPlugin.path(
            for: "memory", pluginDirectory: RevocationService.defaultPluginDirectory, configDirectory: "/")
        guard FileManager.default.fileExists(atPath: path) else {
            throw FixtureError(
                "\(path) is missing: the benchmark plugin builds only the benchmark executable; "
                    + "build the plugin first with `PORTCULLIS_BENCHMARKS=1 swift build -c release --product portcullis_memory` "
                    + "(scripts/benchmarks.sh does)")
        }
        let settings = BlocklistSettings()
        let logger = Logger(label: "portcullis.benchmarks")
        let plugin = try BlocklistPlugin.open(
            path: path, configJSON: RevocationService.pluginConfigJSON(settings, configDirectory: "/"), logger: logger)
        guard plugin.capabilities.contains(.nonblocking) else {
            throw FixtureError("the memory plugin is expected to be nonblocking")
        }
        let residentBefore = residentKiB()
        for index in 0..<revokedEntries {
            try plugin.revoke(
                RevocationToken(jti: Self.revokedJTI(index), expiresAt: Self.now + 3600))
        }
        entriesResidentKiB = residentKiB() - residentBefore
        service = RevocationService(plugin: plugin, settings: settings, logger: logger)
    }

    deinit {
        service.shutdown()
    }
}

/// This process's resident set in KiB (`/proc/self/statm`, second field, in pages).
func residentKiB() -> Int {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = statm.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
}
