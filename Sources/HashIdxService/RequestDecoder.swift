import HashIdx

/// Turns request bodies (JSON bytes) into requests, or into a ``ServiceError`` that names the
/// problem: malformed JSON (with the byte offset), a missing, mistyped or unknown field, a
/// number that is not finite, a count above the operator's ``RequestLimits``.
///
/// Every reader is bounded: JSON nests at most 32 levels, a vector costs its body bytes and
/// one `Float` a value (with `dimension`, a vector of another length is refused before any
/// value is converted), and lists are checked against the limits before they are built into
/// requests. Filters and ids are checked later, against the index.
public enum RequestDecoder {
    /// The body of `POST /v1/search`.
    public static func search(_ body: ArraySlice<UInt8>, limits: RequestLimits = RequestLimits(),
                              dimension: Int? = nil) throws(ServiceError) -> SearchRequest {
        try search(try JSONNode.parse(body), body: body, context: "body", limits: limits, dimension: dimension)
    }

    /// The body of `POST /v1/search/batch`: `{"queries": [ {…}, … ]}`, each element a
    /// search body; fields given beside `queries` (`k`, `probes`, `candidates`, `where`,
    /// `fields`) apply to every query that does not set its own. The sum of `k` over the
    /// queries is bounded by ``RequestLimits/maxResultsPerBatch``.
    public static func batchSearch(_ body: ArraySlice<UInt8>, limits: RequestLimits = RequestLimits(),
                                   dimension: Int? = nil) throws(ServiceError) -> [SearchRequest] {
        var fields = try JSONFields(try JSONNode.parse(body), body: body, context: "body")
        guard let list = fields.take("queries") else { throw .invalidRequest("\"queries\" is required: a list of searches") }
        let elements: [JSONNode]
        switch list.value {
        case let .array(e): elements = e
        case .numbers: throw .invalidRequest("\"queries\" must be a list of searches (objects); it holds numbers")
        default: throw .invalidRequest("\"queries\" must be a list, got \(list.kind)")
        }
        guard !elements.isEmpty else { throw .invalidRequest("\"queries\" is empty") }
        try limits.queries.check(elements.count, field: "the number of \"queries\"")
        let shared = try options(&fields, limits: limits)
        try fields.finish()
        var out: [SearchRequest] = []
        out.reserveCapacity(elements.count)
        var results = 0
        for (i, e) in elements.enumerated() {
            let r = try search(e, body: body, context: "queries[\(i)]", limits: limits, dimension: dimension, defaults: shared)
            results += r.k
            out.append(r)
        }
        try limits.results.check(results, field: "the sum of k over the queries")
        return out
    }

    /// The body of `PUT /v1/items`: `{"items": [{"id": "…", "vector": […], "attributes": {…}}, …]}`.
    /// Ids are checked as the library checks them (``IDList/check(_:)``) and compared as
    /// bytes: an id twice in one request is `duplicate_id`.
    public static func upsert(_ body: ArraySlice<UInt8>, limits: RequestLimits = RequestLimits(),
                              dimension: Int? = nil) throws(ServiceError) -> [IndexItem] {
        var fields = try JSONFields(try JSONNode.parse(body), body: body, context: "body")
        guard let list = fields.take("items") else { throw .invalidRequest("\"items\" is required: a list of {\"id\", \"vector\", \"attributes\"}") }
        try fields.finish()
        let elements: [JSONNode]
        switch list.value {
        case let .array(e): elements = e
        case .numbers: throw .invalidRequest("\"items\" must be a list of items (objects); it holds numbers")
        default: throw .invalidRequest("\"items\" must be a list, got \(list.kind)")
        }
        guard !elements.isEmpty else { throw .invalidRequest("\"items\" is empty") }
        try limits.items.check(elements.count, field: "the number of \"items\"")
        var out: [IndexItem] = []
        out.reserveCapacity(elements.count)
        var seen: [IDKey: Int] = [:]
        for (i, e) in elements.enumerated() {
            var item = try JSONFields(e, body: body, context: "items[\(i)]")
            guard let id = try item.string("id") else { throw .invalidRequest("items[\(i)].id is required") }
            if let reason = IDList.check(id) {
                throw ServiceError(status: 400, code: "invalid_id", message: "items[\(i)].id: \(reason)")
            }
            if let first = seen.updateValue(i, forKey: IDKey(id)) {
                throw ServiceError(status: 400, code: "duplicate_id", message: "id \"\(id)\" appears in items[\(first)] and items[\(i)]")
            }
            guard let vector = try item.vector("vector", dimension: dimension) else { throw .invalidRequest("items[\(i)].vector is required") }
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
            out.append(IndexItem(id: id, vector: vector, attributes: attributes))
        }
        return out
    }

    /// The body of `POST /v1/items:delete`: `{"ids": ["…", …], "ignore_missing": false}`.
    /// An id given twice is deleted once (ids compare as bytes).
    public static func delete(_ body: ArraySlice<UInt8>, limits: RequestLimits = RequestLimits()) throws(ServiceError) -> WriteRequest {
        var fields = try JSONFields(try JSONNode.parse(body), body: body, context: "body")
        guard let ids = try fields.strings("ids") else { throw .invalidRequest("\"ids\" is required: a list of item ids") }
        let ignoring = try fields.bool("ignore_missing") ?? false
        try fields.finish()
        guard !ids.isEmpty else { throw .invalidRequest("\"ids\" is empty") }
        try limits.items.check(ids.count, field: "the number of \"ids\"")
        var seen = Set<IDKey>()
        return .delete(ids.filter { seen.insert(IDKey($0)).inserted }, ignoringMissing: ignoring)
    }

    // MARK: Parts

    private struct Shared {
        var k: Int?
        var probes: Int?
        var candidates: Int?
        var filter: String?
        var fields: [String]?
    }

    private static func options(_ f: inout JSONFields, limits: RequestLimits) throws(ServiceError) -> Shared {
        Shared(k: try f.int("k", limit: limits.k),
               probes: try f.int("probes", limit: limits.probes),
               candidates: try f.int("candidates", limit: limits.candidates),
               filter: try f.string("where"),
               fields: try f.strings("fields"))
    }

    private static func search(_ node: JSONNode, body: ArraySlice<UInt8>, context: String, limits: RequestLimits,
                               dimension: Int?, defaults: Shared = Shared()) throws(ServiceError) -> SearchRequest {
        var f = try JSONFields(node, body: body, context: context)
        let where_ = context == "body" ? "the body" : context
        // The query is not optional: null is not a vector or an id.
        for key in ["vector", "id"] where f.isNull(key) {
            throw .invalidRequest("\(f.name(key)) must be \(key == "id" ? "an item's id" : "a list of numbers"), got null")
        }
        let hasVector = f.has("vector"), hasID = f.has("id")
        switch (hasVector, hasID) {
        case (false, false): throw .invalidRequest("\(where_) needs \"vector\" (a list of numbers) or \"id\" (an item's id)")
        case (true, true): throw .invalidRequest("\(where_) has both \"vector\" and \"id\"; give one")
        default: break
        }
        let query: SearchQuery
        if hasVector {
            query = .vector(try f.vector("vector", dimension: dimension)!)
        } else {
            let id = try f.string("id")!
            guard !id.isEmpty else { throw ServiceError(status: 400, code: "invalid_id", message: "\(f.name("id")) is empty") }
            query = .id(id)
        }
        let o = try options(&f, limits: limits)
        try f.finish()
        return SearchRequest(query: query, k: o.k ?? defaults.k ?? 10, probes: o.probes ?? defaults.probes,
                             candidates: o.candidates ?? defaults.candidates, filter: o.filter ?? defaults.filter,
                             fields: o.fields ?? defaults.fields)
    }
}
