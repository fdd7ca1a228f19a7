import CHashIdxKernels

/// A ``Filter`` checked against an index's attribute types and resolved, per shard, to that
/// shard's columns: string values to dictionary codes, comparisons to numeric ranges. It
/// evaluates to a bitmap over any range of a shard's positions, and estimates how many rows
/// match from the columns' statistics, without reading them.
struct CompiledFilter: @unchecked Sendable {
    /// One step of a filter on one shard.
    indirect enum Op {
        /// Every row, or none.
        case constant(Bool)
        /// The set bits of a column bitmap (a boolean column's trues, a presence bitmap), `set`
        /// of them.
        case bits(UnsafePointer<UInt64>, set: Int)
        /// A present number in `lo…hi` (ends excluded where strict).
        case range(AttributeColumns.Column, lo: Double, hi: Double, loStrict: Bool, hiStrict: Bool)
        /// A row holding any of the dictionary codes (strings: equal to one; tags: has one).
        case postings(AttributeColumns.Column, codes: [Int])
        case and([Op])
        case or([Op])
        case not(Op)
    }

    /// The filter as given.
    let filter: Filter
    /// Per shard (in the searcher's order), its program.
    let programs: [Op]
    /// Per shard, its row count.
    let rows: [Int]
    /// Deepest nesting of `and`/`or`/`not` (scratch bitmaps needed to evaluate).
    let depth: Int

    /// Checks `filter` against `schema` and resolves it for each of `shards`.
    init(_ filter: Filter, schema: [String: AttributeType], shards: [Shard]) throws(HashIdxError) {
        try filter.check(against: schema)
        self.filter = filter
        programs = shards.map { Self.resolve(filter.node, in: $0.attributes) }
        rows = shards.map(\.rows)
        depth = Self.depth(filter.node)
    }

    private static func depth(_ node: Filter.Node) -> Int {
        switch node {
        case let .and(nodes), let .or(nodes): 1 + (nodes.map(depth).max() ?? 0)
        case let .not(n): 1 + depth(n)
        case .isIn: 1
        default: 0
        }
    }

    // MARK: Resolving

    /// The program of `node` on a shard with `columns` (a column the shard lacks is null on
    /// every row of it). `node` was checked.
    private static func resolve(_ node: Filter.Node, in columns: AttributeColumns) -> Op {
        func number(_ v: AttributeValue) -> Double {
            switch v {
            case let .integer(i): Double(i)
            case let .float(x): x
            default: .nan
            }
        }
        func equal(_ c: AttributeColumns.Column, _ v: AttributeValue) -> Op {
            switch c.type {
            case .integer, .float:
                let x = number(v)
                return .range(c, lo: x, hi: x, loStrict: false, hiStrict: false)
            case .string, .tags:
                guard case let .string(s) = v, let code = c.dictionary.code(of: s) else { return .constant(false) }
                return .postings(c, codes: [code])
            case .boolean:
                let truths = Op.bits(c.truths!, set: c.trueCount)
                return v == .boolean(true) ? truths : .and([.bits(c.presence, set: c.present), .not(truths)])
            }
        }
        switch node {
        case let .compare(name, op, v):
            guard let c = columns.columns[name] else { return .constant(false) }
            switch op {
            case .equal: return equal(c, v)
            case .notEqual: return .not(equal(c, v))
            case .less: return .range(c, lo: -.infinity, hi: number(v), loStrict: false, hiStrict: true)
            case .lessOrEqual: return .range(c, lo: -.infinity, hi: number(v), loStrict: false, hiStrict: false)
            case .greater: return .range(c, lo: number(v), hi: .infinity, loStrict: true, hiStrict: false)
            case .greaterOrEqual: return .range(c, lo: number(v), hi: .infinity, loStrict: false, hiStrict: false)
            }
        case let .isIn(name, values):
            guard let c = columns.columns[name] else { return .constant(false) }
            if c.type == .string || c.type == .tags {
                let codes = Set(values.compactMap { v -> Int? in
                    if case let .string(s) = v { return c.dictionary.code(of: s) }
                    return nil
                }).sorted()
                return codes.isEmpty ? .constant(false) : .postings(c, codes: codes)
            }
            return .or(values.map { equal(c, $0) })
        case let .contains(name, tag):
            guard let c = columns.columns[name], let code = c.dictionary.code(of: tag) else { return .constant(false) }
            return .postings(c, codes: [code])
        case let .isNull(name):
            guard let c = columns.columns[name] else { return .constant(true) }
            return .not(.bits(c.presence, set: c.present))
        case let .and(nodes):
            let ops = intersectingRanges(nodes.map { resolve($0, in: columns) })
            return .and(ops.sorted { fraction($0, rows: columns.rows) < fraction($1, rows: columns.rows) })
        case let .or(nodes):
            return .or(nodes.map { resolve($0, in: columns) })
        case let .not(n):
            return .not(resolve(n, in: columns))
        }
    }

    /// `ops` with the ranges on one column merged into one (`price >= 20 and price < 30`
    /// is one scan of the column, and one estimate instead of two assumed independent).
    private static func intersectingRanges(_ ops: [Op]) -> [Op] {
        var out: [Op] = []
        var merged: [UnsafePointer<UInt64>: Int] = [:]   // column (by its presence bitmap) → index in `out`
        for op in ops {
            guard case let .range(c, lo, hi, loStrict, hiStrict) = op else { out.append(op); continue }
            guard let i = merged[c.presence], case let .range(_, lo0, hi0, loStrict0, hiStrict0) = out[i] else {
                merged[c.presence] = out.count
                out.append(op)
                continue
            }
            let newLo = lo > lo0 ? (lo, loStrict) : lo < lo0 ? (lo0, loStrict0) : (lo, loStrict || loStrict0)
            let newHi = hi < hi0 ? (hi, hiStrict) : hi > hi0 ? (hi0, hiStrict0) : (hi, hiStrict || hiStrict0)
            out[i] = .range(c, lo: newLo.0, hi: newHi.0, loStrict: newLo.1, hiStrict: newHi.1)
        }
        return out
    }

    // MARK: Estimating

    /// The expected number of rows of shard `shard` that match (from dictionary and boolean
    /// counts exactly, from quantiles for ranges; independence between the parts of `and`
    /// and `or`).
    func estimatedMatches(shard: Int) -> Double {
        Self.fraction(programs[shard], rows: rows[shard]) * Double(rows[shard])
    }

    private static func fraction(_ op: Op, rows: Int) -> Double {
        guard rows > 0 else { return 0 }
        switch op {
        case let .constant(b): return b ? 1 : 0
        case let .bits(_, set):
            return Double(set) / Double(rows)
        case let .range(c, lo, hi, loStrict, hiStrict):
            return Double(c.present) / Double(rows) * quantileFraction(c.quantiles!, lo: lo, hi: hi, loStrict: loStrict, hiStrict: hiStrict)
        case let .postings(c, codes):
            let n = codes.reduce(0) { $0 + c.positions(of: $1).count }
            return min(1, Double(n) / Double(rows))
        case let .and(ops): return ops.reduce(1.0) { $0 * fraction($1, rows: rows) }
        case let .or(ops): return 1 - ops.reduce(1.0) { $0 * (1 - fraction($1, rows: rows)) }
        case let .not(op): return 1 - fraction(op, rows: rows)
        }
    }

    /// The fraction of a column's present values in the range, read off its quantiles
    /// (linear between them).
    private static func quantileFraction(_ q: UnsafePointer<Double>, lo: Double, hi: Double, loStrict: Bool, hiStrict: Bool) -> Double {
        let n = AttributeColumns.quantileCount
        func below(_ x: Double) -> Double {   // fraction of values < x (about)
            if x <= q[0] { return 0 }
            if x > q[n - 1] { return 1 }
            var i = 0
            while i + 1 < n && q[i + 1] < x { i += 1 }
            let span = q[i + 1] - q[i]
            let within = span > 0 ? (x - q[i]) / span : 1
            return (Double(i) + min(1, max(0, within))) / Double(n - 1)
        }
        if lo == hi {   // equality: about one quantile step when the value occurs
            return lo >= q[0] && lo <= q[n - 1] ? 1.0 / Double(n - 1) : 0
        }
        return max(0, below(hi) - below(lo))
    }

    // MARK: Evaluating

    /// Words of a bitmap of `count` positions.
    @inline(__always)
    static func words(_ count: Int) -> Int { (count + 63) / 64 }

    /// Writes the bitmap of shard `shard`'s matching positions in `range` to `out`
    /// (``words(_:)`` words of `range.count` bits: bit `i` is position `range.lowerBound + i`;
    /// bits past the range are zero). `scratch` holds at least `depth × words(range.count)`
    /// words.
    func evaluate(shard: Int, range: Range<Int>, into out: UnsafeMutablePointer<UInt64>, scratch: UnsafeMutablePointer<UInt64>) {
        Self.evaluate(programs[shard], range: range, into: out, scratch: scratch)
    }

    private static func evaluate(_ op: Op, range: Range<Int>, into out: UnsafeMutablePointer<UInt64>,
                                 scratch: UnsafeMutablePointer<UInt64>) {
        let n = range.count, w = words(n)
        switch op {
        case let .constant(b):
            out.update(repeating: b ? ~0 : 0, count: w)
            maskTail(out, count: n)
        case let .bits(p, _):
            copyBits(p, from: range.lowerBound, count: n, into: out)
        case let .range(c, lo, hi, loStrict, hiStrict):
            hidx_bits_f64_range(c.numbers! + range.lowerBound, n, lo, hi, loStrict ? 1 : 0, hiStrict ? 1 : 0, out)
            copyBits(c.presence, from: range.lowerBound, count: n, into: scratch)
            for i in 0..<w { out[i] &= scratch[i] }
        case let .postings(c, codes):
            out.update(repeating: 0, count: w)
            for code in codes {
                let list = c.positions(of: code)
                // First listed position in the range (binary search), then set bits until past it.
                var lo = 0, hi = list.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if Int(list[mid]) < range.lowerBound { lo = mid + 1 } else { hi = mid }
                }
                var i = lo
                while i < list.count {
                    let p = Int(list[i]) - range.lowerBound
                    if p >= n { break }
                    out[p >> 6] |= 1 << UInt64(p & 63)
                    i += 1
                }
            }
        case let .and(ops):
            // The most selective part first (`resolve` ordered them); when it leaves few
            // rows, the others are tested on those rows only.
            evaluate(ops[0], range: range, into: out, scratch: scratch)
            if hidx_bits_count(out, 0, n) * 64 < n {
                for i in 0..<w {
                    var word = out[i]
                    while word != 0 {
                        let bit = word.trailingZeroBitCount
                        word &= word - 1
                        let p = range.lowerBound + i << 6 + bit
                        if !ops.dropFirst().allSatisfy({ test($0, position: p) }) { out[i] &= ~(1 << UInt64(bit)) }
                    }
                }
                return
            }
            for next in ops.dropFirst() {
                evaluate(next, range: range, into: scratch, scratch: scratch + w)
                for i in 0..<w { out[i] &= scratch[i] }
            }
        case let .or(ops):
            evaluate(ops[0], range: range, into: out, scratch: scratch)
            for next in ops.dropFirst() {
                evaluate(next, range: range, into: scratch, scratch: scratch + w)
                for i in 0..<w { out[i] |= scratch[i] }
            }
        case let .not(inner):
            evaluate(inner, range: range, into: out, scratch: scratch)
            for i in 0..<w { out[i] = ~out[i] }
            maskTail(out, count: n)
        }
    }

    /// Whether the row at `position` satisfies `op` (one row at a time: for the rows a
    /// selective part of an `and` left).
    private static func test(_ op: Op, position p: Int) -> Bool {
        @inline(__always) func bit(_ words: UnsafePointer<UInt64>) -> Bool { words[p >> 6] & (1 << UInt64(p & 63)) != 0 }
        switch op {
        case let .constant(b): return b
        case let .bits(words, _): return bit(words)
        case let .range(c, lo, hi, loStrict, hiStrict):
            guard bit(c.presence) else { return false }
            let v = c.numbers![p]
            return (loStrict ? v > lo : v >= lo) && (hiStrict ? v < hi : v <= hi)
        case let .postings(c, codes):
            guard bit(c.presence) else { return false }
            if c.type == .string { return codes.contains(Int(c.codes![p])) }
            for i in Int(c.tagStarts![p])..<Int(c.tagStarts![p + 1]) where codes.contains(Int(c.tagCodes![i])) { return true }
            return false
        case let .and(ops): return ops.allSatisfy { test($0, position: p) }
        case let .or(ops): return ops.contains { test($0, position: p) }
        case let .not(inner): return !test(inner, position: p)
        }
    }

    /// Clears the bits at `count` and beyond of the last word.
    @inline(__always)
    static func maskTail(_ out: UnsafeMutablePointer<UInt64>, count: Int) {
        if count % 64 != 0 { out[words(count) - 1] &= (1 << UInt64(count % 64)) - 1 }
    }

    /// Copies bits `start ..< start + count` of the bitmap `source` to bits `0 ..< count` of
    /// `out` (bits past `count` zero).
    static func copyBits(_ source: UnsafePointer<UInt64>, from start: Int, count: Int, into out: UnsafeMutablePointer<UInt64>) {
        let w = words(count)
        let first = start >> 6, shift = UInt64(start & 63)
        let lastSourceWord = (start + count - 1) >> 6
        if count == 0 { return }
        if shift == 0 {
            out.update(from: source + first, count: w)
        } else {
            for i in 0..<w {
                let lo = source[first + i] >> shift
                let hi = first + i + 1 <= lastSourceWord ? source[first + i + 1] << (64 - shift) : 0
                out[i] = lo | hi
            }
        }
        maskTail(out, count: count)
    }
}
