import Foundation
import HashIdx
import HashIdxServer
import HashIdxService
import HashIdxTestSupport
import Hummingbird
import XCTest

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
    let vectors = clusteredVectors(count: count, dim: dim, clusters: 12, spread: 0.5, seed: 5)
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

extension RouterClient {
    /// Sends `body` (JSON text) and returns the answer.
    func call(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil, token: String? = nil) async throws -> Answer {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { r in
            Answer(status: Int(r.status.code), body: parseJSON(r.body), text: String(buffer: r.body), headers: r.headers)
        }
    }
}
