// swift-tools-version:6.2
import PackageDescription

/// One list of settings for every target: Swift 6 language mode, strict
/// concurrency, and no warning left behind.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "LeadRouter",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "leadrouterd", targets: ["leadrouterd"]),
        .executable(name: "leadctl", targets: ["leadctl"]),
        .executable(name: "leadrouter-bench", targets: ["leadrouter-bench"]),
        .library(name: "LeadRouting", targets: ["LeadRouting"]),
        .library(name: "ZeroMQ", targets: ["ZeroMQ"]),
    ],
    // Exact versions: the ones the tests ran with (Package.resolved is not committed). To move
    // one, see "Dependencies" in README.md.
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        // The metrics endpoint's HTTP/1 server, on swift-nio directly (NIOPosix, NIOHTTP1): no
        // framework over it. Why not Hummingbird or FlyingFox: docs/operations.md#the-http-server.
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        // Packages the ones above depend on, pinned too so that every resolved version is the
        // one tested; leadrouterd names a product of each (they are linked into it anyway).
        // A test checks that every package Package.resolved lists has an `exact:` pin here.
        .package(url: "https://github.com/apple/swift-atomics.git", exact: "1.3.0"),
        .package(url: "https://github.com/apple/swift-collections.git", exact: "1.6.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", exact: "1.1.4"),
        .package(url: "https://github.com/apple/swift-system.git", exact: "1.8.1"),
        // Counts mallocs for the bench's row (f) and the allocation budget test (leadrouter-bench
        // only: it replaces malloc in the process that links it).
        .package(url: "https://github.com/ordo-one/malloc-interposer.git", exact: "1.6.1"),
    ],
    targets: [
        // libzmq, from Debian's libzmq3-dev. Only the ZeroMQ module imports it. No `pkgConfig`:
        // libzmq's .pc file adds `-isystem /usr/include/mit-krb5`, which SwiftPM refuses with a
        // "prohibited flag(s)" warning on every build. zmq.h is in /usr/include and the module
        // map links libzmq itself (`link "zmq"`), so nothing from pkg-config is needed.
        .systemLibrary(
            name: "CZeroMQ",
            providers: [.apt(["libzmq3-dev"])]
        ),
        // The one Swift module that touches libzmq: contexts, sockets, messages, polling, errors.
        .target(
            name: "ZeroMQ",
            dependencies: ["CZeroMQ"],
            swiftSettings: strictSettings
        ),
        // A strict, fast reader of lead JSON: simdjson (Debian's libsimdjson-dev) behind one C function.
        .target(
            name: "CLeadJSON",
            cxxSettings: [.define("SIMDJSON_THREADS_ENABLED", to: "1")],
            linkerSettings: [.linkedLibrary("simdjson")]
        ),
        // Malloc tuning applied before main, for leadrouterd only.
        .target(name: "CProcessTuning"),
        // SQLite's process-wide options, set before the store's first connection.
        .target(name: "CSQLiteSetup", linkerSettings: [.linkedLibrary("sqlite3")]),
        // The pure core: config model and validation, lead validation, routing decisions,
        // envelopes. No I/O.
        .target(
            name: "LeadRouting",
            dependencies: ["CLeadJSON", .product(name: "Yams", package: "Yams")],
            swiftSettings: strictSettings
        ),
        // The embedded store (SQLite through GRDB): leads, decisions, envelopes, sequences.
        .target(
            name: "LeadStore",
            dependencies: [
                "CSQLiteSetup",
                "LeadRouting",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
        // Reading the YAML config file from disk (the pure core reads strings only), and the
        // CURVE certificates it names: shared by leadrouterd and leadctl.
        .target(
            name: "LeadRouterConfigFile",
            dependencies: ["LeadRouting", "ZeroMQ"],
            swiftSettings: strictSettings
        ),
        // Clients of a running daemon: lead publishers (PUB, and reliable over intake), feed
        // subscribers (plain, and recovering through replay). No store, no service lifecycle.
        .target(
            name: "LeadRouterClient",
            dependencies: ["LeadRouting", "ZeroMQ"],
            swiftSettings: strictSettings
        ),
        // The long-running services that wire the core to the sockets, and the metrics
        // (swift-metrics instruments, exposed by swift-prometheus over HTTP).
        .target(
            name: "LeadRouterService",
            dependencies: [
                "LeadRouting",
                "LeadStore",
                "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        // The metrics endpoint: GET /metrics over HTTP (swift-nio), on a thread of its own.
        .target(
            name: "MetricsHTTP",
            dependencies: [
                "LeadRouterService",
                "LeadRouting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // Test doubles for the service layer: a manual clock, a fault-injecting store, a log
        // recorder. Only tests depend on it.
        .target(
            name: "LeadRouterTesting",
            dependencies: [
                "LeadRouterService",
                "LeadStore",
                "LeadRouting",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "leadrouterd",
            dependencies: [
                "CProcessTuning",
                "LeadRouterConfigFile",
                "LeadRouterService",
                "LeadRouting",
                "LeadStore",
                "MetricsHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // Pinned transitive packages (see `dependencies`).
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "leadctl",
            dependencies: [
                "LeadRouterClient",
                "LeadRouterConfigFile",
                "LeadRouting",
                "LeadStore",
                "ZeroMQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // Measures the real daemon from outside, against the raw ZeroMQ transport, in one run.
        // Callgrind's client requests (valgrind's header), for the bench's instruction counts.
        .target(name: "CBenchProbes"),
        .executableTarget(
            name: "leadrouter-bench",
            dependencies: [
                "CBenchProbes",
                "LeadRouterClient",
                "LeadRouting",
                "LeadStore",
                "ZeroMQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ],
            swiftSettings: strictSettings
        ),
        // The properties fuzzing checks on the pure entry points that read outside bytes;
        // the unit tests run them over the seed corpus in Fuzz/corpus.
        .target(
            name: "LeadRoutingFuzzing",
            dependencies: ["LeadRouting"],
            swiftSettings: strictSettings
        ),
        // libFuzzer's driver, declared for the fuzz targets' own main.
        .target(name: "CFuzzerDriver"),
        // libFuzzer targets, one per entry point: scripts/fuzz builds them with
        // -sanitize=fuzzer; a normal build makes stubs.
        .executableTarget(name: "FuzzLeadParser", dependencies: ["CFuzzerDriver", "LeadRoutingFuzzing"], swiftSettings: strictSettings),
        .executableTarget(name: "FuzzControlRequest", dependencies: ["CFuzzerDriver", "LeadRoutingFuzzing"], swiftSettings: strictSettings),
        .executableTarget(name: "FuzzReplayRequest", dependencies: ["CFuzzerDriver", "LeadRoutingFuzzing"], swiftSettings: strictSettings),
        .executableTarget(name: "FuzzConfigLoader", dependencies: ["CFuzzerDriver", "LeadRoutingFuzzing"], swiftSettings: strictSettings),
        .testTarget(
            name: "LeadRoutingTests",
            dependencies: ["LeadRouting", "LeadRoutingFuzzing"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LeadStoreTests",
            dependencies: ["CSQLiteSetup", "LeadStore", "LeadRouting", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LeadRouterServiceTests",
            dependencies: [
                "LeadRouterService", "LeadRouterTesting", "LeadStore", "LeadRouting", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        // The metrics endpoint's swift-nio handlers and limits, on embedded channels.
        .testTarget(
            name: "MetricsHTTPTests",
            dependencies: [
                "MetricsHTTP", "LeadRouterService",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LeadRouterConfigFileTests",
            dependencies: ["LeadRouterConfigFile", "LeadRouting", "ZeroMQ"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ZeroMQTests",
            dependencies: ["ZeroMQ"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["ZeroMQ", "LeadRouting", "LeadRouterClient"],
            swiftSettings: strictSettings
        ),
        // The Debian package that scripts/package builds (scripts/test passes its path in
        // LEADROUTER_DEB): its control data, files, maintainer scripts and systemd unit.
        .testTarget(
            name: "PackageTests",
            dependencies: ["LeadRouting"],
            swiftSettings: strictSettings
        ),
    ],
    cxxLanguageStandard: .cxx17
)
