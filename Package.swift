// swift-tools-version:6.1
import PackageDescription

// Dependencies are kept to what the gateway cannot reasonably do itself:
// SwiftNIO (transport), swift-crypto (signature primitives), Yams (YAML with source marks),
// swift-argument-parser (CLI), swift-log, and swift-metrics with swift-prometheus (the
// `/metrics` exposition; its only extra dependency is swift-atomics) and, in the executable
// only, swift-service-lifecycle (signals, graceful shutdown). JWT handling is our
// own on top of swift-crypto so the hot path works on bytes without an actor hop per
// verification (see STYLE.md).
// swift-nio-ssl (BoringSSL) terminates TLS on the listener and speaks it to https upstreams.
// AsyncHTTPClient fetches remote `jwks_url` key sets (http and https, pooled on our own loops).
// The plugins are C11 with POSIX 2008, warnings as errors.
let pluginCSettings: [CSetting] = [
    .define("_POSIX_C_SOURCE", to: "200809L"),
    .unsafeFlags(["-std=c11", "-Wall", "-Wextra", "-Werror"]),
]

let package = Package(
    name: "portcullis",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "portcullis", targets: ["portcullis"]),
        .executable(name: "portcullis-demo", targets: ["PortcullisDemo"]),
        .library(name: "Portcullis", targets: ["Portcullis"]),
        // The built-in blocklist plugins: plain C shared objects loaded with dlopen
        // (SPEC sections 1 and 7), built by a plain `swift build` next to the executable.
        .library(name: "portcullis_memory", type: .dynamic, targets: ["PortcullisMemoryPlugin"]),
        .library(name: "portcullis_redis", type: .dynamic, targets: ["PortcullisRedisPlugin"]),
        .library(name: "portcullis_sqlite", type: .dynamic, targets: ["PortcullisSQLitePlugin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // The plugin ABI header, portcullis_plugin.h (C99, no dependencies).
        .target(name: "CPortcullisPlugin"),
        // Config reading, messages and the sweeper thread, linked into each built-in plugin.
        .target(
            name: "PortcullisPluginSupport",
            dependencies: ["CPortcullisPlugin"],
            path: "Plugins/support",
            cSettings: pluginCSettings,
            linkerSettings: [.linkedLibrary("pthread")]
        ),
        .target(
            name: "PortcullisMemoryPlugin",
            dependencies: ["PortcullisPluginSupport"],
            path: "Plugins/memory",
            exclude: ["README.md"],
            publicHeadersPath: ".",
            cSettings: pluginCSettings,
            linkerSettings: [.linkedLibrary("pthread")]
        ),
        .target(
            name: "PortcullisRedisPlugin",
            dependencies: ["PortcullisPluginSupport"],
            path: "Plugins/redis",
            exclude: ["README.md"],
            publicHeadersPath: ".",
            cSettings: pluginCSettings,
            linkerSettings: [.linkedLibrary("hiredis"), .linkedLibrary("pthread")]
        ),
        .target(
            name: "PortcullisSQLitePlugin",
            dependencies: ["PortcullisPluginSupport"],
            path: "Plugins/sqlite",
            exclude: ["README.md"],
            publicHeadersPath: ".",
            cSettings: pluginCSettings,
            linkerSettings: [.linkedLibrary("sqlite3"), .linkedLibrary("pthread")]
        ),
        .target(
            name: "Portcullis",
            dependencies: [
                "CPortcullisPlugin",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            // Release builds skip the runtime exclusivity checks (swift_beginAccess on every
            // class-property access of the request path, 1-2% of it); debug builds, which
            // run the tests, keep them.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        .executableTarget(
            name: "portcullis",
            dependencies: [
                "Portcullis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "PortcullisDemo",
            dependencies: [
                "Portcullis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "PortcullisTestSupport",
            dependencies: [
                "Portcullis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                // The WebSocket echo upstream of the tunnelling tests; never used by the gateway.
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "PortcullisTests",
            dependencies: [
                "Portcullis",
                "PortcullisTestSupport",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
    ]
)

// The package benchmarks (`Benchmarks/PortcullisBenchmarks`, ordo-one/benchmark) exist only when
// PORTCULLIS_BENCHMARKS is set, so the default build, the tests and CI never fetch or compile the
// benchmark package. Run them with `scripts/benchmarks.sh` (README, "Package benchmarks").
// Only the `MallocInterposer` trait (malloc counts) is enabled: the default `RuntimeInterposer`
// trait (ARC counts on Linux with Swift 6.3) would pull in one more package, and no benchmark
// here measures retains.
if Context.environment["PORTCULLIS_BENCHMARKS"] != nil {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"])
    )
    package.targets.append(
        .executableTarget(
            name: "PortcullisBenchmarks",
            dependencies: [
                "Portcullis",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/PortcullisBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    )
}

// The libFuzzer targets (`Fuzz/`, one executable per target plus their shared fixture) exist only
// when PORTCULLIS_FUZZ is set, so the default build, the tests and CI's test run never compile
// them; being in this package, they reach the request path's `package` API without widening it.
// Build and run them with `scripts/fuzz.sh`, which adds `-sanitize=fuzzer,address`; each
// target's file is parsed as a library and starts libFuzzer itself (`FuzzDriver`).
if Context.environment["PORTCULLIS_FUZZ"] != nil {
    package.targets.append(
        .target(
            name: "PortcullisFuzzSupport",
            dependencies: ["Portcullis", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/Support",
            swiftSettings: [.enableExperimentalFeature("Extern")]
        )
    )
    for name in ["FuzzJWT", "FuzzConfig", "FuzzPath", "FuzzRequestHead", "FuzzUpstreamResponse"] {
        package.targets.append(
            .executableTarget(
                name: name,
                dependencies: [
                    "Portcullis",
                    "PortcullisFuzzSupport",
                    .product(name: "NIOCore", package: "swift-nio"),
                    .product(name: "Logging", package: "swift-log"),
                ],
                path: "Fuzz/\(name)",
                swiftSettings: [.unsafeFlags(["-parse-as-library"])]
            )
        )
    }
}
