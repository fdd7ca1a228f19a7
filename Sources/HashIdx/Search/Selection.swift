/// The selections of the search pipeline: the smallest Hamming distances (a histogram
/// threshold, no heap) and the final top k by score.
enum Selection {
    /// The `k` best of `scored` (higher score first, then lower row), best first.
    static func topK(_ scored: [(row: Int, score: Float)], k: Int) -> [(row: Int, score: Float)] {
        func better(_ a: (row: Int, score: Float), _ b: (row: Int, score: Float)) -> Bool {
            a.score > b.score || (a.score == b.score && a.row < b.row)
        }
        if k >= 64 || k >= scored.count {
            return Array(scored.sorted(by: better).prefix(k))
        }
        // Insertion into a sorted list of k: a few comparisons per candidate.
        var top: [(row: Int, score: Float)] = []
        top.reserveCapacity(k + 1)
        for c in scored {
            if top.count == k, !better(c, top[k - 1]) { continue }
            var i = top.count
            while i > 0 && better(c, top[i - 1]) { i -= 1 }
            top.insert(c, at: i)
            if top.count > k { top.removeLast() }
        }
        return top
    }

    /// Indices (ascending) of the `want` smallest of `values[0..<count]`, ties broken by
    /// lower index, found with one histogram pass and one collection pass.
    static func selectSmallest(_ values: [UInt16], count: Int, want: Int, maxValue: Int,
                               histogram: inout [UInt32]) -> [Int] {
        for i in 0...maxValue { histogram[i] = 0 }
        values.withUnsafeBufferPointer { v in
            histogram.withUnsafeMutableBufferPointer { h in Kernels.histogram(v.baseAddress!, count: count, into: h.baseAddress!) }
        }
        return collectSmallest(values, count: count, want: want, histogram: histogram, counted: count)
    }

    /// `selectSmallest` with the histogram of `values` already counted: it holds `counted`
    /// of the `count` values. The others (a filtered row's sentinel, above the histogram's
    /// range) are never collected; `want` may exceed `counted`, and then all counted values
    /// come back.
    static func collectSmallest(_ values: [UInt16], count: Int, want: Int, histogram: [UInt32], counted: Int) -> [Int] {
        if want >= count && counted == count { return Array(0..<count) }
        let want = min(want, counted)
        // Threshold t: all values < t are taken, plus the first (want - below) equal to t.
        var below = 0
        var t = 0
        while below + Int(histogram[t]) < want { below += Int(histogram[t]); t += 1 }
        var picked = [UInt32](repeating: 0, count: want)
        let n = values.withUnsafeBufferPointer { v in
            picked.withUnsafeMutableBufferPointer { p in
                Kernels.collectBelow(v.baseAddress!, count: count, threshold: UInt16(t), atThreshold: want - below, into: p.baseAddress!)
            }
        }
        return picked.prefix(n).map { Int($0) }
    }
}
