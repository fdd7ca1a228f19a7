/// The attribute section of a shard (docs/FORMAT.md §3.4): one column per attribute name,
/// indexed by position like every per-row section, read in place from the memory map.
///
/// Strings and tags are dictionary-encoded, with a posting list (the ascending positions) per
/// dictionary value, so that `category = "dress"` costs the matches, not the rows; numbers
/// are `f64` with per-partition min/max and 65 quantiles (for the planner's estimates);
/// booleans are bit columns. Every column starts with a presence bitmap (null = bit clear).
struct AttributeColumns: @unchecked Sendable {
    /// Number of quantiles stored per numeric column: min, the 63 inner 64-quantiles, max.
    static let quantileCount = 65

    /// One column, as views into the section's bytes (pointers and counts only: copying one
    /// costs no reference counting in the filter's inner loops).
    struct Column {
        let type: AttributeType
        /// Bit per position: the item has a value.
        let presence: UnsafePointer<UInt64>
        /// Positions with a value.
        let present: Int
        /// Booleans: bit per position, set for true (clear where absent).
        var truths: UnsafePointer<UInt64>? = nil
        /// Booleans: positions whose value is true.
        var trueCount = 0
        /// Numbers: one `f64` per position (0 where absent).
        var numbers: UnsafePointer<Double>? = nil
        /// Numbers: per partition (one zone without partitions) min and max of its present
        /// values (+∞, −∞ when none).
        var zones: UnsafePointer<Double>? = nil
        /// Numbers: ``quantileCount`` ascending values (0 when none is present).
        var quantiles: UnsafePointer<Double>? = nil
        /// Strings and tags: the sorted dictionary.
        var dictionary = AttributeDictionary()
        /// Strings: the dictionary code per position (0 where absent).
        var codes: UnsafePointer<UInt32>? = nil
        /// Tags: row `p`'s codes are `tagCodes[tagStarts[p] ..< tagStarts[p+1]]`, ascending.
        var tagStarts: UnsafePointer<UInt32>? = nil
        var tagCodes: UnsafePointer<UInt32>? = nil
        /// Strings and tags: value `c`'s positions are `postings[postingStarts[c] ..< postingStarts[c+1]]`, ascending.
        var postingStarts: UnsafePointer<UInt32>? = nil
        var postings: UnsafePointer<UInt32>? = nil

        /// Whether position `p` has a value.
        @inline(__always) func has(_ p: Int) -> Bool { presence[p >> 6] & (1 << UInt64(p & 63)) != 0 }

        /// The value at position `p`, or `nil`.
        func value(at p: Int) -> AttributeValue? {
            guard has(p) else { return nil }
            switch type {
            case .boolean: return .boolean(truths![p >> 6] & (1 << UInt64(p & 63)) != 0)
            case .integer: return .integer(Int64(numbers![p]))
            case .float: return .float(numbers![p])
            case .string: return .string(dictionary.string(Int(codes![p])))
            case .tags:
                return .tags((Int(tagStarts![p])..<Int(tagStarts![p + 1])).map { dictionary.string(Int(tagCodes![$0])) })
            }
        }

        /// The positions holding dictionary value `code`, ascending.
        func positions(of code: Int) -> UnsafeBufferPointer<UInt32> {
            let lo = Int(postingStarts![code]), hi = Int(postingStarts![code + 1])
            return UnsafeBufferPointer(start: postings! + lo, count: hi - lo)
        }
    }

    /// Rows in the shard.
    let rows: Int
    /// Columns by attribute name.
    let columns: [String: Column]
    /// Bytes of the section.
    let bytes: Int

    /// No attributes (a shard without an attribute section).
    init(rows: Int) {
        self.rows = rows
        columns = [:]
        bytes = 0
    }

    private init(rows: Int, columns: [String: Column], bytes: Int) {
        self.rows = rows
        self.columns = columns
        self.bytes = bytes
    }

    /// The attributes at position `p` (only `fields` when given).
    func attributes(at p: Int, fields: [String]? = nil) -> Attributes {
        var out: Attributes = [:]
        if let fields {
            for f in fields { if let c = columns[f], let v = c.value(at: p) { out[f] = v } }
        } else {
            for (name, c) in columns { if let v = c.value(at: p) { out[name] = v } }
        }
        return out
    }

    // MARK: Writing

    /// The section's bytes for `table`, whose rows are in position order; `zoneStarts` are the
    /// first position of each partition and then the row count (`[0, rows]` without
    /// partitions).
    static func encode(_ table: AttributeTable, zoneStarts: [Int]) -> [UInt8] {
        let n = table.count, words = (n + 63) / 64
        let names = table.schema.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var bodies: [[UInt8]] = []
        for name in names {
            let values = table.column(name)!
            var w = ByteWriter()
            var presence = [UInt64](repeating: 0, count: words)
            for (p, v) in values.enumerated() where v != nil { presence[p >> 6] |= 1 << UInt64(p & 63) }
            for x in presence { w.u64(x) }
            switch table.schema[name]! {
            case .boolean:
                var truths = [UInt64](repeating: 0, count: words)
                for (p, v) in values.enumerated() where v == .boolean(true) { truths[p >> 6] |= 1 << UInt64(p & 63) }
                for x in truths { w.u64(x) }
            case .integer, .float:
                let numbers: [Double?] = values.map {
                    switch $0 {
                    case let .integer(i)?: Double(i)
                    case let .float(x)?: x
                    default: nil
                    }
                }
                for x in numbers { w.u64((x ?? 0).bitPattern) }
                for z in 0..<(zoneStarts.count - 1) {
                    let zone = numbers[zoneStarts[z]..<zoneStarts[z + 1]].compactMap { $0 }
                    w.u64((zone.min() ?? .infinity).bitPattern)
                    w.u64((zone.max() ?? -.infinity).bitPattern)
                }
                let sorted = numbers.compactMap { $0 }.sorted()
                for q in 0..<quantileCount {
                    let v = sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, q * (sorted.count - 1) / (quantileCount - 1))]
                    w.u64(v.bitPattern)
                }
            case .string:
                let strings = values.map { v -> String? in if case let .string(s)? = v { return s }; return nil }
                let dictionary = Array(Set(strings.compactMap { $0 })).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                let code = Dictionary(uniqueKeysWithValues: dictionary.enumerated().map { ($1, $0) })
                writeDictionary(dictionary, into: &w)
                let codes = strings.map { $0.map { code[$0]! } }
                for c in codes { w.u32(UInt32(c ?? 0)) }
                writePostings(codes.enumerated().compactMap { p, c in c.map { ($0, p) } }, values: dictionary.count, into: &w)
            case .tags:
                let lists = values.map { v -> [String]? in if case let .tags(t)? = v { return t }; return nil }
                let dictionary = Array(Set(lists.flatMap { $0 ?? [] })).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                let code = Dictionary(uniqueKeysWithValues: dictionary.enumerated().map { ($1, $0) })
                writeDictionary(dictionary, into: &w)
                var starts: [UInt32] = [0], all: [UInt32] = [], pairs: [(Int, Int)] = []
                for (p, list) in lists.enumerated() {
                    for c in Set((list ?? []).map { code[$0]! }).sorted() { all.append(UInt32(c)); pairs.append((c, p)) }
                    starts.append(UInt32(all.count))
                }
                for s in starts { w.u32(s) }
                for c in all { w.u32(c) }
                writePostings(pairs, values: dictionary.count, into: &w)
            }
            w.pad(to: 8)
            bodies.append(w.bytes)
        }
        // Header, entries, names, then the bodies, each at a multiple of 8.
        var out = ByteWriter()
        out.u32(UInt32(names.count))
        out.u32(UInt32(zoneStarts.count - 1))
        var at = align8(8 + 24 * names.count + names.reduce(0) { $0 + $1.utf8.count })
        for (i, name) in names.enumerated() {
            out.u32(table.schema[name]!.rawValue)
            out.u32(UInt32(name.utf8.count))
            out.u64(UInt64(at))
            out.u64(UInt64(bodies[i].count))
            at += bodies[i].count
        }
        for name in names { out.raw(Array(name.utf8)) }
        out.pad(to: 8)
        for b in bodies { out.raw(b) }
        return out.bytes
    }

    private static func align8(_ v: Int) -> Int { (v + 7) & ~7 }

    /// D, the dictionary's byte count, D + 1 offsets, the bytes, zero padding to 8.
    private static func writeDictionary(_ dictionary: [String], into w: inout ByteWriter) {
        let bytes = dictionary.flatMap { Array($0.utf8) }
        w.u32(UInt32(dictionary.count))
        w.u32(UInt32(bytes.count))
        var offset: UInt32 = 0
        w.u32(0)
        for s in dictionary { offset += UInt32(s.utf8.count); w.u32(offset) }
        w.raw(bytes)
        w.pad(to: 8)
    }

    /// D + 1 starts, then the positions of each value (`pairs` are (code, position) in
    /// position order; a stable counting sort groups them by code).
    private static func writePostings(_ pairs: [(Int, Int)], values: Int, into w: inout ByteWriter) {
        var starts = [Int](repeating: 0, count: values + 1)
        for (c, _) in pairs { starts[c + 1] += 1 }
        for c in 0..<values { starts[c + 1] += starts[c] }
        var next = starts, postings = [UInt32](repeating: 0, count: pairs.count)
        for (c, p) in pairs { postings[next[c]] = UInt32(p); next[c] += 1 }
        for s in starts { w.u32(UInt32(s)) }
        for p in postings { w.u32(p) }
    }

    // MARK: Reading

    /// Reads and checks the section `b` (64-byte aligned in the map) of a shard of `rows` rows
    /// with `zones` zones. Every count and offset is checked before it is used, and the
    /// columns against themselves (codes against the dictionary, postings against the codes),
    /// so that a crafted file cannot make a query read out of bounds.
    static func decode(_ b: UnsafeRawBufferPointer, rows n: Int, zones: Int, path: String) throws(HashIdxError) -> AttributeColumns {
        let fail: @Sendable (String) -> HashIdxError = { .corruptIndex(path: path, reason: "attribute section: \($0)") }
        guard b.count >= 8, b.count % 8 == 0 else { throw fail("too short") }
        let count = Int(b.le(UInt32.self, at: 0))
        guard count >= 1, count <= 1024, Int(b.le(UInt32.self, at: 4)) == zones else { throw fail("bad column or zone count") }
        guard 8 + 24 * count <= b.count else { throw fail("column table beyond the section") }
        var nameAt = 8 + 24 * count
        var expectBody = 0
        var columns: [String: Column] = [:]
        var previous: [UInt8]? = nil
        let words = (n + 63) / 64
        // Name bytes come first: the first body starts after them.
        var lengths: [Int] = []
        for i in 0..<count { lengths.append(Int(b.le(UInt32.self, at: 8 + 24 * i + 4))) }
        guard lengths.allSatisfy({ $0 >= 1 && $0 <= 255 }) else { throw fail("bad attribute name length") }
        expectBody = align8(nameAt + lengths.reduce(0, +))
        guard expectBody <= b.count else { throw fail("names beyond the section") }
        for p in (nameAt + lengths.reduce(0, +))..<expectBody where b[p] != 0 { throw fail("padding is not zero") }
        for i in 0..<count {
            let e = 8 + 24 * i
            guard let type = AttributeType(rawValue: b.le(UInt32.self, at: e)) else { throw fail("unknown column type") }
            let nameBytes = Array(b[nameAt..<(nameAt + lengths[i])])
            nameAt += lengths[i]
            guard let name = String(validating: nameBytes, as: UTF8.self) else { throw fail("name is not UTF-8") }
            if let previous, !previous.lexicographicallyPrecedes(nameBytes) { throw fail("names are not sorted") }
            previous = nameBytes
            let offset = b.le(UInt64.self, at: e + 8), length = b.le(UInt64.self, at: e + 16)
            guard offset == UInt64(expectBody), length % 8 == 0, length <= UInt64(b.count - expectBody) else {
                throw fail("column \(name) does not follow the previous one")
            }
            var r = SectionCursor(b, range: expectBody..<(expectBody + Int(length)), fail: fail)
            expectBody += Int(length)
            columns[name] = try decodeColumn(name: name, type: type, rows: n, words: words, zones: zones, &r)
            guard r.remaining < 8 else { throw fail("column \(name) has bytes after its data") }
            try r.zeros()
        }
        guard expectBody == b.count else { throw fail("bytes after the last column") }
        return AttributeColumns(rows: n, columns: columns, bytes: b.count)
    }

    private static func decodeColumn(name: String, type: AttributeType, rows n: Int, words: Int, zones: Int,
                                     _ r: inout SectionCursor) throws(HashIdxError) -> Column {
        let base = r.fail
        let fail: @Sendable (String) -> HashIdxError = { base("column \(name): \($0)") }
        let presence = try r.words(words)
        if n % 64 != 0, words > 0, presence[words - 1] >> UInt64(n % 64) != 0 { throw fail("presence bits beyond the last row") }
        var present = 0
        for w in 0..<words { present += presence[w].nonzeroBitCount }
        var c = Column(type: type, presence: presence, present: present)
        func has(_ p: Int) -> Bool { presence[p >> 6] & (1 << UInt64(p & 63)) != 0 }
        switch type {
        case .boolean:
            let truths = try r.words(words)
            for w in 0..<words {
                guard truths[w] & ~presence[w] == 0 else { throw fail("true where absent") }
                c.trueCount += truths[w].nonzeroBitCount
            }
            c.truths = truths
        case .integer, .float:
            let numbers = try r.doubles(n)
            for p in 0..<n {
                let v = numbers[p]
                guard v.isFinite, has(p) || v == 0, type == .float || (v == v.rounded() && abs(v) <= Double(AttributeValue.integerLimit)) else {
                    throw fail("invalid number at position \(p)")
                }
            }
            let z = try r.doubles(2 * zones), q = try r.doubles(quantileCount)
            for i in 0..<(2 * zones) where z[i].isNaN { throw fail("invalid zone bound") }
            for i in 0..<quantileCount where !q[i].isFinite { throw fail("invalid quantile") }
            c.numbers = numbers; c.zones = z; c.quantiles = q
        case .string:
            c.dictionary = try r.dictionary(fail)
            let codes = try r.u32s(n)
            for p in 0..<n where (has(p) ? Int(codes[p]) >= c.dictionary.count : codes[p] != 0) {
                throw fail("invalid code at position \(p)")
            }
            c.codes = codes
            (c.postingStarts, c.postings) = try r.postings(values: c.dictionary.count, total: present, rows: n, fail) { code, p in
                has(p) && Int(codes[p]) == code
            }
        case .tags:
            c.dictionary = try r.dictionary(fail)
            let starts = try r.u32s(n + 1)
            guard starts[0] == 0 else { throw fail("tag starts do not begin at 0") }
            for p in 0..<n where starts[p + 1] < starts[p] || (!has(p) && starts[p + 1] != starts[p]) {
                throw fail("tag starts are not ascending at position \(p)")
            }
            let total = Int(starts[n])
            let codes = try r.u32s(total)
            for p in 0..<n {
                var last = -1
                for i in Int(starts[p])..<Int(starts[p + 1]) {
                    guard Int(codes[i]) > last, Int(codes[i]) < c.dictionary.count else { throw fail("invalid tags at position \(p)") }
                    last = Int(codes[i])
                }
            }
            c.tagStarts = starts; c.tagCodes = codes
            (c.postingStarts, c.postings) = try r.postings(values: c.dictionary.count, total: total, rows: n, fail) { code, p in
                UnsafeBufferPointer(start: codes + Int(starts[p]), count: Int(starts[p + 1] - starts[p])).contains(UInt32(code))
            }
        }
        return c
    }
}

/// A sorted dictionary of strings in an attribute column: value `c` is the UTF-8 bytes
/// `bytes[offsets[c] ..< offsets[c+1]]`.
struct AttributeDictionary {
    var count = 0
    var offsets: UnsafePointer<UInt32>? = nil
    var bytes: UnsafePointer<UInt8>? = nil

    func utf8(_ c: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: bytes! + Int(offsets![c]), count: Int(offsets![c + 1] - offsets![c]))
    }

    func string(_ c: Int) -> String { String(decoding: utf8(c), as: UTF8.self) }

    /// The code of `s`, or `nil` when no item has it (binary search).
    func code(of s: String) -> Int? {
        let key = Array(s.utf8)
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            let v = utf8(mid)
            if v.lexicographicallyPrecedes(key) { lo = mid + 1 } else { hi = mid }
        }
        return lo < count && utf8(lo).elementsEqual(key) ? lo : nil
    }
}

/// Reads typed arrays from a range of the attribute section, checking every length.
private struct SectionCursor {
    let b: UnsafeRawBufferPointer
    var at: Int
    let end: Int
    let fail: @Sendable (String) -> HashIdxError

    init(_ b: UnsafeRawBufferPointer, range: Range<Int>, fail: @escaping @Sendable (String) -> HashIdxError) {
        self.b = b; at = range.lowerBound; end = range.upperBound; self.fail = fail
    }

    var remaining: Int { end - at }

    private mutating func take(_ bytes: Int) throws(HashIdxError) -> UnsafeRawPointer {
        guard bytes >= 0, bytes <= end - at else { throw fail("column data is cut short") }
        defer { at += bytes }
        return b.baseAddress! + at
    }

    mutating func words(_ n: Int) throws(HashIdxError) -> UnsafePointer<UInt64> {
        try take(8 * n).assumingMemoryBound(to: UInt64.self)
    }
    mutating func doubles(_ n: Int) throws(HashIdxError) -> UnsafePointer<Double> {
        try take(8 * n).assumingMemoryBound(to: Double.self)
    }
    mutating func u32s(_ n: Int) throws(HashIdxError) -> UnsafePointer<UInt32> {
        try take(4 * n).assumingMemoryBound(to: UInt32.self)
    }

    /// Zero bytes up to the next multiple of 8 (and no further than the end).
    mutating func zeros() throws(HashIdxError) {
        while at % 8 != 0 && at < end {
            guard b[at] == 0 else { throw fail("padding is not zero") }
            at += 1
        }
    }

    mutating func dictionary(_ bad: (String) -> HashIdxError) throws(HashIdxError) -> AttributeDictionary {
        let header = try u32s(2)
        let count = Int(header[0]), byteCount = Int(header[1])
        guard count <= end - at else { throw bad("dictionary count is too large") }
        let offsets = try u32s(count + 1)
        let bytes = try take(byteCount).assumingMemoryBound(to: UInt8.self)
        try zeros()
        guard offsets[0] == 0, Int(offsets[count]) == byteCount else { throw bad("dictionary offsets do not tile its bytes") }
        let d = AttributeDictionary(count: count, offsets: offsets, bytes: bytes)
        // Every offset first (ascending from 0 to the byte count keeps each value inside the
        // bytes), then the values.
        for c in 0..<count where offsets[c + 1] < offsets[c] { throw bad("dictionary offsets are not ascending") }
        for c in 0..<count {
            guard String(validating: d.utf8(c), as: UTF8.self) != nil else { throw bad("dictionary value \(c) is not UTF-8") }
            if c > 0 && !d.utf8(c - 1).lexicographicallyPrecedes(d.utf8(c)) { throw bad("dictionary is not sorted") }
        }
        return d
    }

    /// Posting starts and postings of `values` values holding `total` positions, each list
    /// strictly ascending, below `rows`, and each (value, position) confirmed by `holds`.
    mutating func postings(values: Int, total: Int, rows: Int, _ bad: (String) -> HashIdxError,
                           holds: (Int, Int) -> Bool) throws(HashIdxError) -> (UnsafePointer<UInt32>, UnsafePointer<UInt32>) {
        let starts = try u32s(values + 1)
        let postings = try u32s(total)
        guard starts[0] == 0, Int(starts[values]) == total else { throw bad("postings do not tile") }
        // Every start first (ascending up to `total` keeps each list inside the postings).
        for c in 0..<values where starts[c + 1] < starts[c] { throw bad("posting starts are not ascending") }
        for c in 0..<values {
            var last = -1
            for i in Int(starts[c])..<Int(starts[c + 1]) {
                let p = Int(postings[i])
                guard p > last, p < rows, holds(c, p) else { throw bad("posting list of value \(c) disagrees with the column") }
                last = p
            }
        }
        return (starts, postings)
    }
}
