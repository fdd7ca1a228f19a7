/// Pairs of rows marked similar or dissimilar: the supervision of a catalog that knows
/// matches (the same product photographed twice, items a merchandiser grouped) rather than
/// classes.
///
/// Read from a text file of lines `id_a id_b 1` (similar) or `id_a id_b 0` (dissimilar),
/// fields separated by spaces or tabs, ids as given to the build (row numbers when the
/// index has no ids). Empty lines and lines starting with `#` are skipped.
public struct RowPairs: Sendable, Equatable {
    /// The first row of each pair.
    public let first: [Int]
    /// The second row of each pair.
    public let second: [Int]
    /// Whether each pair is similar.
    public let similar: [Bool]

    /// The number of pairs.
    public var count: Int { first.count }
    /// Pairs marked similar.
    public var similarCount: Int { similar.reduce(0) { $0 + ($1 ? 1 : 0) } }

    /// Creates pairs of row numbers. The three arrays must have the same length.
    public init(first: [Int], second: [Int], similar: [Bool]) {
        precondition(first.count == second.count && first.count == similar.count, "pair arrays of different lengths")
        self.first = first
        self.second = second
        self.similar = similar
    }

    /// Throws unless every row is in `0..<rows` and the pairs include both kinds.
    func validate(rows: Int, source: String) throws(HashIdxError) {
        guard count > 0 else { throw .malformedInput(path: source, reason: "holds no pairs; give lines `id_a id_b 1|0`") }
        for i in 0..<count where first[i] < 0 || first[i] >= rows || second[i] < 0 || second[i] >= rows {
            throw .malformedInput(path: source, reason: "pair \(i + 1) names row \(first[i]) or \(second[i]), outside 0..<\(rows)")
        }
        let s = similarCount
        guard s > 0, s < count else {
            throw .malformedInput(path: source, reason: "all \(count) pairs are \(s > 0 ? "similar" : "dissimilar"); training needs both similar (1) and dissimilar (0) pairs")
        }
    }

    /// Reads pairs from `path`, resolving ids against `ids` (one per row) or, when `ids` is
    /// `nil`, reading them as row numbers below `rows`. An unknown id is an error naming its
    /// line.
    public static func read(path: String, ids: [String]?, rows: Int) throws(HashIdxError) -> RowPairs {
        let file = try MappedFile(path: path)
        var rowOf: [IDKey: Int] = [:]
        if let ids {
            rowOf.reserveCapacity(ids.count)
            for (i, id) in ids.enumerated() { rowOf[IDKey(id)] = i }
        }
        var first: [Int] = [], second: [Int] = [], similar: [Bool] = []
        try TextLines.forEach(in: file.bytes) { (line, bytes) throws(HashIdxError) in
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw .malformedInput(path: path, reason: "line \(line) is not valid UTF-8")
            }
            let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.isEmpty || fields[0].hasPrefix("#") { return }
            guard fields.count == 3 else {
                throw .malformedInput(path: path, reason: "line \(line): expected `id_a id_b 1|0`, got \(fields.count) field(s)")
            }
            func row(_ id: Substring) throws(HashIdxError) -> Int {
                if ids != nil {
                    guard let r = rowOf[IDKey(String(id))] else {
                        throw .malformedInput(path: path, reason: "line \(line): unknown id '\(id)' (not in the ids given to the build)")
                    }
                    return r
                }
                guard let r = Int(id), r >= 0, r < rows else {
                    throw .malformedInput(path: path, reason: "line \(line): '\(id)' is not a row number below \(rows) (the index has no ids: pairs name rows by number)")
                }
                return r
            }
            let a = try row(fields[0]), b = try row(fields[1])
            guard fields[2] == "1" || fields[2] == "0" else {
                throw .malformedInput(path: path, reason: "line \(line): the third field must be 1 (similar) or 0 (dissimilar), got '\(fields[2])'")
            }
            first.append(a)
            second.append(b)
            similar.append(fields[2] == "1")
        }
        let pairs = RowPairs(first: first, second: second, similar: similar)
        try pairs.validate(rows: rows, source: path)
        return pairs
    }
}
