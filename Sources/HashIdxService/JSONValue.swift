import HashIdx

/// A parsed JSON text, each node with the byte range it came from (so that an attributes
/// object can be handed, as text, to the library's own attribute parser).
///
/// Strict: one value, nothing after it, no repeated keys, at most ``maxDepth`` levels.
struct JSONNode: Sendable {
    enum Value: Sendable {
        case null
        case bool(Bool)
        /// A number's text and whether it is integral (no fraction, no exponent).
        case number(String, integral: Bool)
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
            var elements: [JSONNode] = []
            p.skipSpace()
            if !p.take(UInt8(ascii: "]")) {
                while true {
                    p.skipSpace()
                    elements.append(try parseValue(&p, depth: depth + 1))
                    p.skipSpace()
                    if p.take(UInt8(ascii: "]")) { break }
                    guard p.take(UInt8(ascii: ",")) else { throw malformed("expected ',' or ']'", at: p.offset, in: p.bytes) }
                }
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
            guard let (text, integral) = p.number() else { throw malformed("expected a value", at: start, in: p.bytes) }
            return JSONNode(value: .number(text, integral: integral), range: start..<p.offset)
        }
    }

    /// The kind of value, for error messages.
    var kind: String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "a list"
        case .object: "an object"
        }
    }
}

/// Reads the fields of one JSON object, and complains about the ones nobody read.
struct JSONFields {
    private var members: [String: JSONNode] = [:]
    private var order: [String] = []
    /// Where this object sits, for messages ("items[3]").
    let context: String

    init(_ node: JSONNode, context: String) throws(ServiceError) {
        guard case let .object(m) = node.value else {
            throw .invalidRequest("\(context) must be a JSON object, got \(node.kind)")
        }
        self.context = context
        for (k, v) in m { members[k] = v; order.append(k) }
    }

    private func name(_ key: String) -> String { context == "body" ? "\"\(key)\"" : "\(context).\(key)" }

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

    /// An integer field within `range`.
    mutating func int(_ key: String, in range: ClosedRange<Int>) throws(ServiceError) -> Int? {
        guard let v = take(key) else { return nil }
        guard case let .number(text, integral) = v.value, integral, let i = Int(text) else {
            throw .invalidRequest("\(name(key)) must be a whole number, got \(v.kind == "a number" ? "a fraction" : v.kind)")
        }
        guard range.contains(i) else {
            throw .invalidRequest("\(name(key)) must be within \(range.lowerBound)…\(range.upperBound), got \(i)")
        }
        return i
    }

    mutating func strings(_ key: String) throws(ServiceError) -> [String]? {
        guard let v = take(key) else { return nil }
        guard case let .array(elements) = v.value else { throw .invalidRequest("\(name(key)) must be a list of strings, got \(v.kind)") }
        var out: [String] = []
        out.reserveCapacity(elements.count)
        for e in elements {
            guard case let .string(s) = e.value else { throw .invalidRequest("\(name(key)) must be a list of strings; it holds \(e.kind)") }
            out.append(s)
        }
        return out
    }

    /// A list of finite numbers (a vector).
    mutating func vector(_ key: String) throws(ServiceError) -> [Float]? {
        guard let v = take(key) else { return nil }
        guard case let .array(elements) = v.value else { throw .invalidRequest("\(name(key)) must be a list of numbers, got \(v.kind)") }
        var out: [Float] = []
        out.reserveCapacity(elements.count)
        for (i, e) in elements.enumerated() {
            guard case let .number(text, _) = e.value, let x = Float(text) else {
                throw .invalidRequest("\(name(key))[\(i)] must be a number, got \(e.kind)")
            }
            guard x.isFinite else {
                throw ServiceError(status: 400, code: "non_finite_value", message: "\(name(key))[\(i)] = \(text) is beyond the range of a 32-bit float")
            }
            out.append(x)
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
