// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "hashidx",
    products: [
        .library(name: "HashIdx", targets: ["HashIdx"]),
        .library(name: "HashIdxService", targets: ["HashIdxService"]),
        .library(name: "HashIdxServer", targets: ["HashIdxServer"]),
        .executable(name: "hashidx", targets: ["hashidx"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The HTTP server (hashidx serve): Hummingbird 2 on SwiftNIO, started and stopped by
        // swift-service-lifecycle, metrics through swift-metrics in Prometheus's text format.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // `swift package generate-documentation` (scripts/docs.sh).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // liblz4 from the system (Debian: liblz4-dev).
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"]), .brew(["lz4"])]
        ),
        // OpenBLAS from the system (Debian: libopenblas-dev): BLAS and LAPACK for training.
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]
        ),
        // The C kernels, one file per job (Hamming scan, selection, dot products, bit-plane
        // scores, CRC-32C), dispatched once per process through one table chosen by CPU
        // (cpu.c). No unsafeFlags: each fast path carries its own per-function target attribute.
        .target(name: "CHashIdxKernels"),
        .target(
            name: "HashIdx",
            dependencies: ["CLZ4", "CHashIdxKernels", "COpenBLAS"]
        ),
        // The catalog as a service, without HTTP: request decoding and validation, the
        // snapshot searches read, the group-committing writer, new generations picked up.
        .target(name: "HashIdxService", dependencies: ["HashIdx"]),
        // `hashidx serve`: the HTTP/JSON API over HashIdxService (routes, authentication,
        // metrics, graceful shutdown).
        .target(
            name: "HashIdxServer",
            dependencies: [
                "HashIdxService",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
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
        .executableTarget(
            name: "hashidx",
            dependencies: [
                "HashIdx",
                "HashIdxServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "HashIdxTests",
            dependencies: ["HashIdx", "CHashIdxKernels"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "HashIdxServerTests",
            dependencies: [
                "HashIdxServer",
                "HashIdxService",
                "HashIdx",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ]
)
