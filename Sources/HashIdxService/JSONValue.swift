import HashIdx

/// A parsed JSON text, each node with the byte range it came from (so that an attributes
/// object can be handed, as text, to the library's own attribute parser).
///
/// Strict: one value, nothing after it, no repeated keys, at most ``maxDepth`` levels.
struct JSONNode: Sendable {
    enum Value: Sendable {
        case null
        case bool(Bool)
        /// A number, whether it is integral (no fraction, no exponent); its text is the
        /// node's range of the body (no `String` is made per number).
        case number(integral: Bool)
        /// A list that holds only numbers (a vector), `count` of them, kept as the text of the
        /// node's range and read by ``JSONFields/vector(_:dimension:)``: a vector of a million
        /// numbers costs its body bytes, not a node per number.
        case numbers(count: Int)
        case string(String)
        case array([JSONNode])
        case object([(key: String, value: JSONNode)])
    }

    var value: Value
    /// Where the value lies in the parsed bytes.
    var range: Range<Int>

    static let maxDepth = 32

    /// Parses `bytes` as exactly one JSON value.
    static func parse(_ bytes: ArraySlice<UInt8>) throws(ServiceError) -> JSONNode {
        var p = JSONScanner(bytes: bytes)
        p.skipSpace()
        let node = try parseValue(&p, depth: 0)
        p.skipSpace()
        guard p.atEnd else { throw malformed("unexpected text after the JSON value", at: p.offset, in: bytes) }
        return node
    }

    private static func malformed(_ why: String, at offset: Int, in bytes: ArraySlice<UInt8>) -> ServiceError {
        ServiceError(status: 400, code: "malformed_json", message: "\(why) at byte \(offset - bytes.startIndex)",
                     offset: offset - bytes.startIndex)
    }

    private static func parseValue(_ p: inout JSONScanner, depth: Int) throws(ServiceError) -> JSONNode {
        guard depth < maxDepth else { throw malformed("nested deeper than \(maxDepth) levels", at: p.offset, in: p.bytes) }
        let start = p.offset
        guard let c = p.peek else { throw malformed("expected a value, found the end of the body", at: p.offset, in: p.bytes) }
        switch c {
        case UInt8(ascii: "{"):
            _ = p.take(c)
            var members: [(key: String, value: JSONNode)] = []
            var seen = Set<String>()
            p.skipSpace()
            if !p.take(UInt8(ascii: "}")) {
                while true {
                    p.skipSpace()
                    let keyAt = p.offset
                    guard let key = p.string() else { throw malformed("expected a quoted field name", at: keyAt, in: p.bytes) }
                    guard seen.insert(key).inserted else { throw malformed("field \"\(key)\" appears twice", at: keyAt, in: p.bytes) }
                    p.skipSpace()
                    guard p.take(UInt8(ascii: ":")) else { throw malformed("expected ':' after \"\(key)\"", at: p.offset, in: p.bytes) }
                    p.skipSpace()
                    members.append((key, try parseValue(&p, depth: depth + 1)))
                    p.skipSpace()
                    if p.take(UInt8(ascii: "}")) { break }
                    guard p.take(UInt8(ascii: ",")) else { throw malformed("expected ',' or '}'", at: p.offset, in: p.bytes) }
                }
            }
            return JSONNode(value: .object(members), range: start..<p.offset)
        case UInt8(ascii: "["):
            _ = p.take(c)
            p.skipSpace()
            if p.take(UInt8(ascii: "]")) { return JSONNode(value: .array([]), range: start..<p.offset) }
            // A list of numbers only (a vector) is checked and counted, not built node by node.
            let elementsStart = p
            var count = 0
            while p.skipNumber() != nil {
                count += 1
                p.skipSpace()
                if p.take(UInt8(ascii: "]")) { return JSONNode(value: .numbers(count: count), range: start..<p.offset) }
                guard p.take(UInt8(ascii: ",")) else { throw malformed("expected ',' or ']'", at: p.offset, in: p.bytes) }
                p.skipSpace()
            }
            // Something else than a number: read the list again, node by node.
            p = elementsStart
            var elements: [JSONNode] = []
            while true {
                p.skipSpace()
                elements.append(try parseValue(&p, depth: depth + 1))
                p.skipSpace()
                if p.take(UInt8(ascii: "]")) { break }
                guard p.take(UInt8(ascii: ",")) else { throw malformed("expected ',' or ']'", at: p.offset, in: p.bytes) }
            }
            return JSONNode(value: .array(elements), range: start..<p.offset)
        case UInt8(ascii: "\""):
            guard let s = p.string() else { throw malformed("invalid string (bad escape, control character or UTF-8)", at: start, in: p.bytes) }
            return JSONNode(value: .string(s), range: start..<p.offset)
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            if p.word("true") { return JSONNode(value: .bool(true), range: start..<p.offset) }
            if p.word("false") { return JSONNode(value: .bool(false), range: start..<p.offset) }
            if p.word("null") { return JSONNode(value: .null, range: start..<p.offset) }
            throw malformed("invalid literal", at: start, in: p.bytes)
        default:
            guard let integral = p.skipNumber() else { throw malformed("expected a value", at: start, in: p.bytes) }
            return JSONNode(value: .number(integral: integral), range: start..<p.offset)
        }
    }

    /// The kind of value, for error messages.
    var kind: String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array, .numbers: "a list"
        case .object: "an object"
        }
    }

    /// The text of the node in `body` (the bytes it was parsed from).
    func text(in body: ArraySlice<UInt8>) -> String {
        String(decoding: body[range], as: UTF8.self)
    }
}

/// Reads the fields of one JSON object, and complains about the ones nobody read.
struct JSONFields {
    private var members: [String: JSONNode] = [:]
    private var order: [String] = []
    /// The bytes the object was parsed from (numbers are read from them).
    let body: ArraySlice<UInt8>
    /// Where this object sits, for messages ("items[3]").
    let context: String

    init(_ node: JSONNode, body: ArraySlice<UInt8>, context: String) throws(ServiceError) {
        guard case let .object(m) = node.value else {
            throw .invalidRequest("\(context == "body" ? "the body" : context) must be a JSON object, got \(node.kind)")
        }
        self.body = body
        self.context = context
        for (k, v) in m { members[k] = v; order.append(k) }
    }

    func name(_ key: String) -> String { context == "body" ? "\"\(key)\"" : "\(context).\(key)" }

    /// Whether the object has `key` with the value null.
    func isNull(_ key: String) -> Bool {
        guard let v = members[key] else { return false }
        if case .null = v.value { return true }
        return false
    }

    /// Whether the object has `key` with a value other than null.
    func has(_ key: String) -> Bool {
        guard let v = members[key] else { return false }
        if case .null = v.value { return false }
        return true
    }

    /// The field `key` unless it is absent or null.
    mutating func take(_ key: String) -> JSONNode? {
        guard let v = members.removeValue(forKey: key) else { return nil }
        if case .null = v.value { return nil }
        return v
    }

    mutating func string(_ key: String) throws(ServiceError) -> String? {
        guard let v = take(key) else { return nil }
        guard case let .string(s) = v.value else { throw .invalidRequest("\(name(key)) must be a string, got \(v.kind)") }
        return s
    }

    mutating func bool(_ key: String) throws(ServiceError) -> Bool? {
        guard let v = take(key) else { return nil }
        guard case let .bool(b) = v.value else { throw .invalidRequest("\(name(key)) must be true or false, got \(v.kind)") }
        return b
    }

    /// A whole number field of at least `minimum` and at most `limit.value`; above it, the
    /// error is `limit_exceeded` naming the limit (an operator's setting, not a format rule).
    mutating func int(_ key: String, minimum: Int = 1, limit: RequestLimits.Bound) throws(ServiceError) -> Int? {
        guard let v = take(key) else { return nil }
        let text = v.text(in: body)
        guard case let .number(integral) = v.value else {
            throw .invalidRequest("\(name(key)) must be a whole number, got \(v.kind)")
        }
        guard integral else { throw .invalidRequest("\(name(key)) must be a whole number, got \(Self.clipped(text))") }
        // Digits beyond Int's range are above every limit.
        guard let i = Int(text) else {
            if text.hasPrefix("-") { throw .invalidRequest("\(name(key)) must be at least \(minimum), got \(Self.clipped(text))") }
            throw limit.exceeded(by: Self.clipped(text), field: name(key))
        }
        guard i >= minimum else { throw .invalidRequest("\(name(key)) must be at least \(minimum), got \(i)") }
        guard i <= limit.value else { throw limit.exceeded(by: String(i), field: name(key)) }
        return i
    }

    /// The smallest magnitude that rounds to infinity as a 32-bit float: 2^128 − 2^103.
    static let float32Overflow = 0x1p128 - 0x1p103

    /// Long number texts cut for a message.
    private static func clipped(_ text: String) -> String {
        text.count <= 40 ? text : String(text.prefix(40)) + "…"
    }

    mutating func strings(_ key: String) throws(ServiceError) -> [String]? {
        guard let v = take(key) else { return nil }
        if case .numbers = v.value { throw .invalidRequest("\(name(key)) must be a list of strings; it holds a number") }
        guard case let .array(elements) = v.value else { throw .invalidRequest("\(name(key)) must be a list of strings, got \(v.kind)") }
        var out: [String] = []
        out.reserveCapacity(elements.count)
        for e in elements {
            guard case let .string(s) = e.value else { throw .invalidRequest("\(name(key)) must be a list of strings; it holds \(e.kind)") }
            out.append(s)
        }
        return out
    }

    /// A non-empty list of finite 32-bit numbers (a vector). With `dimension`, a list of
    /// another length is `dimension_mismatch` before any number is converted.
    mutating func vector(_ key: String, dimension: Int? = nil) throws(ServiceError) -> [Float]? {
        guard let v = take(key) else { return nil }
        let count: Int
        switch v.value {
        case let .numbers(n): count = n
        case let .array(elements):
            guard let bad = elements.firstIndex(where: { if case .number = $0.value { false } else { true } }) else {
                throw .invalidRequest("\(name(key)) must not be empty: a vector has at least one number")
            }
            throw .invalidRequest("\(name(key))[\(bad)] must be a number, got \(elements[bad].kind)")
        default:
            throw .invalidRequest("\(name(key)) must be a list of numbers, got \(v.kind)")
        }
        if let dimension, count != dimension {
            throw ServiceError(status: 400, code: "dimension_mismatch",
                               message: "\(name(key)) has \(count) values but the index has dimension \(dimension)")
        }
        var out: [Float] = []
        out.reserveCapacity(count)
        var p = JSONScanner(bytes: body[v.range])
        _ = p.take(UInt8(ascii: "["))
        for i in 0..<count {
            p.skipSpace()
            let start = p.offset
            _ = p.skipNumber()
            let text = String(decoding: body[start..<p.offset], as: UTF8.self)
            // Finite as a 32-bit float: below 2^128 − 2^103, judged on the number's double
            // value as JSON Schema validators judge it (a decimal within a hair of that bound
            // is refused rather than rounded down).
            guard let x = Float(text), x.isFinite, let d = Double(text), d.magnitude < Self.float32Overflow else {
                throw ServiceError(status: 400, code: "non_finite_value",
                                   message: "\(name(key))[\(i)] = \(Self.clipped(text)) is beyond the range of a 32-bit float")
            }
            out.append(x)
            p.skipSpace()
            _ = p.take(UInt8(ascii: ","))
        }
        return out
    }

    /// Throws for a field that was not read: a misspelt option must not be ignored.
    func finish() throws(ServiceError) {
        let left = order.filter { members[$0] != nil }
        guard let first = left.first else { return }
        throw .invalidRequest("unknown field \(name(first))")
    }
}
