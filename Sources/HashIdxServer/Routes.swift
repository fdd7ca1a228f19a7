import Foundation
import HashIdx
import HashIdxService
import Hummingbird
import NIOCore

/// Every route of the API, as registered (the OpenAPI document in `docs/openapi.json`
/// describes exactly these; a test checks that both agree).
public enum Routes {
    /// Method and path template of each route.
    public static let all: [(method: String, path: String)] = [
        ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
        ("GET", "/v1/info"),
        ("POST", "/v1/search"), ("POST", "/v1/search/batch"),
        ("GET", "/v1/items/{id}"), ("PUT", "/v1/items"), ("DELETE", "/v1/items/{id}"), ("POST", "/v1/items/delete"),
    ]

    /// The methods of the routes whose template matches `path` (`{…}` matches one segment).
    public static func methods(forPath path: String) -> [String] {
        all.filter { matches($0.path, path) }.map(\.method)
    }

    /// The template of the route that answers `method` on `path`, if one does.
    public static func template(method: String, path: String) -> String? {
        all.first { $0.method == method && matches($0.path, path) }?.path
    }

    private static func matches(_ template: String, _ path: String) -> Bool {
        let t = template.split(separator: "/", omittingEmptySubsequences: false)
        let p = path.split(separator: "/", omittingEmptySubsequences: false)
        return t.count == p.count && zip(t, p).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
    }
}

extension CatalogServer {
    func addRoutes(to router: Router<BasicRequestContext>) {
        let service = self.service
        router.get("/healthz") { _, _ in json("{\"status\":\"ok\"}") }
        router.get("/readyz") { _, _ in
            let index = service.index
            return json("{\"status\":\"ready\",\"generation\":\(index.generation),\"items\":\(index.count)}")
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: self.metrics.exposition(index: service.index))))
        }
        router.get("/v1/info") { _, _ in json(self.info()) }
        router.post("/v1/search") { request, _ in
            let body = try await self.body(of: request)
            let search = try RequestDecoder.search(body[...])
            // One search: where the request is (see searchOnEventLoops) or on the search pool.
            let results = self.configuration.searchOnEventLoops
                ? try service.search(search) : try await self.searchPool.runIfActive { try service.search(search) }
            return json(ResponseEncoder.search(results, withAttributes: search.fields != nil))
        }
        router.post("/v1/search/batch") { request, _ in
            let body = try await self.body(of: request)
            let searches = try RequestDecoder.batchSearch(body[...], maxQueries: service.options.maxQueriesPerBatch)
            // A batch may take long: always on the search pool, never blocking a network loop.
            let results = try await self.searchPool.runIfActive { try service.search(batch: searches) }
            return json(ResponseEncoder.batch(results, withAttributes: searches.contains { $0.fields != nil }))
        }
        router.get("/v1/items/{id}") { request, context in
            let id = try itemID(context)
            let fields = request.uri.queryParameters.get("fields").map {
                $0.split(separator: ",").map { String($0.filter { $0 != " " }) }.filter { !$0.isEmpty }
            }
            let vector: Bool
            switch request.uri.queryParameters.get("vector") {
            case nil, "false", "0": vector = false
            case "true", "1": vector = true
            case let other?: throw ServiceError.invalidRequest("vector must be true or false, got \"\(other)\"")
            }
            return json(try service.item(id: id, fields: fields, vector: vector))
        }
        router.put("/v1/items") { request, _ in
            let body = try await self.body(of: request)
            let items = try RequestDecoder.upsert(body[...], maxItems: service.options.maxItemsPerRequest)
            return json(ResponseEncoder.write(try await service.write(.upsert(items))))
        }
        router.delete("/v1/items/{id}") { _, context in
            let id = try itemID(context)
            return json(ResponseEncoder.write(try await service.write(.delete([id], ignoringMissing: false))))
        }
        router.post("/v1/items/delete") { request, _ in
            let body = try await self.body(of: request)
            let delete = try RequestDecoder.delete(body[...], maxItems: service.options.maxItemsPerRequest)
            return json(ResponseEncoder.write(try await service.write(delete)))
        }
    }

    /// The request body, at most ``ServerConfiguration/maxBodyBytes``.
    func body(of request: Request) async throws -> [UInt8] {
        let limit = configuration.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw tooLarge(limit)
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw tooLarge(limit)
        }
    }

    private func tooLarge(_ limit: Int) -> ServiceError {
        ServiceError(status: 413, code: "payload_too_large",
                     message: "the body is larger than \(limit) bytes (--max-body-bytes); split the request")
    }

    /// `GET /v1/info`: what a client needs to talk to the index.
    func info() -> String {
        let index = service.index
        let schema = index.attributeSchema.keys.sorted().map { "\(JSONText.quoted($0)):\(JSONText.quoted(index.attributeSchema[$0]!.description))" }
        return "{\"dimension\":\(index.dimension),\"bits\":\(index.bits),\"items\":\(index.count),\"rows\":\(index.rowCount)," +
            "\"generation\":\(index.generation),\"bytes\":\(index.bytesOnDisk),\"attributes\":{\(schema.joined(separator: ","))}," +
            "\"read_only\":\(service.options.readOnly),\"max_k\":\(RequestDecoder.maxK)}"
    }
}

/// The `{id}` of an item route, percent-decoded (`/v1/items/sku%2F17` is the item `sku/17`).
func itemID(_ context: BasicRequestContext) throws -> String {
    let raw = try context.parameters.require("id")
    guard let id = raw.removingPercentEncoding, !id.isEmpty else {
        throw ServiceError.invalidRequest("the item id in the path is not valid percent-encoded UTF-8: \(raw)")
    }
    return id
}

/// A `200` JSON response.
func json(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
}
