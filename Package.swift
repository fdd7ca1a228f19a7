// swift-tools-version: 6.1
// hashidx: the HashIdx library, the catalog-as-a-service layer (HashIdxService) and the
// `hashidx` command-line tool. A package that depends on the HashIdx product compiles
// HashIdx and its C targets only, and links two system libraries (liblz4, OpenBLAS).
//
// The HTTP server (`hashidx serve`: Hummingbird on SwiftNIO) is a package of its own in
// Server/, so that nobody else resolves or compiles the server stack; `hashidx serve` runs
// the `hashidx-serve` program that package builds (docs/SERVER.md).
import PackageDescription

let package = Package(
    name: "hashidx",
    // Linux (x86-64, arm64) is where hashidx is built and tested. On Apple platforms the
    // library needs the Synchronization module (Mutex): macOS 15 at least.
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "HashIdx", targets: ["HashIdx"]),
        .library(name: "HashIdxService", targets: ["HashIdxService"]),
        .executable(name: "hashidx", targets: ["hashidx"]),
        // The C interface (Sources/CHashIdxABI/include/hashidx.h, docs/C-API.md) as a shared
        // library, libHashIdxC: what the Python package (python/) loads.
        .library(name: "HashIdxC", type: .dynamic, targets: ["HashIdxC"]),
        // What hashidx's own test targets (here and in Server/) share; not API, no promise
        // of stability.
        .library(name: "HashIdxTestSupport", targets: ["HashIdxTestSupport"]),
    ],
    dependencies: [
        // The command line only (SwiftPM resolves it for dependents too, compiles it for the
        // `hashidx` product alone).
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
        // The C interface: the header (a C module, so the Swift side uses its struct layouts)
        // and its implementation over HashIdx (@_cdecl).
        .target(name: "CHashIdxABI"),
        .target(name: "HashIdxC", dependencies: ["HashIdx", "CHashIdxABI", "CHashIdxKernels"]),
        // The catalog as a service, without HTTP: request decoding and validation, the
        // snapshot searches read, the group-committing writer, new generations picked up.
        .target(name: "HashIdxService", dependencies: ["HashIdx"]),
        // `hashidx build/query/add/…`; `hashidx serve` hands over to hashidx-serve (Server/).
        .executableTarget(
            name: "hashidx",
            dependencies: [
                "HashIdx",
                "HashIdxService",   // the one JSON renderer of results (ResponseEncoder)
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Tests, by what they exercise. scripts/test.sh runs the library's and the service's
        // suites under ThreadSanitizer and AddressSanitizer, and the command-line suite
        // (processes: the CLI, SIGKILL during builds and commits) once.
        .target(
            name: "HashIdxTestSupport",
            dependencies: ["HashIdx"],
            path: "Tests/HashIdxTestSupport"
        ),
        .testTarget(
            name: "HashIdxTests",
            dependencies: ["HashIdx", "CHashIdxKernels", "HashIdxTestSupport"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "HashIdxServiceTests",
            dependencies: ["HashIdxService", "HashIdx", "HashIdxTestSupport"]
        ),
        .testTarget(
            name: "HashIdxCommandLineTests",
            // The executable these tests run, built with them.
            dependencies: ["hashidx", "HashIdx", "HashIdxTestSupport"]
        ),
    ]
)
