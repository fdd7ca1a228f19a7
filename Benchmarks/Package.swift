// swift-tools-version: 6.1
// Kernel benchmarks for hashidx (ordo-one/benchmark). A package of its own, so that the
// library and its tests never build the benchmark dependencies.
//
//   cd Benchmarks && swift package --disable-sandbox benchmark
import PackageDescription

// A path dependency is named after its folder: the repository's folder, whatever the clone
// is called.
let rootPackage = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "hashidx")

let package = Package(
    name: "hashidx-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "HashIdxBenchmarks",
            dependencies: [
                .product(name: "HashIdx", package: rootPackage),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "HashIdxBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
