import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HashIdx
import HashIdxService
import Hummingbird
import NIOCore
import NIOHTTP1

/// Every route of the API, as registered (the OpenAPI document in `docs/openapi.json`
/// describes exactly these; a test checks that both agree).
///
/// No route's path is a prefix-and-constant of another's parameter: the bulk delete is
/// `POST /v1/items:delete`, so `/v1/items/{id}` reaches every id, `delete` included.
public enum Routes {
    /// Method and path template of each route.
    public static let all: [(method: String, path: String)] = [
        ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
        ("GET", "/v1/info"),
        ("POST", "/v1/search"), ("POST", "/v1/search/batch"),
        ("GET", "/v1/items/{id}"), ("PUT", "/v1/items"), ("DELETE", "/v1/items/{id}"), ("POST", "/v1/items:delete"),
    ]

    /// The routes that never need the token (a load balancer's probes).
    public static let open: Set<String> = ["/healthz", "/readyz"]

    /// The methods of the routes whose template matches `path` (`{…}` matches one segment;
    /// empty segments are skipped, as the router skips them).
    public static func methods(forPath path: String) -> [String] {
        all.filter { matches($0.path, path) }.map(\.method)
    }

    /// The template of the route that answers `method` on `path`, if one does.
    public static func template(method: String, path: String) -> String? {
        all.first { $0.method == method && matches($0.path, path) }?.path
    }

    private static func matches(_ template: String, _ path: String) -> Bool {
        let t = template.split(separator: "/")
        let p = path.split(separator: "/")
        return t.count == p.count && zip(t, p).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
    }
}

extension CatalogServer {
    /// Bodies up to this many bytes are decoded where the request is; larger ones on the
    /// search pool, so that decoding never holds a network thread for long.
    static let inlineDecodeBytes = 64 << 10
    /// Answers up to this many bytes are built whole; larger batch answers are measured, then
    /// streamed a chunk of queries at a time.
    static let inlineAnswerBytes = 1 << 20
    /// Queries searched, or encoded, per step of a batch.
    static let batchChunk = 64

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
            let index = service.index
            let limits = service.options.limits
            let search = try await self.decode(body) { (b) throws(ServiceError) in
                try RequestDecoder.search(b[...], limits: limits, dimension: index.dimension)
            }
            // One search: where the request is (see searchOnEventLoops) or on the search pool.
            let work: @Sendable () throws -> String = {
                let text = "{\"results\":" + (try ResponseEncoder.results(try service.answer(search, on: index), from: index)) + "}"
                try Self.checkAnswer(bytes: text.utf8.count, limits: limits)
                return text
            }
            return json(self.configuration.searchOnEventLoops ? try work() : try await self.searchPool.runIfActive(work))
        }
        router.post("/v1/search/batch") { request, _ in
            let body = try await self.body(of: request)
            let index = service.index
            let limits = service.options.limits
            let searches = try await self.decode(body) { (b) throws(ServiceError) in
                try RequestDecoder.batchSearch(b[...], limits: limits, dimension: index.dimension)
            }
            return try await self.batchResponse(searches, on: index)
        }
        router.get("/v1/items/{id}") { request, context in
            let id = try itemID(context)
            // `+` is a space in a form-encoded query; attribute names hold neither.
            let fields = request.uri.queryParameters.get("fields").map {
                $0.split(separator: ",").map { String($0.filter { $0 != " " && $0 != "+" }) }.filter { !$0.isEmpty }
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
            let limits = service.options.limits
            let dimension = service.index.dimension
            let items = try await self.decode(body) { (b) throws(ServiceError) in
                try RequestDecoder.upsert(b[...], limits: limits, dimension: dimension)
            }
            return json(ResponseEncoder.write(try await service.write(.upsert(items))))
        }
        router.delete("/v1/items/{id}") { _, context in
            let id = try itemID(context)
            return json(ResponseEncoder.write(try await service.write(.delete([id], ignoringMissing: false))))
        }
        router.post("/v1/items:delete") { request, _ in
            let body = try await self.body(of: request)
            let limits = service.options.limits
            let delete = try await self.decode(body) { (b) throws(ServiceError) in try RequestDecoder.delete(b[...], limits: limits) }
            return json(ResponseEncoder.write(try await service.write(delete)))
        }
    }

    /// The request body, at most ``ServerConfiguration/maxBodyBytes``. A body the client
    /// cut short or garbled (a bad chunk) is `400 malformed_request`, not a server error.
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
        } catch let error as HTTPParserError {
            throw ConnectionGuard.error(for: error).1
        } catch {
            throw ServiceError(status: 400, code: "malformed_request", message: "the request body could not be read: \(error)")
        }
    }

    /// `decoder(body)`, on the search pool when the body is large.
    func decode<T: Sendable>(_ body: [UInt8], _ decoder: @escaping @Sendable ([UInt8]) throws(ServiceError) -> T) async throws -> T {
        if body.count <= Self.inlineDecodeBytes { return try decoder(body) }
        defer { if body.count >= Self.trimAfterBytes { Self.releaseFreedMemory() } }
        return try await searchPool.runIfActive { try decoder(body) }
    }

    /// After a request that moved this many bytes, freed memory is handed back to the system.
    static let trimAfterBytes = 8 << 20

    /// Hands the heap's free pages back to the system (glibc keeps them otherwise, and a
    /// server's resident memory would stay at its largest request's for good).
    static func releaseFreedMemory() {
        #if canImport(Glibc)
        if let trim = mallocTrim { _ = trim(0) }
        #endif
    }

    #if canImport(Glibc)
    /// glibc's `malloc_trim`, looked up at run time (Swift's Glibc module does not import
    /// `malloc.h`; another C library simply has none).
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    }()
    #endif

    private func tooLarge(_ limit: Int) -> ServiceError {
        ServiceError(status: 413, code: "payload_too_large",
                     message: "the body is larger than \(limit) bytes (--max-body-bytes); split the request")
    }

    static func checkAnswer(bytes: Int, limits: RequestLimits) throws(ServiceError) {
        let bound = limits.answerBytes
        guard bytes <= bound.value else {
            throw ServiceError(status: 400, code: "limit_exceeded",
                               message: "the answer would be \(bytes) bytes, above this server's limit of \(bound.value) \(bound.what) (\(bound.flag)); ask for fewer queries, a smaller k or fewer fields")
        }
    }

    /// The answer of a batch: every query is searched first (results without attributes, a
    /// chunk of queries at a time on the search pool); then an answer up to
    /// ``inlineAnswerBytes`` is built whole, and a larger one is measured (refused above
    /// ``RequestLimits/maxAnswerBytes`` before a byte is sent) and streamed with its exact
    /// length, a chunk of queries at a time, its attributes read as they are written.
    func batchResponse(_ searches: [SearchRequest], on index: Index) async throws -> Response {
        let service = self.service
        let limits = service.options.limits
        let pool = searchPool
        var answers: [SearchAnswer] = []
        answers.reserveCapacity(searches.count)
        for start in stride(from: 0, to: searches.count, by: Self.batchChunk) {
            let chunk = searches[start..<min(searches.count, start + Self.batchChunk)]
            answers += try await pool.runIfActive { try service.answers(chunk, on: index) }
        }
        let all = answers
        let chunks = stride(from: 0, to: all.count, by: Self.batchChunk).map { $0..<min(all.count, $0 + Self.batchChunk) }
        @Sendable func encode(_ range: Range<Int>) throws -> String {
            var s = ""
            for i in range {
                if i > 0 { s += "," }
                s += "{\"results\":" + (try ResponseEncoder.results(all[i], from: index)) + "}"
            }
            return s
        }
        let head = "{\"responses\":[", tail = "]}"
        // Small answers whole; the first chunks are kept for the stream if it comes to that.
        var parts: [String] = []
        var bytes = head.utf8.count + tail.utf8.count
        var next = 0
        while next < chunks.count && bytes <= Self.inlineAnswerBytes {
            let range = chunks[next]
            let part = try await pool.runIfActive { try encode(range) }
            bytes += part.utf8.count
            try Self.checkAnswer(bytes: bytes, limits: limits)
            parts.append(part)
            next += 1
        }
        if next == chunks.count { return json(head + parts.joined() + tail) }
        // Large: measure the rest, then stream it.
        for range in chunks[next...] {
            bytes += try await pool.runIfActive { try encode(range).utf8.count }
            try Self.checkAnswer(bytes: bytes, limits: limits)
        }
        let kept = parts, rest = Array(chunks[next...]), total = bytes
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(contentLength: total) { writer in
            try await writer.write(ByteBuffer(string: head))
            for part in kept { try await writer.write(ByteBuffer(string: part)) }
            for range in rest {
                let part = try await pool.runIfActive { try encode(range) }
                try await writer.write(ByteBuffer(string: part))
            }
            try await writer.write(ByteBuffer(string: tail))
            try await writer.finish(nil)
            if total >= Self.trimAfterBytes { Self.releaseFreedMemory() }
        })
    }

    /// `GET /v1/info`: what a client needs to talk to the index.
    func info() -> String {
        let index = service.index
        let schema = index.attributeSchema.keys.sorted().map { "\(ResponseEncoder.string($0)):\(ResponseEncoder.string(index.attributeSchema[$0]!.description))" }
        let limits = service.options.limits
        return "{\"dimension\":\(index.dimension),\"bits\":\(index.bits),\"items\":\(index.count),\"rows\":\(index.rowCount)," +
            "\"generation\":\(index.generation),\"buffered\":\(index.bufferedCount),\"log_bytes\":\(index.logLength)," +
            "\"bytes\":\(index.bytesOnDisk),\"attributes\":{\(schema.joined(separator: ","))}," +
            "\"read_only\":\(service.options.readOnly),\"max_k\":\(limits.maxK)," +
            "\"limits\":{\(limits.jsonMembers),\"max_body_bytes\":\(configuration.maxBodyBytes)}}"
    }
}

/// The `{id}` of an item route, percent-decoded (`/v1/items/sku%2F17` is the item `sku/17`).
func itemID(_ context: BasicRequestContext) throws -> String {
    let raw = try context.parameters.require("id")
    guard let id = raw.removingPercentEncoding, !id.isEmpty else {
        throw ServiceError(status: 400, code: "invalid_id", message: "the item id in the path is not valid percent-encoded UTF-8: \(raw)")
    }
    return id
}

/// A `200` JSON response.
func json(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
}
