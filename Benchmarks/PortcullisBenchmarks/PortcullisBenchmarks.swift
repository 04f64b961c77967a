import Benchmark

/// The hot-path pieces of the gateway, measured one at a time: route matching, token
/// verification, the revocation check through the plugin ABI, and the request-head work
/// (parse, decide, rewrite). Every benchmark reports wall-clock time and malloc calls per
/// operation; run them with `scripts/benchmarks.sh` (README, "Package benchmarks").
///
/// Fixtures are built in each benchmark's `setup`, which also checks that the operation gives
/// the answer the benchmark's name promises, so a broken fixture fails instead of measuring
/// something else.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        warmupIterations: 10,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000
    )
    routeMatchBenchmarks()
    tokenVerificationBenchmarks()
    revocationCheckBenchmarks()
    blocklistScaleBenchmarks()
    requestHeadBenchmarks()
}

/// A fixture that does not give the answer its benchmark is named after.
struct FixtureError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
