/// Reading the attribute section (docs/FORMAT.md §3.4) in place, every count, offset and
/// value checked before a query may rely on it.
extension AttributeColumns {
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
            columns[name] = try decodeColumn(name: name, type: type, index: i, rows: n, words: words, zones: zones, &r)
            guard r.remaining < 8 else { throw fail("column \(name) has bytes after its data") }
            try r.zeros()
        }
        guard expectBody == b.count else { throw fail("bytes after the last column") }
        return AttributeColumns(rows: n, columns: columns, bytes: b.count)
    }

    private static func decodeColumn(name: String, type: AttributeType, index: Int, rows n: Int, words: Int, zones: Int,
                                     _ r: inout SectionCursor) throws(HashIdxError) -> Column {
        let base = r.fail
        let fail: @Sendable (String) -> HashIdxError = { base("column \(name): \($0)") }
        let presence = try r.words(words)
        if n % 64 != 0, words > 0, presence[words - 1] >> UInt64(n % 64) != 0 { throw fail("presence bits beyond the last row") }
        var present = 0
        for w in 0..<words { present += presence[w].nonzeroBitCount }
        func has(_ p: Int) -> Bool { presence[p >> 6] & (1 << UInt64(p & 63)) != 0 }
        let values: Column.Values
        switch type {
        case .boolean:
            let truths = try r.words(words)
            var trueCount = 0
            for w in 0..<words {
                guard truths[w] & ~presence[w] == 0 else { throw fail("true where absent") }
                trueCount += truths[w].nonzeroBitCount
            }
            values = .boolean(truths: truths, trueCount: trueCount)
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
            values = .numbers(numbers, zones: z, quantiles: q)
        case .string:
            let dictionary = try r.dictionary(fail)
            let codes = try r.u32s(n)
            for p in 0..<n where (has(p) ? Int(codes[p]) >= dictionary.count : codes[p] != 0) {
                throw fail("invalid code at position \(p)")
            }
            let (postingStarts, postings) = try r.postings(values: dictionary.count, total: present, rows: n, fail) { code, p in
                has(p) && Int(codes[p]) == code
            }
            values = .strings(dictionary, codes: codes, postingStarts: postingStarts, postings: postings)
        case .tags:
            let dictionary = try r.dictionary(fail)
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
                    guard Int(codes[i]) > last, Int(codes[i]) < dictionary.count else { throw fail("invalid tags at position \(p)") }
                    last = Int(codes[i])
                }
            }
            let (postingStarts, postings) = try r.postings(values: dictionary.count, total: total, rows: n, fail) { code, p in
                UnsafeBufferPointer(start: codes + Int(starts[p]), count: Int(starts[p + 1] - starts[p])).contains(UInt32(code))
            }
            values = .tags(dictionary, starts: starts, codes: codes, postingStarts: postingStarts, postings: postings)
        }
        return Column(type: type, index: index, presence: presence, present: present, values: values)
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
        let d = AttributeDictionary(count: count, offsets: offsets, bytes: bytes)
        try d.check(byteCount: byteCount, bad)
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
