import HashIdx

/// Turns request bodies (JSON bytes) into requests, or into a ``ServiceError`` that names the
/// problem: malformed JSON (with the byte offset), a missing, mistyped or unknown field, a
/// number that is not finite, `k` out of range.
///
/// Dimensions, filters and ids are checked later, against the index.
public enum RequestDecoder {
    /// The largest `k` (and `candidates`) a request may ask for.
    public static let maxK = 10_000

    /// The body of `POST /v1/search`.
    public static func search(_ body: ArraySlice<UInt8>) throws(ServiceError) -> SearchRequest {
        try search(try JSONNode.parse(body), body: body, context: "body")
    }

    /// The body of `POST /v1/search/batch`: `{"queries": [ {…}, … ]}`, each element a
    /// search body; fields given beside `queries` (`k`, `probes`, `candidates`, `where`,
    /// `fields`) apply to every query that does not set its own.
    public static func batchSearch(_ body: ArraySlice<UInt8>, maxQueries: Int = 10_000) throws(ServiceError) -> [SearchRequest] {
        var fields = try JSONFields(try JSONNode.parse(body), context: "body")
        guard let list = fields.take("queries") else { throw .invalidRequest("\"queries\" is required: a list of searches") }
        guard case let .array(elements) = list.value else { throw .invalidRequest("\"queries\" must be a list, got \(list.kind)") }
        guard !elements.isEmpty else { throw .invalidRequest("\"queries\" is empty") }
        guard elements.count <= maxQueries else { throw .invalidRequest("\"queries\" holds \(elements.count) searches; at most \(maxQueries) per request") }
        let shared = try options(&fields)
        try fields.finish()
        var out: [SearchRequest] = []
        out.reserveCapacity(elements.count)
        for (i, e) in elements.enumerated() {
            var r = try search(e, body: body, context: "queries[\(i)]", defaults: shared)
            if r.k == 0 { r.k = shared.k ?? 10 }
            out.append(r)
        }
        return out
    }

    /// The body of `PUT /v1/items`: `{"items": [{"id": "…", "vector": […], "attributes": {…}}, …]}`.
    public static func upsert(_ body: ArraySlice<UInt8>, maxItems: Int = 100_000) throws(ServiceError) -> [ItemUpsert] {
        var fields = try JSONFields(try JSONNode.parse(body), context: "body")
        guard let list = fields.take("items") else { throw .invalidRequest("\"items\" is required: a list of {\"id\", \"vector\", \"attributes\"}") }
        try fields.finish()
        guard case let .array(elements) = list.value else { throw .invalidRequest("\"items\" must be a list, got \(list.kind)") }
        guard !elements.isEmpty else { throw .invalidRequest("\"items\" is empty") }
        guard elements.count <= maxItems else { throw .invalidRequest("\"items\" holds \(elements.count) items; at most \(maxItems) per request") }
        var out: [ItemUpsert] = []
        out.reserveCapacity(elements.count)
        var seen: [String: Int] = [:]
        for (i, e) in elements.enumerated() {
            var item = try JSONFields(e, context: "items[\(i)]")
            guard let id = try item.string("id") else { throw .invalidRequest("items[\(i)].id is required") }
            guard !id.isEmpty, !id.contains(where: { $0 == "\n" || $0 == "\r" }) else {
                throw ServiceError(status: 400, code: "invalid_id", message: "items[\(i)].id must be non-empty and on one line")
            }
            if let first = seen.updateValue(i, forKey: id) {
                throw ServiceError(status: 400, code: "duplicate_id", message: "id \"\(id)\" appears in items[\(first)] and items[\(i)]")
            }
            guard let vector = try item.vector("vector") else { throw .invalidRequest("items[\(i)].vector is required") }
            var attributes: Attributes = [:]
            if let a = item.take("attributes") {
                guard case .object = a.value else { throw .invalidRequest("items[\(i)].attributes must be an object, got \(a.kind)") }
                do {
                    attributes = try AttributesFile.parseObject(body[a.range], line: 0, path: "items[\(i)].attributes")
                } catch {
                    throw ServiceError(status: 400, code: "invalid_attributes", message: error.description)
                }
            }
            try item.finish()
            out.append(ItemUpsert(id: id, vector: vector, attributes: attributes))
        }
        return out
    }

    /// The body of `POST /v1/items/delete`: `{"ids": ["…", …], "ignore_missing": false}`.
    public static func delete(_ body: ArraySlice<UInt8>, maxItems: Int = 100_000) throws(ServiceError) -> WriteRequest {
        var fields = try JSONFields(try JSONNode.parse(body), context: "body")
        guard let ids = try fields.strings("ids") else { throw .invalidRequest("\"ids\" is required: a list of item ids") }
        let ignoring = try fields.bool("ignore_missing") ?? false
        try fields.finish()
        guard !ids.isEmpty else { throw .invalidRequest("\"ids\" is empty") }
        guard ids.count <= maxItems else { throw .invalidRequest("\"ids\" holds \(ids.count) ids; at most \(maxItems) per request") }
        return .delete(ids, ignoringMissing: ignoring)
    }

    // MARK: Parts

    private struct Shared {
        var k: Int?
        var probes: Int?
        var candidates: Int?
        var filter: String?
        var fields: [String]?
    }

    private static func options(_ f: inout JSONFields) throws(ServiceError) -> Shared {
        Shared(k: try f.int("k", in: 1...maxK),
               probes: try f.int("probes", in: 1...1 << 30),
               candidates: try f.int("candidates", in: 1...maxK * 1000),
               filter: try f.string("where"),
               fields: try f.strings("fields"))
    }

    private static func search(_ node: JSONNode, body: ArraySlice<UInt8>, context: String,
                               defaults: Shared = Shared()) throws(ServiceError) -> SearchRequest {
        var f = try JSONFields(node, context: context)
        let vector = try f.vector("vector")
        let id = try f.string("id")
        let o = try options(&f)
        try f.finish()
        let query: SearchQuery
        switch (vector, id) {
        case let (v?, nil): query = .vector(v)
        case let (nil, i?): query = .id(i)
        case (nil, nil): throw .invalidRequest("\(context == "body" ? "the body" : context) needs \"vector\" (a list of numbers) or \"id\" (an item's id)")
        case (_?, _?): throw .invalidRequest("\(context == "body" ? "the body" : context) has both \"vector\" and \"id\"; give one")
        }
        return SearchRequest(query: query, k: o.k ?? defaults.k ?? 10, probes: o.probes ?? defaults.probes,
                             candidates: o.candidates ?? defaults.candidates, filter: o.filter ?? defaults.filter,
                             fields: o.fields ?? defaults.fields)
    }
}
