// swift-tools-version: 6.1
// An example that uses HashIdx as a package dependency: a product catalog service end to end
// (build an index with attributes, filtered search, upserts, deletes, commits, reopening).
//
//   swift run --package-path Examples/CatalogService     # from the repository root
import PackageDescription

let package = Package(
    name: "CatalogService",
    dependencies: [
        // The hashidx package two levels up. In your own package:
        //   .package(url: "https://github.com/OWNER/hashidx", from: "0.1.0")
        .package(name: "hashidx", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "CatalogService",
            dependencies: [.product(name: "HashIdx", package: "hashidx")]
        ),
    ]
)
