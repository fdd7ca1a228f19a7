import Foundation
import XCTest
@testable import HashIdx

/// A fresh temporary directory, removed by the caller's `addTeardownBlock`.
func makeTemporaryDirectory(_ test: XCTestCase) -> String {
    let path = NSTemporaryDirectory() + "hashidx-test-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

/// The repository root (where Package.swift is).
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
    }
    fatalError("no Package.swift above \(#filePath)")
}()

/// Bytes of a `.npy` file holding `rows × dim` values of dtype `descr` (payload given raw).
func npyBytes(descr: String, shape: [Int], payload: [UInt8], fortran: Bool = false, version: UInt8 = 1) -> [UInt8] {
    let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shapeText), }"
    let prefix = version == 1 ? 10 : 12
    while (prefix + header.utf8.count + 1) % 64 != 0 { header += " " }
    header += "\n"
    var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
    let n = header.utf8.count
    if version == 1 {
        out += [UInt8(n & 0xFF), UInt8(n >> 8)]
    } else {
        out += [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)]
    }
    return out + Array(header.utf8) + payload
}

/// Little-endian bytes of `values`.
func float32Bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
}

/// Writes `bytes` to `path`.
func writeFile(_ path: String, _ bytes: [UInt8]) {
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

/// Writes a float32 `.npy` of `rows`.
func writeNpy(_ path: String, rows: [[Float]]) {
    writeFile(path, npyBytes(descr: "<f4", shape: [rows.count, rows.first?.count ?? 0], payload: float32Bytes(rows.flatMap { $0 })))
}

/// Deterministic clustered test vectors: `count` rows of dimension `dim`.
func clusteredVectors(count: Int, dim: Int, clusters: Int = 20, seed: UInt64 = 7) -> [[Float]] {
    var rng = SplitMix64(seed: seed)
    let centres = (0..<clusters).map { _ in (0..<dim).map { _ in Float(rng.nextGaussian()) } }
    return (0..<count).map { i in
        let c = centres[i % clusters]
        return c.map { $0 + 0.6 * Float(rng.nextGaussian()) }
    }
}

/// Exact cosine top-k of `query` over `rows` (ties by lower row), skipping `excluding`.
func exactTopK(_ query: [Float], _ rows: [[Float]], k: Int, excluding: Int? = nil) -> [Int] {
    func norm(_ v: [Float]) -> Double { v.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() }
    let qn = norm(query)
    var scored: [(Int, Double)] = []
    for (i, r) in rows.enumerated() where i != excluding {
        var dot = 0.0
        for j in 0..<r.count { dot += Double(r[j]) * Double(query[j]) }
        scored.append((i, dot / (qn * norm(r))))
    }
    scored.sort { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
    return scored.prefix(k).map(\.0)
}

/// Runs the `hashidx` executable; returns (exit status, stdout, stderr).
@discardableResult
func runCLI(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
    let binary = productsDirectory.appendingPathComponent("hashidx")
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// Where SwiftPM put the built products (the test bundle's folder).
var productsDirectory: URL {
    for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
        return bundle.bundleURL.deletingLastPathComponent()
    }
    return Bundle.main.bundleURL
}
