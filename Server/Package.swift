// swift-tools-version: 6.1
// hashidx's HTTP server: the HashIdxServer library (Hummingbird 2 on SwiftNIO, started and
// stopped by swift-service-lifecycle, metrics through swift-metrics in Prometheus's text
// format) over the root package's HashIdxService, and the `hashidx-serve` program that
// `hashidx serve` runs. A package of its own, so that the library and the command line never
// resolve or compile the server stack.
//
//   swift build -c release --package-path Server        # from the repository root
//   Server/.build/release/hashidx-serve INDEX --port 8080  (or: hashidx serve INDEX …)
import PackageDescription

// A path dependency is named after its folder: the repository's folder, whatever the clone
// is called.
let rootPackage = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "hashidx")

let package = Package(
    name: "hashidx-server",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "HashIdxServer", targets: ["HashIdxServer"]),
        .executable(name: "hashidx-serve", targets: ["hashidx-serve"]),
    ],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // The HTTP/JSON API over HashIdxService: routes, authentication, connection limits,
        // metrics, graceful shutdown.
        .target(
            name: "HashIdxServer",
            dependencies: [
                .product(name: "HashIdxService", package: rootPackage),
                .product(name: "HashIdx", package: rootPackage),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The server program: `hashidx-serve INDEX [options]`, which `hashidx serve` runs.
        .executableTarget(
            name: "hashidx-serve",
            dependencies: [
                "HashIdxServer",
                .product(name: "HashIdxService", package: rootPackage),
                .product(name: "HashIdx", package: rootPackage),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "HashIdxServerTests",
            dependencies: [
                "HashIdxServer",
                // The program the process tests run, built with them.
                "hashidx-serve",
                .product(name: "HashIdxService", package: rootPackage),
                .product(name: "HashIdx", package: rootPackage),
                .product(name: "HashIdxTestSupport", package: rootPackage),
                // Requests go straight to the router (Tests/HashIdxServerTests/RouterClient.swift),
                // not through HummingbirdTesting, whose HTTP client would bring BoringSSL.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
