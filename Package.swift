// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "PointsLedger",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "PointsLedger", targets: ["PointsLedger"]),
        .library(name: "Postgres", targets: ["Postgres"]),
        .executable(name: "points-admin", targets: ["points-admin"]),
        .executable(name: "points-server", targets: ["points-server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        // Both come with Hummingbird: the service group the server and its job schedule run in,
        // and the HTTP client its tests call it with.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.30.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
    ],
    targets: [
        // libpq, the PostgreSQL client library (Debian: libpq-dev).
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // A small, safe Swift face over libpq. Nothing of the ledger lives here.
        .target(name: "Postgres", dependencies: ["CLibPQ"]),

        // Schema/ (migrations and function modules), embedded into the library at build time so the CLI works from any directory.
        .plugin(name: "EmbedSchemaPlugin", capability: .buildTool(), path: "Sources/EmbedSchemaPlugin"),

        // The ledger: programs, members, accounts, journal entries, postings, audit.
        .target(
            name: "PointsLedger",
            dependencies: ["Postgres", .product(name: "Logging", package: "swift-log")],
            // Schema/shape.sql is a dump for people to read; the plugin embeds migrations and functions.
            exclude: ["Migrations/shape.sql"],
            plugins: ["EmbedSchemaPlugin"]
        ),
        // The admin CLI, thin over the library.
        .executableTarget(
            name: "points-admin",
            dependencies: [
                "PointsLedger",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The HTTP API for checkout systems, member apps and finance (issue 21), on Hummingbird.
        .target(
            name: "PointsServer",
            dependencies: [
                "PointsLedger",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            // The OpenAPI document of the routes, committed as JSON and served as it is.
            resources: [.embedInCode("openapi.json")]
        ),
        .executableTarget(
            name: "points-server",
            dependencies: [
                "PointsServer", "PointsLedger",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Workloads for Scripts/bench.sh, measured beside pgbench.
        .executableTarget(
            name: "points-bench",
            dependencies: ["PointsLedger", .product(name: "Logging", package: "swift-log")]
        ),

        .target(name: "TestSupport", dependencies: ["Postgres", "PointsLedger"], path: "Tests/TestSupport"),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"]),
        // Fixtures/ holds a database dump and the script that made it, read by path, not built.
        .testTarget(name: "PointsLedgerTests", dependencies: ["PointsLedger", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "PointsAdminTests", dependencies: ["points-admin", "PointsLedger", "TestSupport"]),
        .testTarget(
            name: "PointsServerTests",
            dependencies: [
                "PointsServer", "PointsLedger", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ]
)

// One set of strict settings for every target, so the whole package reads alike.
let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]
for target in package.targets where target.type != .system && target.type != .plugin {
    target.swiftSettings = (target.swiftSettings ?? []) + strictSettings
}
