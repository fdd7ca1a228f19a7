import HashIdx

/// The JSON of search results and of the service's answers (`docs/openapi.json` describes
/// each): the one renderer of results, for `hashidx serve` and `hashidx query --format json`
/// alike. A score is written as the shortest decimal that reads back as the same `Float`.
public enum ResponseEncoder {
    /// `{"results": [{"rank": 1, "id": "…", "score": 0.93, "attributes": {…}}, …]}`;
    /// `attributes` only when fields were asked for.
    public static func search(_ results: [SearchResult], withAttributes: Bool) -> String {
        var s = "{\"results\":"
        appendResults(results, withAttributes: withAttributes, to: &s)
        return s + "}"
    }

    /// `{"responses": [{"results": […]}, …]}`, one per query, in order.
    public static func batch(_ all: [[SearchResult]], withAttributes: Bool) -> String {
        var s = "{\"responses\":["
        for (i, r) in all.enumerated() {
            if i > 0 { s += "," }
            s += "{\"results\":"
            appendResults(r, withAttributes: withAttributes, to: &s)
            s += "}"
        }
        return s + "]}"
    }

    /// `[{"rank": 1, "id": "…", "score": 0.93, "attributes": {…}}, …]`; `attributes` (each
    /// result's own) only when `withAttributes`.
    public static func results(_ results: [SearchResult], withAttributes: Bool) -> String {
        var s = ""
        appendResults(results, withAttributes: withAttributes, to: &s)
        return s
    }

    /// `[{"rank": 1, "id": "…", "score": 0.93, "attributes": {…}}, …]`: the results of
    /// `answer`, each with the attributes of ``SearchAnswer/fields`` read from `index` (the
    /// snapshot the search ran on) as it is written.
    public static func results(_ answer: SearchAnswer, from index: Index) throws(ServiceError) -> String {
        var s = "["
        for (i, hit) in answer.results.enumerated() {
            if i > 0 { s += "," }
            s += "{\"rank\":\(i + 1),\"id\":\(JSONText.quoted(hit.id)),\"score\":\(score(hit.score))"
            if let fields = answer.fields {
                do throws(HashIdxError) {
                    s += ",\"attributes\":\(object(try index.attributes(ofRow: hit.row, fields: fields)))"
                } catch {
                    throw ServiceError(error)
                }
            }
            s += "}"
        }
        return s + "]"
    }

    /// `{"id": "…", "attributes": {…}, "vector": […]}` (`vector` when asked for).
    public static func item(id: String, attributes: Attributes, vector: [Float]?) -> String {
        var s = "{\"id\":\(JSONText.quoted(id)),\"attributes\":\(object(attributes))"
        if let vector {
            s += ",\"vector\":["
            for (i, x) in vector.enumerated() {
                if i > 0 { s += "," }
                s += "\(x)"
            }
            s += "]"
        }
        return s + "}"
    }

    /// `{"upserted"|"deleted": n, "generation": g, "count": c}`.
    public static func write(_ summary: WriteSummary) -> String {
        "{\"\(summary.kind)\":\(summary.items),\"generation\":\(summary.generation),\"count\":\(summary.count)}"
    }

    /// `text` as a JSON string literal, quoted and escaped.
    public static func string(_ text: String) -> String {
        JSONText.quoted(text)
    }

    /// `attributes` as one JSON object, keys sorted.
    public static func object(_ attributes: Attributes) -> String {
        "{" + attributes.keys.sorted().map { "\(JSONText.quoted($0)):\(attributes[$0]!)" }.joined(separator: ",") + "}"
    }

    /// A score as JSON: the shortest decimal that reads back as the same `Float` (a score is
    /// always finite).
    static func score(_ value: Float) -> String { value.description }

    private static func appendResults(_ results: [SearchResult], withAttributes: Bool, to s: inout String) {
        s += "["
        for (i, hit) in results.enumerated() {
            if i > 0 { s += "," }
            s += "{\"rank\":\(i + 1),\"id\":\(JSONText.quoted(hit.id)),\"score\":\(score(hit.score))"
            if withAttributes { s += ",\"attributes\":\(object(hit.attributes))" }
            s += "}"
        }
        s += "]"
    }
}
