/// A ``Filter`` checked against an index's attribute types and resolved, per shard, to that
/// shard's columns: string values to dictionary codes, comparisons to numeric ranges. It
/// evaluates to a bitmap over any range of a shard's positions, and estimates how many rows
/// match from the columns' statistics, without reading them. Each leaf is a question to one
/// column (``ColumnPredicate``), which storage answers; this type combines the answers.
struct CompiledFilter: @unchecked Sendable {
    /// One step of a filter on one shard.
    indirect enum Op {
        /// Every row, or none.
        case constant(Bool)
        /// The rows of one column that satisfy a predicate: a boolean column's trues, a
        /// presence bitmap, a present number in a range, a row holding any of some dictionary
        /// codes (strings: equal to one; tags: has one).
        case column(AttributeColumns.Column, ColumnPredicate)
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
                return .column(c, .range(lo: x, hi: x, loStrict: false, hiStrict: false))
            case .string, .tags:
                guard case let .string(s) = v, let code = c.code(of: s) else { return .constant(false) }
                return .column(c, .anyOf([code]))
            case .boolean:
                let truths = Op.column(c, .isTrue)
                return v == .boolean(true) ? truths : .and([.column(c, .present), .not(truths)])
            }
        }
        switch node {
        case let .compare(name, op, v):
            guard let c = columns.columns[name] else { return .constant(false) }
            switch op {
            case .equal: return equal(c, v)
            case .notEqual: return .not(equal(c, v))
            case .less: return .column(c, .range(lo: -.infinity, hi: number(v), loStrict: false, hiStrict: true))
            case .lessOrEqual: return .column(c, .range(lo: -.infinity, hi: number(v), loStrict: false, hiStrict: false))
            case .greater: return .column(c, .range(lo: number(v), hi: .infinity, loStrict: true, hiStrict: false))
            case .greaterOrEqual: return .column(c, .range(lo: number(v), hi: .infinity, loStrict: false, hiStrict: false))
            }
        case let .isIn(name, values):
            guard let c = columns.columns[name] else { return .constant(false) }
            if c.type == .string || c.type == .tags {
                let codes = Set(values.compactMap { v -> Int? in
                    if case let .string(s) = v { return c.code(of: s) }
                    return nil
                }).sorted()
                return codes.isEmpty ? .constant(false) : .column(c, .anyOf(codes))
            }
            return .or(values.map { equal(c, $0) })
        case let .contains(name, tag):
            guard let c = columns.columns[name], let code = c.code(of: tag) else { return .constant(false) }
            return .column(c, .anyOf([code]))
        case let .isNull(name):
            guard let c = columns.columns[name] else { return .constant(true) }
            return .not(.column(c, .present))
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
        var merged: [Int: Int] = [:]   // column (by its number in the section) → index in `out`
        for op in ops {
            guard case let .column(c, .range(lo, hi, loStrict, hiStrict)) = op else { out.append(op); continue }
            guard let i = merged[c.index], case let .column(_, .range(lo0, hi0, loStrict0, hiStrict0)) = out[i] else {
                merged[c.index] = out.count
                out.append(op)
                continue
            }
            let newLo = lo > lo0 ? (lo, loStrict) : lo < lo0 ? (lo0, loStrict0) : (lo, loStrict || loStrict0)
            let newHi = hi < hi0 ? (hi, hiStrict) : hi > hi0 ? (hi0, hiStrict0) : (hi, hiStrict || hiStrict0)
            out[i] = .column(c, .range(lo: newLo.0, hi: newHi.0, loStrict: newLo.1, hiStrict: newHi.1))
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
        case let .column(c, predicate): return c.estimatedFraction(predicate, rows: rows)
        case let .and(ops): return ops.reduce(1.0) { $0 * fraction($1, rows: rows) }
        case let .or(ops): return 1 - ops.reduce(1.0) { $0 * (1 - fraction($1, rows: rows)) }
        case let .not(op): return 1 - fraction(op, rows: rows)
        }
    }

    // MARK: Evaluating

    /// Words of a bitmap of `count` positions.
    @inline(__always)
    static func words(_ count: Int) -> Int { Bitmap.words(count) }

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
            Bitmap.maskTail(out, count: n)
        case let .column(c, predicate):
            c.evaluate(predicate, range: range, into: out, scratch: scratch)
        case let .and(ops):
            // The most selective part first (`resolve` ordered them); when it leaves few
            // rows, the others are tested on those rows only.
            evaluate(ops[0], range: range, into: out, scratch: scratch)
            if Kernels.bitCount(out, in: 0..<n) * 64 < n {
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
            Bitmap.maskTail(out, count: n)
        }
    }

    /// Whether the row at `position` satisfies `op` (one row at a time: for the rows a
    /// selective part of an `and` left).
    private static func test(_ op: Op, position p: Int) -> Bool {
        switch op {
        case let .constant(b): return b
        case let .column(c, predicate): return c.test(predicate, position: p)
        case let .and(ops): return ops.allSatisfy { test($0, position: p) }
        case let .or(ops): return ops.contains { test($0, position: p) }
        case let .not(inner): return !test(inner, position: p)
        }
    }
}
