/// Per-search working memory, reused across searches (a pool per open index hands one to
/// each concurrent search).
final class SearchScratch: @unchecked Sendable {
    /// The query's code.
    var query: [UInt64]
    /// The query's margins (its projection less the thresholds), one per bit.
    var margins: [Float]
    /// The Hamming distance of every scanned row, in scan order: as long as the largest scan
    /// so far (the probed partitions), not the index.
    var distances: [UInt16] = []
    /// How many scanned rows lie at each distance `0…bits`.
    var histogram: [UInt32]
    /// Where the re-rank and the id look-ups decode LZ4 blocks.
    let blocks = BlockBuffer()
    /// Scores of the query against every centroid.
    var centroidScores: [Float]
    /// The ranges of one shard's codes to scan (start, count), for the kernel.
    var starts: [Int] = []
    var counts: [Int] = []
    /// Candidate codes gathered for the asymmetric pass.
    var gathered: [UInt64] = []
    /// Filtered search: a filter's bitmap of one range of positions, and the bitmaps its
    /// evaluation needs on the way.
    var filterBits: [UInt64] = []
    var filterScratch: [UInt64] = []
    /// Filtered search: one bit per scanned row (in scan order), set when the row matches.
    var scanBits: [UInt64] = []
    /// Filtered search: the matching positions of one shard, when few rows match.
    var positions: [UInt32] = []

    /// Makes the filter bitmaps hold a range of `count` positions for a filter of nesting
    /// `depth`.
    func reserveFilter(count: Int, depth: Int) {
        let words = (count + 63) / 64
        if filterBits.count < words { filterBits = [UInt64](repeating: 0, count: words) }
        if filterScratch.count < words * (depth + 2) { filterScratch = [UInt64](repeating: 0, count: words * (depth + 2)) }
    }

    init(words: Int, bits: Int, centroidScores: Int) {
        self.centroidScores = [Float](repeating: 0, count: centroidScores)
        query = [UInt64](repeating: 0, count: words)
        margins = [Float](repeating: 0, count: bits)
        histogram = [UInt32](repeating: 0, count: bits + 1)
    }

    /// Makes ``distances`` hold at least `count` values.
    func reserveDistances(_ count: Int) {
        if distances.count < count { distances = [UInt16](repeating: 0, count: max(count, distances.count * 5 / 4)) }
    }
}
