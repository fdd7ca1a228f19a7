import Foundation
import HashIdx
import HashIdxServer
import HashIdxService
import Hummingbird
import HummingbirdTesting
import XCTest

/// A fresh temporary directory, removed after the test.
func makeTemporaryDirectory(_ test: XCTestCase) -> String {
    let path = NSTemporaryDirectory() + "hashidx-server-test-" + UUID().uuidString
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

/// Deterministic pseudo-random numbers (SplitMix64) and Gaussians.
struct TestRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func gaussian() -> Float {
        Float((-2 * log(max(uniform(), 1e-300))).squareRoot() * cos(2 * Double.pi * uniform()))
    }
}

/// Clustered vectors (`count × dim`), reproducible for a seed.
func clusteredVectors(count: Int, dim: Int, clusters: Int = 12, seed: UInt64 = 5) -> [[Float]] {
    var rng = TestRandom(state: seed)
    let centres = (0..<clusters).map { _ in (0..<dim).map { _ in rng.gaussian() } }
    return (0..<count).map { i in centres[i % clusters].map { $0 + 0.5 * rng.gaussian() } }
}

/// The attributes of test item `i`: a category, a price (float), tags, a flag (absent for some).
func testAttributes(_ i: Int) -> Attributes {
    var a: Attributes = ["category": .string("c\(i % 4)"), "price": .float(Double(i % 100) + 0.5),
                         "tags": .tags(["t\(i % 3)"])]
    if i % 5 != 0 { a["in_stock"] = .boolean(i % 2 == 0) }
    return a
}

/// A test index of `count` items (ids `item-N`) with attributes, partitioned, in `directory`.
func makeIndex(in directory: String, count: Int = 600, dim: Int = 16) throws -> (path: String, vectors: [[Float]]) {
    let path = directory + "/catalog.hidx"
    let vectors = clusteredVectors(count: count, dim: dim)
    try IndexBuilder.build(source: try InMemoryVectors(rows: vectors), ids: (0..<count).map { "item-\($0)" },
                           attributes: try AttributeTable(rows: (0..<count).map(testAttributes)), to: path,
                           options: BuildOptions(training: TrainingOptions(bits: 64, sampleSize: count), partitions: 8, threads: 1))
    return (path, vectors)
}

/// `value` as JSON text (numbers, strings, lists and objects of them).
func jsonText(_ object: Any) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.fragmentsAllowed]), as: UTF8.self)
}

/// Parses a JSON body.
func parseJSON(_ buffer: ByteBuffer) -> Any? {
    try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView), options: [.fragmentsAllowed])
}

/// A response as status and parsed body.
struct Answer: @unchecked Sendable {
    var status: Int
    var body: Any?
    var text: String
    var headers: HTTPFields
    var object: [String: Any] { body as? [String: Any] ?? [:] }
    var errorCode: String? { (object["error"] as? [String: Any])?["code"] as? String }
}

extension TestClientProtocol {
    /// Sends `body` (JSON text) and returns the answer.
    func call(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil, token: String? = nil) async throws -> Answer {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { r in
            Answer(status: Int(r.status.code), body: parseJSON(r.body), text: String(buffer: r.body), headers: r.headers)
        }
    }
}
