/// Writing the attribute section (docs/FORMAT.md §3.4) from the rows' attribute table.
extension AttributeColumns {
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

    /// `v` rounded up to a multiple of 8.
    static func align8(_ v: Int) -> Int { (v + 7) & ~7 }

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
}
