/// A query's margins quantised to bit planes, for the asymmetric scoring pass.
///
/// Plain Hamming distance treats every bit of the query alike; a bit whose projection lies
/// near its threshold says little. The asymmetric score `Σ_j y_j · code_j` weights each item
/// bit by the query's margin `y_j`, and it still runs on AND + popcount: the magnitudes
/// `|y_j|` are quantised to `planeCount` bits and split by sign into bit planes.
struct BitPlanes {
    /// Magnitude bits per margin.
    static let planeCount = 4

    let words: Int
    /// `planeCount × words` words each.
    var positive: [UInt64]
    var negative: [UInt64]

    init(margins y: [Float], words: Int) {
        self.words = words
        let planes = Self.planeCount
        var positive = [UInt64](repeating: 0, count: planes * words)
        var negative = [UInt64](repeating: 0, count: planes * words)
        let n = min(y.count, words * 64)
        y.withUnsafeBufferPointer { y in
            var top: Float = 0
            for j in 0..<n { top = max(top, abs(y[j])) }
            // (Margins of a valid model are finite; anything else leaves the planes empty.)
            guard top > 0, top.isFinite else { return }
            let levels = Float((1 << planes) - 1)
            positive.withUnsafeMutableBufferPointer { p in
                negative.withUnsafeMutableBufferPointer { m in
                    for j in 0..<n {
                        let v = y[j]
                        let q = UInt64(abs(v) / top * levels + 0.5)   // round half up (non-negative)
                        guard q > 0 else { continue }
                        let side = v > 0 ? p.baseAddress! : m.baseAddress!
                        let word = j >> 6, bit = UInt64(1) << UInt64(j & 63)
                        // Bit j of plane k is bit k of q.
                        for k in 0..<planes { side[k * words + word] |= ((q >> UInt64(k)) & 1) &* bit }
                    }
                }
            }
        }
        self.positive = positive
        self.negative = negative
    }

    /// The asymmetric scores (higher: more similar) of the `count` codes stored one after
    /// another at `codes`, written to `scores`.
    func scores(of codes: UnsafePointer<UInt64>, count: Int, into scores: UnsafeMutablePointer<Int32>) {
        positive.withUnsafeBufferPointer { p in
            negative.withUnsafeBufferPointer { n in
                Kernels.planeScores(codes: codes, count: count, words: words, positive: p.baseAddress!, negative: n.baseAddress!,
                                    planes: Self.planeCount, into: scores)
            }
        }
    }
}
