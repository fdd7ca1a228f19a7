/// The attributes of a run of items, one per row of the vectors they go with, held by
/// column: what a build or an add stores beside the vectors.
///
/// Every key has one ``AttributeType`` (``schema``); a key's values are checked against it
/// as they are added, so a table is always consistent. Read one from a JSON-lines file with
/// ``AttributesFile/read(path:rows:ids:)``.
public struct AttributeTable: Sendable, Equatable {
    /// Rows (items) in the table.
    public private(set) var count: Int = 0
    /// The type of every key that any row has.
    public private(set) var schema: [String: AttributeType] = [:]
    /// Per key, one value per row (`nil`: the row does not have the key).
    private(set) var columns: [String: [AttributeValue?]] = [:]

    /// An empty table.
    public init() {}

    /// A table of `rows`, in order. Throws ``HashIdxError/invalidAttributes(path:line:reason:)``
    /// naming the 0-based row when two rows give one key values of different types (integers
    /// and floats mix, as floats), or for an invalid value (see ``append(_:line:source:)``).
    public init(rows: [Attributes]) throws(HashIdxError) {
        for row in rows { try append(row) }
    }

    /// `count` rows with no attributes.
    init(empty count: Int) { self.count = count }

    /// Appends one row given in memory; errors name it by its 0-based row (the table's
    /// ``count`` before the append), as `attributes: row 3: …`.
    ///
    /// ```swift
    /// var table = AttributeTable()
    /// try table.append(["category": "dress", "price": 49.5, "in_stock": true])
    /// ```
    public mutating func append(_ row: Attributes) throws(HashIdxError) {
        try append(row, at: .row(count), source: "attributes")
    }

    /// Appends one row read from line `line` (1-based) of the file `source`, which name it in
    /// errors.
    public mutating func append(_ row: Attributes, line: Int, source: String) throws(HashIdxError) {
        try append(row, at: .line(line), source: source)
    }

    /// Where a row came from, as errors name it: a 1-based line of a file, or a 0-based row
    /// of values given in memory.
    enum Place {
        case line(Int)
        case row(Int)

        /// ``HashIdxError/invalidAttributes(path:line:reason:)`` for this place in `source`.
        func error(_ source: String, _ reason: String) -> HashIdxError {
            switch self {
            case let .line(line): .invalidAttributes(path: source, line: line, reason: reason)
            case let .row(row): .invalidAttributes(path: source, line: 0, reason: "row \(row): \(reason)")
            }
        }
    }

    /// Appends one row from `place` in `source`.
    mutating func append(_ row: Attributes, at place: Place, source: String) throws(HashIdxError) {
        for (key, value) in row {
            try Self.check(key: key, value: value, at: place, source: source)
            if let known = schema[key] {
                if known == .integer && value.type == .float {
                    schema[key] = .float
                    columns[key] = columns[key]!.map { $0.map(Self.widened) }
                } else if !known.accepts(value.type) {
                    throw place.error(source, "\"\(key)\" is \(value.type.withArticle) here but \(known.withArticle) in earlier rows")
                }
            } else {
                schema[key] = value.type
                columns[key] = [AttributeValue?](repeating: nil, count: count)
            }
        }
        for key in schema.keys {
            var v = row[key]
            if schema[key] == .float, let x = v { v = Self.widened(x) }
            columns[key]!.append(v)
        }
        count += 1
    }

    /// The attributes of row `row`.
    public subscript(row: Int) -> Attributes {
        var out: Attributes = [:]
        for (key, values) in columns { if let v = values[row] { out[key] = v } }
        return out
    }

    /// The rows in `range`, in order.
    public func rows(_ range: Range<Int>) -> AttributeTable { gathering(range) }

    /// The values of `key`, one per row (`nil` where absent); `nil` for a key no row has.
    func column(_ key: String) -> [AttributeValue?]? { columns[key] }

    /// The rows at `rows`, in that order.
    func gathering(_ rows: some Sequence<Int>) -> AttributeTable {
        var out = AttributeTable()
        out.schema = schema
        let list = Array(rows)
        out.count = list.count
        for (key, values) in columns { out.columns[key] = list.map { values[$0] } }
        return out
    }

    /// This table followed by `other`'s rows (keys either lacks are null there). The types
    /// must agree (integer widens to float); throws otherwise, naming `source`.
    func appending(_ other: AttributeTable, source: String) throws(HashIdxError) -> AttributeTable {
        var out = self
        for i in 0..<other.count { try out.append(other[i], at: .row(i), source: source) }
        return out
    }

    /// Checks `other`'s types against `schema` (an index's): throws naming the first key whose
    /// type differs (an integer may go into a float key; a float never into an integer key).
    func check(against schema: [String: AttributeType], source: String) throws(HashIdxError) {
        for (key, type) in self.schema.sorted(by: { $0.key < $1.key }) {
            guard let known = schema[key] else { continue }
            if !known.accepts(type) {
                let row = columns[key]!.firstIndex { $0 != nil && !known.accepts($0!.type) } ?? 0
                throw Place.row(row).error(source, "\"\(key)\" is \(type.withArticle) here but \(known.withArticle) in the index")
            }
        }
    }

    /// This table with every key's values widened to the types of `schema` (integers in a
    /// float key become floats).
    func conformed(to schema: [String: AttributeType]) -> AttributeTable {
        var out = self
        for (key, type) in schema where type == .float && out.schema[key] == .integer {
            out.schema[key] = .float
            out.columns[key] = out.columns[key]!.map { $0.map(Self.widened) }
        }
        return out
    }

    private static func widened(_ v: AttributeValue) -> AttributeValue {
        if case let .integer(i) = v { return .float(Double(i)) }
        return v
    }

    /// Words of the filter language (``Filter``), which cannot name an attribute.
    static let reservedNames: Set<String> = ["and", "or", "not", "in", "contains", "is", "null", "true", "false"]

    /// The rules every key and value follow.
    static func check(key: String, value: AttributeValue, at place: Place, source: String) throws(HashIdxError) {
        func bad(_ why: String) -> HashIdxError { place.error(source, why) }
        guard !key.isEmpty, key.utf8.count <= 255 else { throw bad("attribute names must be 1…255 bytes, got \"\(key)\"") }
        guard key.unicodeScalars.allSatisfy({ $0 == "_" || $0 == "-" || $0 == "." || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }),
              let first = key.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else {
            throw bad("attribute name \"\(key)\" must start with a letter or _ and hold only letters, digits, _, - and . (so that filters can name it)")
        }
        guard !reservedNames.contains(key.lowercased()) else {
            throw bad("\"\(key)\" is a filter keyword and cannot name an attribute")
        }
        guard key != AttributesFile.idKey else {
            throw bad("\"\(key)\" names the item in attribute files (keyed by id) and cannot name an attribute")
        }
        switch value {
        case let .integer(i):
            guard abs(i) <= AttributeValue.integerLimit else { throw bad("\"\(key)\": \(i) is beyond ±2^53; store it as a string") }
        case let .float(x):
            guard x.isFinite else { throw bad("\"\(key)\": numbers must be finite") }
        case let .string(s):
            guard s.utf8.count <= 65_535 else { throw bad("\"\(key)\": strings are limited to 65,535 bytes") }
        case let .tags(t):
            guard t.count <= 65_535, t.allSatisfy({ $0.utf8.count <= 65_535 }) else {
                throw bad("\"\(key)\": at most 65,535 tags of at most 65,535 bytes each")
            }
        case .boolean: break
        }
    }
}
