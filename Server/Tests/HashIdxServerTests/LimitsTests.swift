import Foundation
import HashIdx
import HashIdxServer
import HashIdxService
import Hummingbird
import HashIdxTestSupport
import XCTest

/// The server's doors (issue 21), at the router: the token is decided on the route that runs
/// whatever the path's spelling, hostile bodies are bounded errors, large batch answers are
/// streamed and equal the small ones, ids compare as bytes. The same doors against a real
/// process, slow clients and malformed HTTP included, are in `Tests/Hostile`.
final class LimitsTests: XCTestCase {
    func testTheTokenIsCheckedOnTheRouteThatRunsWhateverTheSpelling() async throws {
        let (path, _) = try makeIndex(in: makeTemporaryDirectory(self))
        let server = try CatalogServer(path: path, configuration: ServerConfiguration(token: "s3cret"))
        let spellings: [(HTTPRequest.Method, String)] = [
            (.delete, "//v1/items/item-5"), (.delete, "/v1//items/item-5"), (.delete, "/v1/items/item-5/"),
            (.put, "//v1/items"), (.get, "/metrics/"), (.get, "//metrics"), (.get, "/v1/info/"),
            (.post, "//v1/search"), (.post, "/v1/items:delete/"), (.get, "/v1/./items/item-5"),
            (.get, "/v1/%69tems/item-5"), (.get, "/V1/ITEMS/item-5"), (.get, "/v1%2Fitems/item-5"),
            (.post, "/v1/nothing"), (.patch, "/v1/search"), (.get, "/"),
        ]
        try await server.makeApplication().test(.router) { client in
            for (method, uri) in spellings {
                for authorization in [nil, "Bearer wrong", "Basic czNjcmV0", "Bearer", "s3cret"] as [String?] {
                    var headers: HTTPFields = [:]
                    if let authorization { headers[.authorization] = authorization }
                    let answer = try await client.execute(uri: uri, method: method, headers: headers,
                                                          body: method == .get ? nil : ByteBuffer(string: "{}")) { r in
                        (Int(r.status.code), String(buffer: r.body), r.headers[.wwwAuthenticate])
                    }
                    XCTAssertEqual(answer.0, 401, "\(method) \(uri) with \(authorization ?? "no token"): \(answer.1)")
                    XCTAssertEqual(answer.2, "Bearer")
                    XCTAssertFalse(answer.1.contains("hashidx_http_requests_total"))
                }
            }
            // The probes stay open, in any spelling the router takes.
            for uri in ["/healthz", "//healthz", "/readyz/"] {
                let answer = try await client.call(.get, uri)
                XCTAssertEqual(answer.status, 200, uri)
            }
            // Nothing was deleted or written; the right token, in any case of the scheme, works.
            for scheme in ["Bearer", "bearer", "BEARER", "  Bearer  "] {
                let answer = try await client.execute(uri: "/v1/items/item-5", method: .get,
                                                      headers: [.authorization: scheme + " s3cret "]) { Int($0.status.code) }
                XCTAssertEqual(answer, 200, scheme)
            }
            let info = try await client.call(.get, "/v1/info", token: "s3cret")
            XCTAssertEqual(info.object["items"] as? Int, 600)
            XCTAssertEqual(info.object["generation"] as? Int, 1)
            // With the token, a path spelt with extra slashes reaches its route.
            let deleted = try await client.call(.delete, "//v1/items/item-5/", token: "s3cret")
            XCTAssertEqual(deleted.status, 200, deleted.text)
        }
    }

    func testHostileBodiesAreBoundedErrors() async throws {
        let (path, _) = try makeIndex(in: makeTemporaryDirectory(self))
        let server = try CatalogServer(path: path, configuration: ServerConfiguration())
        let one = #"{"id": "item-1"}"#
        let cases: [(String, String, String, String)] = [
            ("/v1/search", #"{"id": "item-1", "where": "\#(String(repeating: "not ", count: 25_000))in_stock"}"#, "invalid_filter", "deeper than 64"),
            ("/v1/search", #"{"id": "item-1", "where": "\#(String(repeating: "(", count: 50_000))in_stock\#(String(repeating: ")", count: 50_000))"}"#,
             "invalid_filter", "deeper than 64"),
            ("/v1/search/batch", #"{"queries": [{"id": "item-1", "where": "\#(String(repeating: "(", count: 5_000))in_stock"}]}"#, "invalid_filter", "queries[0]"),
            ("/v1/search", String(repeating: "[", count: 100_000), "malformed_json", "deeper than 32"),
            ("/v1/search/batch", #"{"queries": [\#(Array(repeating: one, count: 400).joined(separator: ","))], "k": 10000, "candidates": 10000000, "fields": ["*"]}"#,
             "limit_exceeded", "--max-candidates"),
            ("/v1/search/batch", #"{"queries": [\#(Array(repeating: one, count: 400).joined(separator: ","))], "k": 10000, "fields": ["*"]}"#,
             "limit_exceeded", "--max-batch-results"),
            ("/v1/search/batch", #"{"queries": [\#(Array(repeating: one, count: 1001).joined(separator: ","))]}"#, "limit_exceeded", "--max-batch"),
            ("/v1/search", #"{"vector": [\#(Array(repeating: "0.1", count: 200_000).joined(separator: ","))]}"#, "dimension_mismatch", "200000 values"),
            ("/v1/items:delete", #"{"ids": [\#(Array(repeating: "\"x\"", count: 100_001).joined(separator: ","))]}"#, "limit_exceeded", "--max-items"),
        ]
        try await server.makeApplication().test(.router) { client in
            for (uri, body, code, mention) in cases {
                let answer = try await client.call(.post, uri, body)
                XCTAssertEqual(answer.status, 400, "\(uri): \(answer.text.prefix(300))")
                XCTAssertEqual(answer.errorCode, code, "\(uri): \(answer.text.prefix(300))")
                XCTAssertTrue(answer.text.contains(mention), "\(uri): \(answer.text.prefix(300)) should mention \(mention)")
                XCTAssertLessThan(answer.text.utf8.count, 2000, "an error quotes the place, not the whole input")
            }
            let alive = try await client.call(.get, "/healthz")
            XCTAssertEqual(alive.status, 200)
        }
    }

    func testLargeBatchAnswersStreamTheSameAnswerAndRespectTheByteLimit() async throws {
        let (path, vectors) = try makeIndex(in: makeTemporaryDirectory(self))
        let queries = (0..<300).map { i in #"{"vector": \#(jsonText(vectors[i].map { Double($0) + 0.01 }))}"# }
        let body = #"{"queries": [\#(queries.joined(separator: ","))], "k": 50, "fields": ["*"]}"#
        // 300 × 50 results with attributes: about 2.5 MB, past the 1 MiB that is built whole.
        let server = try CatalogServer(path: path, configuration: ServerConfiguration())
        let service = server.service
        let streamed = try await server.makeApplication().test(.router) { client in
            try await client.call(.post, "/v1/search/batch", body)
        }
        XCTAssertEqual(streamed.status, 200)
        XCTAssertGreaterThan(streamed.text.utf8.count, 1 << 20)
        let responses = try XCTUnwrap(streamed.object["responses"] as? [[String: Any]])
        XCTAssertEqual(responses.count, 300)
        // The same as the library's batch search, result for result.
        let expected = try service.search(batch: try RequestDecoder.batchSearch(Array(body.utf8)[...]))
        for (answer, results) in zip(responses, expected) {
            let got = try XCTUnwrap(answer["results"] as? [[String: Any]])
            XCTAssertEqual(got.map { $0["id"] as? String }, results.map(\.id))
            XCTAssertEqual(got.map { ($0["attributes"] as? [String: Any])?.count }, results.map(\.attributes.count))
        }
        // The same request against a server whose answers may not pass 1 MiB: refused whole.
        let small = try CatalogServer(path: path, configuration: ServerConfiguration(
            service: ServiceOptions(limits: RequestLimits(maxAnswerBytes: 1 << 20))))
        let refused = try await small.makeApplication().test(.router) { client in
            try await client.call(.post, "/v1/search/batch", body)
        }
        XCTAssertEqual(refused.status, 400)
        XCTAssertEqual(refused.errorCode, "limit_exceeded")
        XCTAssertTrue(refused.text.contains("--max-answer-bytes"), refused.text)
    }

    func testIdsCompareAsBytesAndDeletesCountItems() async throws {
        let (path, vectors) = try makeIndex(in: makeTemporaryDirectory(self))
        let server = try CatalogServer(path: path, configuration: ServerConfiguration())
        let v = jsonText(vectors[3].map(Double.init))
        let nfc = "caf\u{E9}", nfd = "cafe\u{301}"
        try await server.makeApplication().test(.router) { client in
            let put = try await client.call(.put, "/v1/items", #"{"items": [{"id": "\#(nfc)", "vector": \#(v)}, {"id": "\#(nfd)", "vector": \#(v)}]}"#)
            XCTAssertEqual(put.status, 200, put.text)
            XCTAssertEqual(put.object["count"] as? Int, 602, "two items, not a duplicate")
            let encodedNFD = nfd.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let got = try await client.call(.get, "/v1/items/" + encodedNFD)
            XCTAssertEqual(got.status, 200)
            XCTAssertEqual((got.object["id"] as? String).map { Array($0.utf8) }, Array(nfd.utf8))
            let deleted = try await client.call(.delete, "/v1/items/" + encodedNFD)
            XCTAssertEqual(deleted.object["count"] as? Int, 601)
            let kept = try await client.call(.get, "/v1/items/" + nfc.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
            XCTAssertEqual(kept.status, 200, "deleting the NFD id left the NFC item")
            // The same id twice in one bulk delete deletes one item, and says so.
            let twice = try await client.call(.post, "/v1/items:delete", #"{"ids": ["item-1", "item-1"]}"#)
            XCTAssertEqual(twice.object["deleted"] as? Int, 1, twice.text)
            XCTAssertEqual(twice.object["count"] as? Int, 600)
            // An item named `delete` is an item like any other.
            let named = try await client.call(.put, "/v1/items", #"{"items": [{"id": "delete", "vector": \#(v)}]}"#)
            XCTAssertEqual(named.status, 200)
            let fetched = try await client.call(.get, "/v1/items/delete")
            XCTAssertEqual(fetched.object["id"] as? String, "delete")
        }
    }
}
