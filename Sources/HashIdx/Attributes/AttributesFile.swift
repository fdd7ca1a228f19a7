/// Reads attributes from a JSON-lines file: line `i` holds the attributes of row `i` as one
/// JSON object, e.g.
///
///     {"category": "dress", "price": 49.5, "in_stock": true, "tags": ["summer", "linen"]}
///
/// Values: a string, a list of strings (tags), a number (integer when it has no fraction or
/// exponent), `true`/`false`, or `null` (the same as leaving the key out). An empty line or
/// `{}` is a row without attributes. Anything else — nested objects, lists of numbers,
/// invalid JSON, a repeated key — is an error naming the line and the place in it.
///
/// **Keyed by id**: when the lines carry the item's id under ``idKey`` (`"_id": "sku-17"`),
/// they are matched to rows by id instead of by order: then every line that holds attributes
/// needs one, in any order, each id at most once; items without a line have no attributes.
public enum AttributesFile {
    /// The key that names a line's item in a file keyed by id (not stored as an attribute).
    public static let idKey = "_id"

    /// The table of the file at `path`, one row per item. `rows`, when given, is the number of
    /// rows (the vectors'): a file in row order must have exactly that many lines. `ids` are
    /// the items' ids in row order, for a file keyed by id (`nil`: the ids are the row
    /// numbers, as text).
    public static func read(path: String, rows: Int? = nil, ids: [String]? = nil) throws(HashIdxError) -> AttributeTable {
        try parse(try readAll(path), source: path, rows: rows, ids: ids)
    }

    /// The table of JSON lines held in memory, as ``read(path:rows:ids:)`` reads a file;
    /// `source` names them in errors (with 1-based lines).
    public static func parse(_ bytes: [UInt8], source path: String, rows: Int? = nil, ids: [String]? = nil) throws(HashIdxError) -> AttributeTable {
        var table = AttributeTable()
        var keys: [(id: String, line: Int)?] = []
        var line = 0
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            line += 1
            var slice = bytes[start..<end]
            if slice.last == UInt8(ascii: "\r") { slice = slice.dropLast() }
            var row = try parseObject(slice, line: line, path: path)
            switch row.removeValue(forKey: idKey) {
            case let .string(id)?: keys.append((id, line))
            case let .integer(i)?: keys.append((String(i), line))
            case nil: keys.append(nil)
            case let other?:
                throw .invalidAttributes(path: path, line: line, reason: "\"\(idKey)\" must be the item's id (a string), not \(other)")
            }
            try table.append(row, line: line, source: path)
            start = end + 1
        }
        guard keys.contains(where: { $0 != nil }) else {
            if let rows, table.count != rows {
                throw .invalidAttributes(path: path, line: 0, reason: "holds \(table.count) lines but the vectors have \(rows) rows; give one JSON object per row, in row order, or key each line by its item's id (\"\(idKey)\")")
            }
            return table
        }
        // Keyed by id: the line of each row (the extra empty row at the end for rows without).
        let n = ids?.count ?? rows ?? 0
        var rowOf: [IDKey: Int] = [:]
        for r in 0..<n { rowOf[IDKey(ids?[r] ?? String(r))] = r }
        var lineOf = [Int](repeating: table.count, count: n)
        var seen: [IDKey: Int] = [:]
        for (i, key) in keys.enumerated() {
            guard let key else {
                if table[i].isEmpty { continue }   // an empty line or {}: nothing to key
                throw .invalidAttributes(path: path, line: i + 1, reason: "has no \"\(idKey)\" while other lines are keyed by id; key every line, or none")
            }
            guard let r = rowOf[IDKey(key.id)] else {
                throw .invalidAttributes(path: path, line: key.line, reason: "\"\(idKey)\": no item has the id \"\(key.id)\"")
            }
            if let first = seen[IDKey(key.id)] {
                throw .invalidAttributes(path: path, line: key.line, reason: "\"\(idKey)\": \"\(key.id)\" already has the attributes of line \(first)")
            }
            seen[IDKey(key.id)] = key.line
            lineOf[r] = i
        }
        try table.append([:], line: line + 1, source: path)
        return table.gathering(lineOf)
    }

    /// The attributes of one line (`{}` for an empty one).
    package static func parseObject(_ text: ArraySlice<UInt8>, line: Int, path: String) throws(HashIdxError) -> Attributes {
        var p = JSONScanner(bytes: text)
        func bad(_ why: String) -> HashIdxError {
            .invalidAttributes(path: path, line: line, reason: "\(why) at column \(p.offset - text.startIndex + 1)")
        }
        p.skipSpace()
        if p.atEnd { return [:] }
        guard p.take(UInt8(ascii: "{")) else { throw bad("expected a JSON object ({…})") }
        var out: Attributes = [:]
        p.skipSpace()
        if !p.take(UInt8(ascii: "}")) {
            while true {
                p.skipSpace()
                guard let key = p.string() else { throw bad("expected a quoted attribute name") }
                p.skipSpace()
                guard p.take(UInt8(ascii: ":")) else { throw bad("expected ':' after \"\(key)\"") }
                p.skipSpace()
                guard out[key] == nil else { throw bad("\"\(key)\" appears twice") }
                switch p.peek {
                case UInt8(ascii: "\""):
                    guard let s = p.string() else { throw bad("invalid string for \"\(key)\"") }
                    out[key] = .string(s)
                case UInt8(ascii: "["):
                    _ = p.take(UInt8(ascii: "["))
                    var tags: [String] = []
                    p.skipSpace()
                    if !p.take(UInt8(ascii: "]")) {
                        while true {
                            p.skipSpace()
                            guard let s = p.string() else { throw bad("\"\(key)\": lists may hold only strings (tags)") }
                            tags.append(s)
                            p.skipSpace()
                            if p.take(UInt8(ascii: "]")) { break }
                            guard p.take(UInt8(ascii: ",")) else { throw bad("expected ',' or ']' in the list of \"\(key)\"") }
                        }
                    }
                    out[key] = .tags(tags)
                case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                    if p.word("true") { out[key] = .boolean(true) }
                    else if p.word("false") { out[key] = .boolean(false) }
                    else if p.word("null") { /* null: absent */ }
                    else { throw bad("invalid value for \"\(key)\"") }
                case UInt8(ascii: "{"):
                    throw bad("\"\(key)\": nested objects are not supported; flatten them (\"\(key).field\")")
                default:
                    guard let (text, integral) = p.number() else { throw bad("invalid value for \"\(key)\"") }
                    if integral {
                        guard let i = Int64(text), abs(i) <= AttributeValue.integerLimit else {
                            throw bad("\"\(key)\": \(text) is beyond ±2^53; store it as a string")
                        }
                        out[key] = .integer(i)
                    } else if let x = Double(text), x.isFinite {
                        out[key] = .float(x)
                    } else {
                        throw bad("\"\(key)\": \(text) is not a finite number")
                    }
                }
                p.skipSpace()
                if p.take(UInt8(ascii: "}")) { break }
                guard p.take(UInt8(ascii: ",")) else { throw bad("expected ',' or '}'") }
            }
        }
        p.skipSpace()
        guard p.atEnd else { throw bad("unexpected text after the object") }
        return out
    }

    private static func readAll(_ path: String) throws(HashIdxError) -> [UInt8] {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch {
            throw .io(path: path, reason: "cannot read the attributes file: \(error)")
        }
        return Array(file.bytes)
    }
}

/// A cursor over the bytes of one JSON text: what ``AttributesFile`` and the service's request
/// decoder (HashIdxService) need.
package struct JSONScanner {
    package let bytes: ArraySlice<UInt8>
    package private(set) var offset: Int

    package init(bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        offset = bytes.startIndex
    }

    package var atEnd: Bool { offset >= bytes.endIndex }
    package var peek: UInt8? { atEnd ? nil : bytes[offset] }

    package mutating func skipSpace() {
        while let c = peek, c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A { offset += 1 }
    }

    package mutating func take(_ c: UInt8) -> Bool {
        guard peek == c else { return false }
        offset += 1
        return true
    }

    /// Consumes `w` if the text continues with it.
    package mutating func word(_ w: StaticString) -> Bool {
        let n = w.utf8CodeUnitCount
        guard bytes.endIndex - offset >= n else { return false }
        for i in 0..<n where bytes[offset + i] != w.utf8Start[i] { return false }
        offset += n
        return true
    }

    /// A JSON number's text and whether it is integral (no fraction, no exponent).
    package mutating func number() -> (String, Bool)? {
        let start = offset
        guard let integral = skipNumber() else { return nil }
        return (String(decoding: bytes[start..<offset], as: UTF8.self), integral)
    }

    /// Moves past a JSON number without making its text; returns whether it is integral, or
    /// `nil` (cursor unchanged) when no number starts here.
    package mutating func skipNumber() -> Bool? {
        let start = offset
        var integral = true
        _ = take(UInt8(ascii: "-"))
        guard let first = peek, first >= 0x30 && first <= 0x39 else { offset = start; return nil }
        if first == 0x30 { offset += 1 } else { while let c = peek, c >= 0x30 && c <= 0x39 { offset += 1 } }
        if take(UInt8(ascii: ".")) {
            integral = false
            guard let c = peek, c >= 0x30 && c <= 0x39 else { offset = start; return nil }
            while let c = peek, c >= 0x30 && c <= 0x39 { offset += 1 }
        }
        if let e = peek, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            integral = false
            offset += 1
            if let s = peek, s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { offset += 1 }
            guard let c = peek, c >= 0x30 && c <= 0x39 else { offset = start; return nil }
            while let c = peek, c >= 0x30 && c <= 0x39 { offset += 1 }
        }
        return integral
    }

    /// A JSON string literal, unescaped; `nil` (cursor unspecified) when invalid.
    package mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        var out: [UInt8] = []
        while let c = peek {
            offset += 1
            switch c {
            case UInt8(ascii: "\""):
                guard let s = String(validating: out, as: UTF8.self) else { return nil }
                return s
            case UInt8(ascii: "\\"):
                guard let e = peek else { return nil }
                offset += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    if scalar >= 0xD800 && scalar < 0xDC00 {   // a surrogate pair
                        guard take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")), let low = hex4(),
                              low >= 0xDC00 && low < 0xE000 else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { return nil }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default: return nil
                }
            default:
                guard c >= 0x20 else { return nil }   // control characters must be escaped
                out.append(c)
            }
        }
        return nil
    }

    private mutating func hex4() -> UInt32? {
        guard bytes.endIndex - offset >= 4 else { return nil }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[offset]
            offset += 1
            switch c {
            case 0x30...0x39: v = v << 4 | UInt32(c - 0x30)
            case 0x41...0x46: v = v << 4 | UInt32(c - 0x41 + 10)
            case 0x61...0x66: v = v << 4 | UInt32(c - 0x61 + 10)
            default: return nil
            }
        }
        return v
    }
}
