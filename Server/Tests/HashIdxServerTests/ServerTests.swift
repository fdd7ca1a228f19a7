import Foundation
import HashIdx
import HashIdxServer
import HashIdxService
import Hummingbird
import HashIdxTestSupport
import XCTest

/// The HTTP API, driven in process through HummingbirdTesting (no sockets): every route,
/// every error shape, results equal to the library's, writes visible after their answer.
final class ServerTests: XCTestCase {
    func testSearchAnswersWhatTheLibraryAnswers() async throws {
        let (path, vectors) = try makeIndex(in: makeTemporaryDirectory(self))
        let index = try Index(path: path)
        let server = try CatalogServer(path: path, configuration: ServerConfiguration(threads: 1))
        try await server.makeApplication().test(.router) { client in
            for q in [0, 17, 333] {
                let query = vectors[q].map { $0 + 0.05 }
                for (k, probes, candidates, filter) in [(10, nil, nil, nil), (5, 2, 40, "price < 30 and in_stock"),
                                                        (20, 8, 200, "category in (\"c1\", \"c2\") or tags contains \"t0\"")] as [(Int, Int?, Int?, String?)] {
                    var body: [String: Any] = ["vector": query.map(Double.init), "k": k]
                    if let probes { body["probes"] = probes }
                    if let candidates { body["candidates"] = candidates }
                    if let filter { body["where"] = filter }
                    let answer = try await client.call(.post, "/v1/search", jsonText(body))
                    XCTAssertEqual(answer.status, 200, answer.text)
                    let expected = try index.search(query, options: SearchOptions(
                        k: k, candidates: candidates ?? SearchOptions.defaultCandidates, probes: probes ?? SearchOptions.defaultProbes,
                        filter: try filter.map { try Filter($0) }))
                    let results = try XCTUnwrap(answer.object["results"] as? [[String: Any]])
                    XCTAssertEqual(results.map { $0["id"] as? String }, expected.map(\.id))
                    XCTAssertEqual(results.map { $0["rank"] as? Int }, Array(1...max(1, expected.count)).prefix(expected.count).map { $0 })
                    for (r, e) in zip(results, expected) {
                        XCTAssertEqual(r["score"] as? Double ?? -9, Double(e.score), accuracy: 1e-6)
                        XCTAssertNil(r["attributes"], "attributes only when fields are asked for")
                    }
                    XCTAssertFalse(expected.isEmpty)
                }
            }
            // By id, with fields: the item itself left out, attributes as stored.
            let answer = try await client.call(.post, "/v1/search", #"{"id": "item-42", "k": 7, "fields": ["price", "category"]}"#)
            XCTAssertEqual(answer.status, 200, answer.text)
            let expected = try index.search(similarToID: "item-42", options: SearchOptions(k: 7))
            let results = try XCTUnwrap(answer.object["results"] as? [[String: Any]])
            XCTAssertEqual(results.map { $0["id"] as? String }, expected.map(\.id))
            XCTAssertFalse(results.contains { $0["id"] as? String == "item-42" })
            for r in results {
                let i = Int((r["id"] as! String).dropFirst(5))!
                let attributes = try XCTUnwrap(r["attributes"] as? [String: Any])
                XCTAssertEqual(Set(attributes.keys), ["price", "category"])
                XCTAssertEqual(attributes["category"] as? String, "c\(i % 4)")
                XCTAssertEqual(attributes["price"] as? Double, Double(i % 100) + 0.5)
            }
            // "*": every attribute the item has.
            let all = try await client.call(.post, "/v1/search", #"{"id": "item-42", "k": 3, "fields": ["*"]}"#)
            for r in try XCTUnwrap(all.object["results"] as? [[String: Any]]) {
                let i = Int((r["id"] as! String).dropFirst(5))!
                XCTAssertEqual(Set((r["attributes"] as! [String: Any]).keys), Set(testAttributes(i).keys))
            }
        }
    }

    func testBatchSearchAndItemLookUps() async throws {
        let (path, vectors) = try makeIndex(in: makeTemporaryDirectory(self))
        let index = try Index(path: path)
        let server = try CatalogServer(path: path, configuration: ServerConfiguration(threads: 2))
        try await server.makeApplication().test(.router) { client in
            let body = jsonText(["queries": [["vector": vectors[3].map(Double.init)], ["id": "item-9", "k": 2], ["id": "item-10", "where": "price > 50"]],
                                 "k": 4, "fields": ["price"]])
            let answer = try await client.call(.post, "/v1/search/batch", body)
            XCTAssertEqual(answer.status, 200, answer.text)
            let responses = try XCTUnwrap(answer.object["responses"] as? [[String: Any]])
            XCTAssertEqual(responses.count, 3)
            let ids = responses.map { ($0["results"] as! [[String: Any]]).map { $0["id"] as! String } }
            XCTAssertEqual(ids[0], try index.search(vectors[3], options: SearchOptions(k: 4)).map(\.id))
            XCTAssertEqual(ids[1], try index.search(similarToID: "item-9", options: SearchOptions(k: 2)).map(\.id))
            XCTAssertEqual(ids[2], try index.search(similarToID: "item-10", options: SearchOptions(k: 4, filter: Filter("price > 50"))).map(\.id))
            for id in ids[2] { XCTAssertGreaterThan(Double(Int(id.dropFirst(5))! % 100) + 0.5, 50) }

            // A bad query names its position.
            let bad = try await client.call(.post, "/v1/search/batch", #"{"queries": [{"id": "item-1"}, {"id": "nope"}]}"#)
            XCTAssertEqual(bad.status, 404)
            XCTAssertEqual(bad.errorCode, "unknown_id")
            XCTAssertTrue(bad.text.contains("queries[1]"), bad.text)

            // Items: attributes, some fields, the stored vector.
            let item = try await client.call(.get, "/v1/items/item-5?vector=true")
            XCTAssertEqual(item.status, 200, item.text)
            XCTAssertEqual(item.object["id"] as? String, "item-5")
            XCTAssertEqual(Set((item.object["attributes"] as! [String: Any]).keys), ["category", "price", "tags"])
            let vector = try XCTUnwrap(item.object["vector"] as? [Double])
            XCTAssertEqual(vector.count, 16)
            // (The index stores float16 by default: about 3 significant digits.)
            for (a, b) in zip(vector, vectors[5]) { XCTAssertEqual(a, Double(b), accuracy: 2e-3 * abs(Double(b)) + 1e-4) }
            let some = try await client.call(.get, "/v1/items/item-6?fields=price")
            XCTAssertEqual(some.object["attributes"] as? [String: Double], ["price": 6.5])
            XCTAssertNil(some.object["vector"])
            let info = try await client.call(.get, "/v1/info")
            XCTAssertEqual(info.object["dimension"] as? Int, 16)
            XCTAssertEqual(info.object["items"] as? Int, 600)
            XCTAssertEqual(info.object["attributes"] as? [String: String],
                           ["category": "string", "price": "float", "tags": AttributeType.tags.description, "in_stock": "boolean"])
        }
    }

    func testEveryBadRequestIsA4xxWithAJSONErrorNamingIt() async throws {
        let (path, _) = try makeIndex(in: makeTemporaryDirectory(self))
        let server = try CatalogServer(path: path, configuration: ServerConfiguration(maxBodyBytes: 4096))
        let v16 = "[" + Array(repeating: "0.5", count: 16).joined(separator: ",") + "]"
        let cases: [(HTTPRequest.Method, String, String?, Int, String, String)] = [
            (.post, "/v1/search", #"{"vector": [1, 2,"#, 400, "malformed_json", "byte"),
            (.post, "/v1/search", "", 400, "malformed_json", "end of the body"),
            (.post, "/v1/search", #"{"id": "a", "id": "b"}"#, 400, "malformed_json", "twice"),
            (.post, "/v1/search", #"{"k": 3}"#, 400, "invalid_request", "\"vector\""),
            (.post, "/v1/search", #"{"id": "item-1", "vector": \#(v16)}"#, 400, "invalid_request", "both"),
            (.post, "/v1/search", #"{"id": "item-1", "kk": 3}"#, 400, "invalid_request", "unknown field \"kk\""),
            (.post, "/v1/search", #"{"id": "item-1", "k": 0}"#, 400, "invalid_request", "k"),
            (.post, "/v1/search", #"{"id": "item-1", "k": 10001}"#, 400, "limit_exceeded", "--max-k"),
            (.post, "/v1/search", #"{"id": "item-1", "k": 99999999999999999999999}"#, 400, "limit_exceeded", "--max-k"),
            (.post, "/v1/search", #"{"id": "item-1", "candidates": 10000000}"#, 400, "limit_exceeded", "--max-candidates"),
            (.post, "/v1/search", #"{"id": "item-1", "probes": 1000000000}"#, 400, "limit_exceeded", "--max-probes"),
            (.post, "/v1/search", "{}", 400, "invalid_request", "needs"),
            (.post, "/v1/search", #"{"id": ""}"#, 400, "invalid_id", "empty"),
            (.post, "/v1/search", #"{"vector": []}"#, 400, "invalid_request", "empty"),
            (.post, "/v1/search", #"{"vector": [1, 2, 3]}"#, 400, "dimension_mismatch", "3 values"),
            (.put, "/v1/items", #"{"items": [{"id": "a\r\nb", "vector": [1]}]}"#, 400, "invalid_id", "control character"),
            (.post, "/v1/search", #"{"id": "item-1", "k": 2.5}"#, 400, "invalid_request", "whole number"),
            (.post, "/v1/search", #"{"id": 7}"#, 400, "invalid_request", "string"),
            (.post, "/v1/search", #"{"vector": [1, 2, 3]}"#, 400, "dimension_mismatch", "dimension 16"),
            (.post, "/v1/search", #"{"vector": [1e39\#(String(repeating: ",1", count: 15))]}"#, 400, "non_finite_value", "1e39"),
            (.post, "/v1/search", #"{"vector": ["NaN"\#(String(repeating: ",1", count: 15))]}"#, 400, "invalid_request", "number"),
            (.post, "/v1/search", #"{"vector": [0\#(String(repeating: ",0", count: 15))]}"#, 400, "zero_vector", "zeros"),
            (.post, "/v1/search", #"{"id": "item-1", "where": "price <"}"#, 400, "invalid_filter", "price"),
            (.post, "/v1/search", #"{"id": "item-1", "where": "colour = \"red\""}"#, 400, "invalid_filter", "colour"),
            (.post, "/v1/search", #"{"id": "item-1", "fields": ["colour"]}"#, 400, "invalid_argument", "colour"),
            (.post, "/v1/search", #"{"id": "nope"}"#, 404, "unknown_id", "nope"),
            (.post, "/v1/search", "{\"vector\": [" + String(repeating: "0.123456789,", count: 500) + "1]}", 413, "payload_too_large", "4096"),
            (.post, "/v1/search/batch", #"{"queries": []}"#, 400, "invalid_request", "empty"),
            (.get, "/v1/items/nope", nil, 404, "unknown_id", "nope"),
            (.get, "/v1/items/item-1?vector=maybe", nil, 400, "invalid_request", "vector"),
            (.put, "/v1/items", #"{"items": [{"id": "x", "vector": [1, 2]}]}"#, 400, "dimension_mismatch", "dimension 16"),
            (.put, "/v1/items", #"{"items": [{"id": "x", "vector": \#(v16)}, {"id": "x", "vector": \#(v16)}]}"#, 400, "duplicate_id", "\"x\""),
            (.put, "/v1/items", #"{"items": [{"id": "x", "vector": \#(v16), "attributes": {"price": "cheap"}}]}"#, 400, "invalid_attributes", "price"),
            (.put, "/v1/items", #"{"items": [{"id": "x", "vector": \#(v16), "attributes": {"a": {"b": 1}}}]}"#, 400, "invalid_attributes", "nested"),
            (.put, "/v1/items", #"{"items": [{"vector": \#(v16)}]}"#, 400, "invalid_request", "id"),
            (.put, "/v1/items", #"{"items": {}}"#, 400, "invalid_request", "list"),
            (.delete, "/v1/items/nope", nil, 404, "unknown_id", "nope"),
            (.post, "/v1/items:delete", #"{"ids": ["item-1", "nope"]}"#, 404, "unknown_id", "nope"),
            (.get, "/v1/nothing", nil, 404, "not_found", "/v1/nothing"),
            (.patch, "/v1/search", nil, 405, "method_not_allowed", "PATCH"),
        ]
        try await server.makeApplication().test(.router) { client in
            for (method, uri, body, status, code, mention) in cases {
                let answer = try await client.call(method, uri, body)
                XCTAssertEqual(answer.status, status, "\(method) \(uri) \(body ?? ""): \(answer.text)")
                XCTAssertEqual(answer.errorCode, code, "\(method) \(uri) \(body ?? ""): \(answer.text)")
                let message = (answer.object["error"] as? [String: Any])?["message"] as? String ?? ""
                XCTAssertTrue(message.contains(mention), "\(uri) \(body ?? ""): \"\(message)\" should mention \(mention)")
                XCTAssertEqual(answer.headers[.contentType], "application/json")
            }
            // A known path with another method names the methods it takes.
            let patch = try await client.call(.patch, "/v1/items/item-1")
            XCTAssertEqual(patch.headers[.allow], "GET, DELETE")
            // The filter error carries the offset of the problem.
            let filter = try await client.call(.post, "/v1/search", #"{"id": "item-1", "where": "price < 3 and and"}"#)
            XCTAssertEqual((filter.object["error"] as? [String: Any])?["offset"] as? Int, 14)
            // Nothing was written by the failed writes.
            let info = try await client.call(.get, "/v1/info")
            XCTAssertEqual(info.object["items"] as? Int, 600)
            XCTAssertEqual(info.object["generation"] as? Int, 1)
        }
    }

    func testWritesAreVisibleWhenAnsweredAndGroupCommitted() async throws {
        let (path, vectors) = try makeIndex(in: makeTemporaryDirectory(self))
        let server = try CatalogServer(path: path, configuration: ServerConfiguration(threads: 2))
        try await server.makeApplication().test(.router) { client in
            // 24 writers at once: every one answered after its commit, fewer commits than writes.
            let answers = try await withThrowingTaskGroup(of: (Int, Answer).self) { group in
                for w in 0..<24 {
                    group.addTask {
                        let items = (0..<5).map { j -> [String: Any] in
                            let i = w * 5 + j
                            return ["id": "new-\(i)", "vector": vectors[i].map { Double($0) + 0.01 },
                                    "attributes": ["category": "c9", "price": Double(i) + 0.25]]
                        }
                        return (w, try await client.call(.put, "/v1/items", jsonText(["items": items])))
                    }
                }
                var out: [(Int, Answer)] = []
                for try await a in group { out.append(a) }
                return out
            }
            var generations = Set<Int>()
            for (w, answer) in answers {
                XCTAssertEqual(answer.status, 200, "writer \(w): \(answer.text)")
                XCTAssertEqual(answer.object["upserted"] as? Int, 5)
                let generation = try XCTUnwrap(answer.object["generation"] as? Int)
                generations.insert(generation)
            }
            // Group commits append to the write log of generation 1: no shard, no generation.
            XCTAssertEqual(generations, [1])
            // Each write is visible once answered: the items, their attributes, the filter.
            let item = try await client.call(.get, "/v1/items/new-77")
            let attributes = try XCTUnwrap(item.object["attributes"] as? [String: Any])
            XCTAssertEqual(attributes.count, 2)
            XCTAssertEqual(attributes["category"] as? String, "c9")
            XCTAssertEqual(attributes["price"] as? Double, 77.25)
            let found = try await client.call(.post, "/v1/search", #"{"id": "new-3", "k": 200, "where": "category = \"c9\""}"#)
            XCTAssertEqual((found.object["results"] as? [[String: Any]])?.count, 119)
            let info = try await client.call(.get, "/v1/info")
            XCTAssertEqual(info.object["items"] as? Int, 720)
            XCTAssertEqual(info.object["buffered"] as? Int, 120)
            XCTAssertGreaterThan(info.object["log_bytes"] as? Int ?? 0, 120 * 4 * vectors[0].count)

            // Upsert replaces; delete by id and in a batch; ignore_missing.
            let replaced = try await client.call(.put, "/v1/items", jsonText(["items": [["id": "item-1", "vector": vectors[2].map(Double.init)]]]))
            XCTAssertEqual(replaced.status, 200, replaced.text)
            let after = try await client.call(.get, "/v1/items/item-1?vector=true")
            XCTAssertEqual((after.object["vector"] as? [Double])?.first ?? 0, Double(vectors[2][0]), accuracy: 2e-3 * abs(Double(vectors[2][0])) + 1e-4)
            XCTAssertEqual((after.object["attributes"] as? [String: Any])?.count, 0, "a replaced item takes the new attributes (none)")
            // Ids with spaces, slashes or any character: percent-encoded in the path.
            let odd = "sku 17/b?ü"
            let put = try await client.call(.put, "/v1/items", jsonText(["items": [["id": odd, "vector": vectors[9].map(Double.init)]]]))
            XCTAssertEqual(put.status, 200, put.text)
            let encoded = odd.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let oddItem = try await client.call(.get, "/v1/items/\(encoded)")
            XCTAssertEqual(oddItem.object["id"] as? String, odd, oddItem.text)
            let oddDeleted = try await client.call(.delete, "/v1/items/\(encoded)")
            XCTAssertEqual(oddDeleted.object["deleted"] as? Int, 1, oddDeleted.text)
            let deleted = try await client.call(.delete, "/v1/items/item-2")
            XCTAssertEqual(deleted.object["deleted"] as? Int, 1)
            let batch = try await client.call(.post, "/v1/items:delete", #"{"ids": ["item-3", "item-4", "gone"], "ignore_missing": true}"#)
            XCTAssertEqual(batch.object["deleted"] as? Int, 2, batch.text)
            for id in ["item-2", "item-3", "item-4"] {
                let gone = try await client.call(.get, "/v1/items/\(id)")
                XCTAssertEqual(gone.status, 404)
            }
            let near = try await client.call(.post, "/v1/search", jsonText(["vector": vectors[3].map(Double.init), "k": 50]))
            XCTAssertFalse((near.object["results"] as! [[String: Any]]).contains { ["item-2", "item-3", "item-4"].contains($0["id"] as! String) })
        }
        // Durable: a fresh open of the directory sees every write.
        let reopened = try Index(path: path)
        XCTAssertEqual(reopened.count, 717)
        XCTAssertNotNil(try reopened.row(forID: "new-119"))
    }

    func testReadOnlyTokenAndMetrics() async throws {
        let (path, vectors) = try makeIndex(in: makeTemporaryDirectory(self))
        let server = try CatalogServer(path: path, configuration: ServerConfiguration(
            token: "s3cret-token", service: ServiceOptions(readOnly: true)))
        try await server.makeApplication().test(.router) { client in
            // Health and readiness need no token; everything under /v1 and /metrics does.
            let health = try await client.call(.get, "/healthz")
            XCTAssertEqual(health.status, 200)
            let ready = try await client.call(.get, "/readyz")
            XCTAssertEqual(ready.object["status"] as? String, "ready")
            for (method, uri) in [(HTTPRequest.Method.post, "/v1/search"), (.get, "/v1/info"), (.get, "/metrics"), (.delete, "/v1/items/item-1")] {
                let none = try await client.call(method, uri, #"{"id": "item-1"}"#)
                XCTAssertEqual(none.status, 401, uri)
                XCTAssertEqual(none.errorCode, "unauthorized")
                XCTAssertEqual(none.headers[.wwwAuthenticate], "Bearer")
                let wrong = try await client.call(method, uri, #"{"id": "item-1"}"#, token: "s3cret-tokeN")
                XCTAssertEqual(wrong.status, 401, uri)
            }
            let search = try await client.call(.post, "/v1/search", #"{"id": "item-1"}"#, token: "s3cret-token")
            XCTAssertEqual(search.status, 200)
            // Read-only: writes are refused, nothing changes.
            let put = try await client.call(.put, "/v1/items", jsonText(["items": [["id": "x", "vector": vectors[0].map(Double.init)]]]), token: "s3cret-token")
            XCTAssertEqual(put.status, 403)
            XCTAssertEqual(put.errorCode, "read_only")
            let delete = try await client.call(.delete, "/v1/items/item-1", token: "s3cret-token")
            XCTAssertEqual(delete.errorCode, "read_only")
            // Metrics: Prometheus text with the requests just made and the index gauges.
            let metrics = try await client.call(.get, "/metrics", token: "s3cret-token")
            XCTAssertEqual(metrics.status, 200)
            XCTAssertTrue(metrics.headers[.contentType]?.hasPrefix("text/plain") ?? false)
            XCTAssertTrue(metrics.text.contains(#"hashidx_http_requests_total{route="/v1/search",method="POST",status="200"} 1"#), metrics.text)
            XCTAssertTrue(metrics.text.contains(#"hashidx_http_requests_total{route="/v1/search",method="POST",status="401"} 2"#), metrics.text)
            XCTAssertTrue(metrics.text.contains(#"hashidx_http_request_duration_seconds_bucket{route="/v1/search",method="POST",le="+Inf"} 3"#), metrics.text)
            XCTAssertTrue(metrics.text.contains("hashidx_index_items 600"), metrics.text)
            XCTAssertTrue(metrics.text.contains("hashidx_index_generation 1"), metrics.text)
        }
        XCTAssertThrowsError(try CatalogServer(path: path, configuration: ServerConfiguration(token: "")))
        XCTAssertThrowsError(try CatalogServer(path: path, configuration: ServerConfiguration(threads: 0)))
        XCTAssertThrowsError(try CatalogServer(path: makeTemporaryDirectory(self)))
    }

    func testPicksUpGenerationsCommittedByAnotherWriter() async throws {
        let (path, vectors) = try makeIndex(in: makeTemporaryDirectory(self))
        let server = try CatalogServer(path: path, configuration: ServerConfiguration(reloadSeconds: 0.05, service: ServiceOptions(readOnly: true)))
        try await server.makeApplication().test(.router) { client in
            let before = try await client.call(.get, "/v1/items/other-1")
            XCTAssertEqual(before.status, 404)
            // Another writer (here in process; `hashidx add` in another process is the same).
            let writer = try IndexWriter(path: path)
            try await writer.upsert(try InMemoryVectors(rows: [vectors[0], vectors[1]]), ids: ["other-0", "other-1"])
            try await writer.delete(ids: ["item-9"])
            try await writer.commit()
            try writer.close()
            var seen = false
            for _ in 0..<200 {
                let info = try await client.call(.get, "/v1/info")
                if info.object["generation"] as? Int == 2 { seen = true; break }
                try await Task.sleep(for: .milliseconds(20))
            }
            XCTAssertTrue(seen, "the server did not pick up generation 2")
            let after = try await client.call(.get, "/v1/items/other-1")
            XCTAssertEqual(after.status, 200)
            let gone = try await client.call(.get, "/v1/items/item-9")
            XCTAssertEqual(gone.status, 404)
        }
    }
}
