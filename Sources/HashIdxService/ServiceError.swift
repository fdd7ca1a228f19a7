import HashIdx

/// A request the service cannot carry out, with the HTTP status and the stable `code` that
/// clients can branch on; `message` says what to do.
///
/// The JSON form (``json``) is the error body of every route:
/// `{"error": {"code": "invalid_filter", "message": "…", "offset": 12}}`.
public struct ServiceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The HTTP status: 400, 401, 403, 404, 413, 503 or 500.
    public var status: Int
    /// A stable machine-readable name of the problem (the `code`s in `docs/openapi.json`).
    public var code: String
    /// One line for a person.
    public var message: String
    /// For ``code`` `malformed_json`, the byte offset in the body; for `invalid_filter`,
    /// the character offset in the filter.
    public var offset: Int?

    /// Creates an error.
    public init(status: Int, code: String, message: String, offset: Int? = nil) {
        self.status = status
        self.code = code
        self.message = Self.clipped(message)
        self.offset = offset
    }

    /// The longest message, in characters: a message quotes what the client sent (an id, a
    /// field name, a filter), and an error answer must not grow with the request.
    public static let maximumMessageLength = 1000

    /// `message`, cut to ``maximumMessageLength`` characters with `…` where it was cut (in its
    /// middle, so that the start and the end, which say what to do, stay).
    static func clipped(_ message: String) -> String {
        guard message.count > maximumMessageLength else { return message }
        let keep = maximumMessageLength / 2 - 1
        return String(message.prefix(keep)) + " … " + String(message.suffix(keep))
    }

    public var description: String { "\(status) \(code): \(message)" }

    /// The error body.
    public var json: String {
        var s = "{\"error\":{\"code\":\(JSONText.quoted(code)),\"message\":\(JSONText.quoted(message))"
        if let offset { s += ",\"offset\":\(offset)" }
        return s + "}}"
    }

    /// The error with `place` before its message (`queries[3]: …`).
    public func `in`(_ place: String) -> ServiceError {
        var e = self
        e.message = Self.clipped(place + ": " + message)
        return e
    }

    /// A request body that is not what the route takes (a missing or mistyped field).
    public static func invalidRequest(_ message: String) -> ServiceError {
        ServiceError(status: 400, code: "invalid_request", message: message)
    }

    /// An error of the library, as the client should see it.
    public init(_ error: HashIdxError) {
        switch error {
        case let .dimensionMismatch(expected, actual, _):
            self.init(status: 400, code: "dimension_mismatch",
                      message: "the vector has \(actual) values but the index has dimension \(expected)")
        case .nonFiniteValue, .nonFiniteQuery:
            self.init(status: 400, code: "non_finite_value", message: "a vector holds NaN or an infinite value")
        case .zeroVector:
            self.init(status: 400, code: "zero_vector", message: "a vector is all zeros, so its cosine similarity is undefined")
        case let .invalidArgument(name, reason):
            self.init(status: 400, code: "invalid_argument", message: "\(name): \(reason)")
        case let .invalidFilter(expression, offset, reason):
            self.init(status: 400, code: "invalid_filter",
                      message: "\(reason) (in \"\(HashIdxError.excerpt(of: expression, around: offset).text)\")", offset: offset)
        case let .invalidAttributes(_, _, reason):
            self.init(status: 400, code: "invalid_attributes", message: reason)
        case let .duplicateID(_, id, _, _):
            self.init(status: 400, code: "duplicate_id", message: "id \"\(id)\" appears twice (or is already an item: use PUT /v1/items, which replaces)")
        case let .duplicateIDInMemory(_, id, _, _):
            self.init(status: 400, code: "duplicate_id", message: "id \"\(id)\" appears twice")
        case let .idExists(id):
            self.init(status: 400, code: "duplicate_id", message: "id \"\(id)\" is already an item: use PUT /v1/items, which replaces")
        case let .invalidID(_, _, reason):
            self.init(status: 400, code: "invalid_id", message: reason)
        case let .unknownID(id):
            self.init(status: 404, code: "unknown_id", message: "id \"\(id)\" is not in the index")
        case let .io(_, reason) where reason.contains("lock"):
            self.init(status: 503, code: "index_busy", message: "\(reason); retry when the other writer is done")
        case .io, .unknownFormat, .malformedInput, .emptyInput, .idCountMismatch, .notAnIndex,
             .corruptIndex, .unsupportedVersion:
            self.init(status: 500, code: "internal", message: error.description)
        }
    }
}
