// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "hashidx",
    products: [
        .library(name: "HashIdx", targets: ["HashIdx"]),
        .executable(name: "hashidx", targets: ["hashidx"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
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
        .executableTarget(
            name: "hashidx",
            dependencies: [
                "HashIdx",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "HashIdxTests",
            dependencies: ["HashIdx", "CHashIdxKernels"],
            exclude: ["Fixtures"]
        ),
    ]
)
