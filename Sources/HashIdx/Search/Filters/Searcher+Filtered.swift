/// Filtered search: the planner and its two plans.
///
/// The planner estimates the rows that match (``CompiledFilter/estimatedMatches(shard:)``)
/// and compares them with `R`, the rows an unfiltered search scans (`probes` of the
/// partitions):
///
/// - **Few matches** (an estimate of at most ``matchTarget`` × `R`): the exact set of matching
///   live rows is computed (a bitmap per shard: posting lists for strings and tags, a
///   compare kernel for numbers, bit columns for booleans), and the search runs on exactly
///   those rows: all of them go to the exact re-rank when there are at most `candidates`;
///   otherwise their codes are gathered and ranked by Hamming distance like a scan. Recall
///   cannot fall with selectivity here: the fewer the matches, the larger the share of them
///   the re-rank sees.
/// - **Many matches**: partitions are visited nearest first, in rounds
///   (``PartitionRounds``); the filter is evaluated on each visited partition only, and
///   partitions with no matching row are skipped. A partition where matches are dense is
///   scanned whole, its other rows left out of the scan's histogram (as deleted rows are); in
///   one where they are sparse, only the matching rows' codes are gathered. Visiting goes on
///   past `probes` until the matching rows reach ``matchTarget`` × `R`: the candidate
///   selection then has as many matching rows to choose from, in the neighbourhood of the
///   query, at every selectivity.
extension Searcher {
    /// The matching rows a filtered search ranks: this multiple of an unfiltered scan's rows
    /// (at least). Fewer matches in all (estimated): the exact-set plan. Measured on GloVe-50
    /// (390k, 1,249 partitions, probes 128, 2,000 queries, the filters of `Benchmarks/filters`),
    /// recall@10 / QPS at 10 % selectivity: 0.989 / 1,500 with 0.5, 0.986 / 2,300 with 0.25,
    /// 0.968 / 2,900 with 0.125 (unfiltered: 0.956 / about 3,100); at 50 % the `probes`
    /// nearest partitions already hold more.
    static let matchTarget = 0.125
    /// A visited partition whose rows match at least this often is scanned whole (with the
    /// other rows left out), else its matching rows are gathered.
    static let denseFraction = 0.25

    /// The plan a search with a filter takes.
    enum FilterPlan: Equatable {
        /// Rank exactly the matching rows.
        case matchingRows
        /// Visit partitions nearest first, filtering inside the scan.
        case nearestPartitions
    }

    /// Rows an unfiltered search with `probes` scans, about.
    func unfilteredScanRows(probes: Int) -> Double {
        guard let partitions, probes < partitions.count else { return Double(liveCount) }
        return Double(liveCount) * Double(probes) / Double(partitions.count)
    }

    /// The plan for `filter` with `options`.
    func plan(_ filter: CompiledFilter, options: SearchOptions) -> FilterPlan {
        guard partitions != nil else { return .matchingRows }
        var estimate = 0.0
        for (i, s) in shards.enumerated() {
            estimate += filter.estimatedMatches(shard: i) * Double(s.liveRows) / Double(max(1, s.rows))
        }
        return estimate <= Self.matchTarget * unfilteredScanRows(probes: options.probeCount) ? .matchingRows : .nearestPartitions
    }

    /// The (shard, position) pairs for the exact re-rank, sorted, none of them excluded by
    /// `filter` (its attribute filter is set). The query's code and margins are in `scratch`.
    func filteredCandidates(_ q: [Float], want: Int, options: SearchOptions, filter: RowFilter,
                            scratch: SearchScratch) -> [(Int, Int)] {
        var found: FilteredRows
        switch plan(filter.attributes!, options: options) {
        case .matchingRows: found = matchingRows(filter: filter, scratch: scratch)
        case .nearestPartitions: found = nearestPartitionRows(q, options: options, filter: filter, scratch: scratch)
        }
        let m = found.matched
        guard m > want else { return found.all(scratch: scratch) }
        // Rank them by Hamming distance: the scanned segments' distances are in place (rows
        // that do not match count nowhere); the gathered rows' follow.
        var start = 0
        for (s, end) in found.gatheredEnds.enumerated() where end > start {
            scratch.positions.withUnsafeBufferPointer { p in
                scratch.distances.withUnsafeMutableBufferPointer { dist in
                    scratch.histogram.withUnsafeMutableBufferPointer { h in
                        Kernels.hammingHistogramPositions(shards[s].codes, positions: p.baseAddress! + start, count: end - start,
                                                          query: scratch.query, into: dist.baseAddress! + found.scanned + start,
                                                          histogram: h.baseAddress!)
                    }
                }
            }
            start = end
        }
        let total = found.scanned + scratch.positions.count
        let excluded = found.scanned - found.scannedMatches
        let picked = Selection.collectSmallest(scratch.distances, count: total, want: min(m, want * options.shortlistFactor),
                                               histogram: scratch.histogram, counted: total - excluded)
        let candidates = found.pairs(picked, scratch: scratch)
        guard options.shortlistFactor > 1 && candidates.count > want else { return candidates }
        return shortlist(candidates, keep: want, scratch: scratch)
    }

    // MARK: The exact-set plan

    /// Every matching live row, gathered.
    private func matchingRows(filter: RowFilter, scratch: SearchScratch) -> FilteredRows {
        let compiled = filter.attributes!
        var found = FilteredRows()
        scratch.positions.removeAll(keepingCapacity: true)
        for i in shards.indices {
            let n = shards[i].rows
            scratch.reserveFilter(count: n, depth: compiled.depth)
            scratch.filterBits.withUnsafeMutableBufferPointer { bits in
                evaluate(compiled, shard: i, range: 0..<n, excluding: filter.excludedRows, into: bits.baseAddress!, scratch: scratch)
                found.matched += Self.appendPositions(bits.baseAddress!, range: 0..<n, to: &scratch.positions)
            }
            found.gatheredEnds.append(scratch.positions.count)
        }
        scratch.reserveDistances(scratch.positions.count)
        for i in 0...bits { scratch.histogram[i] = 0 }
        return found
    }

    // MARK: The nearest-partitions plan

    /// The matching rows of the partitions nearest to `q`, until ``matchTarget`` × an
    /// unfiltered scan's rows: dense partitions as scanned segments, sparse ones gathered.
    private func nearestPartitionRows(_ q: [Float], options: SearchOptions, filter: RowFilter,
                                      scratch: SearchScratch) -> FilteredRows {
        let compiled = filter.attributes!
        let partitions = partitions!
        let target = Self.matchTarget * unfilteredScanRows(probes: options.probeCount)
        var found = FilteredRows()
        var lists = [[UInt32]](repeating: [], count: shards.count)
        var probed = 0
        var rounds = PartitionRounds(count: partitions.count)
        scratch.scanBits.removeAll(keepingCapacity: true)
        while !(probed >= options.probeCount && Double(found.matched) >= target),
              let round = rounds.next(q, partitions: partitions, probes: options.probeCount, probed: probed,
                                      matched: found.matched, target: target, scratch: scratch) {
            for p in round {
                var inPartition = 0
                for (i, shard) in shards.enumerated() {
                    let offsets = shard.partitionOffsets!
                    let range = offsets[p]..<offsets[p + 1]
                    guard !range.isEmpty else { continue }
                    scratch.reserveFilter(count: range.count, depth: compiled.depth)
                    inPartition += scratch.filterBits.withUnsafeMutableBufferPointer { bits in
                        evaluate(compiled, shard: i, range: range, excluding: filter.excludedRows, into: bits.baseAddress!,
                                 scratch: scratch)
                        let count = Kernels.bitCount(bits.baseAddress!, in: 0..<range.count)
                        guard count > 0 else { return 0 }
                        if Double(count) >= Self.denseFraction * Double(range.count) {
                            appendBits(bits.baseAddress!, count: range.count, to: &scratch.scanBits, at: found.scanned)
                            found.segments.append((i, range.lowerBound, range.count))
                            found.scanned += range.count
                            found.scannedMatches += count
                        } else {
                            let at = lists[i].count
                            _ = Self.appendPositions(bits.baseAddress!, range: 0..<range.count, to: &lists[i])
                            for j in at..<lists[i].count { lists[i][j] += UInt32(range.lowerBound) }
                        }
                        return count
                    }
                }
                if inPartition > 0 { probed += 1; found.matched += inPartition }
            }
        }
        // The dense segments' Hamming scan, counting only their matching rows (room for the
        // gathered rows' distances after theirs).
        scratch.reserveDistances(found.scanned + lists.reduce(0) { $0 + $1.count })
        if found.scanned > 0 {
            scratch.scanBits.withUnsafeBufferPointer { keep in
                _ = scanSegments(found.segments, keep: keep.baseAddress!, scratch: scratch)
            }
        } else {
            for i in 0...bits { scratch.histogram[i] = 0 }
        }
        scratch.positions.removeAll(keepingCapacity: true)
        for list in lists {
            scratch.positions += list
            found.gatheredEnds.append(scratch.positions.count)
        }
        return found
    }

    /// Writes the bitmap of shard `shard`'s live positions in `range` that match `compiled`,
    /// less the global rows `excluding`, to `out`.
    private func evaluate(_ compiled: CompiledFilter, shard i: Int, range: Range<Int>, excluding: [Int],
                          into out: UnsafeMutablePointer<UInt64>, scratch: SearchScratch) {
        let shard = shards[i]
        scratch.filterScratch.withUnsafeMutableBufferPointer { tmp in
            compiled.evaluate(shard: i, range: range, into: out, scratch: tmp.baseAddress!)
        }
        shard.removeDeleted(from: out, range: range)
        for row in excluding {
            guard let (s, local) = try? locate(row), s === shard else { continue }
            let p = shard.position(ofRow: local) - range.lowerBound
            if p >= 0 && p < range.count { out[p >> 6] &= ~(1 << UInt64(p & 63)) }
        }
    }

    /// Appends the positions in `range` whose bit is set in `bits`, ascending, to `out`;
    /// returns how many.
    static func appendPositions(_ bits: UnsafePointer<UInt64>, range: Range<Int>, to out: inout [UInt32]) -> Int {
        let set = Kernels.bitCount(bits, in: range)
        guard set > 0 else { return 0 }
        let at = out.count
        out.append(contentsOf: repeatElement(0, count: set))
        out.withUnsafeMutableBufferPointer { o in
            _ = Kernels.bitPositions(bits, in: range, into: o.baseAddress! + at)
        }
        return set
    }

    /// Appends bits `0 ..< count` of `source` to the bitmap `bits` at bit `at` (its length so
    /// far).
    private func appendBits(_ source: UnsafePointer<UInt64>, count: Int, to bits: inout [UInt64], at: Int) {
        let needed = Bitmap.words(at + count)
        if bits.count < needed { bits.append(contentsOf: repeatElement(0, count: needed - bits.count)) }
        let shift = UInt64(at & 63), base = at >> 6
        for j in 0..<Bitmap.words(count) {
            let v = source[j]
            bits[base + j] |= v << shift
            if shift != 0 && base + j + 1 < needed { bits[base + j + 1] |= v >> (64 - shift) }
        }
    }
}

/// The rows a filtered search ranks: scanned segments (dense partitions: their distances
/// first, `scratch.distances[0 ..< scanned]`, matching rows counted) and gathered positions
/// (`scratch.positions`, shard by shard: shard `s`'s end at `gatheredEnds[s]`; their
/// distances after the scanned ones).
private struct FilteredRows {
    var segments: [(shard: Int, start: Int, count: Int)] = []
    var scanned = 0
    var scannedMatches = 0
    var gatheredEnds: [Int] = []
    /// Matching rows in all.
    var matched = 0

    /// The (shard, position) of ranked row `i`.
    func pair(_ i: Int, scratch: SearchScratch) -> (Int, Int) {
        if i < scanned {
            var at = 0
            for s in segments {
                if i < at + s.count { return (s.shard, s.start + i - at) }
                at += s.count
            }
        }
        let g = i - scanned
        var s = 0
        while g >= gatheredEnds[s] { s += 1 }
        return (s, Int(scratch.positions[g]))
    }

    /// The pairs of ranked rows `picked` (ascending), sorted.
    func pairs(_ picked: [Int], scratch: SearchScratch) -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        out.reserveCapacity(picked.count)
        var segment = 0, segmentStart = 0
        for i in picked {
            if i < scanned {
                while i >= segmentStart + segments[segment].count { segmentStart += segments[segment].count; segment += 1 }
                out.append((segments[segment].shard, segments[segment].start + i - segmentStart))
            } else {
                out.append(pair(i, scratch: scratch))
            }
        }
        return out.sorted { $0 < $1 }
    }

    /// Every matching row (there are few), sorted.
    func all(scratch: SearchScratch) -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        var at = 0
        for s in segments {
            for p in 0..<s.count where scratch.scanBits[(at + p) >> 6] & (1 << UInt64((at + p) & 63)) != 0 {
                out.append((s.shard, s.start + p))
            }
            at += s.count
        }
        for g in 0..<scratch.positions.count { out.append(pair(scanned + g, scratch: scratch)) }
        return out.sorted { $0 < $1 }
    }
}

/// Partitions nearest to a query, in rounds: the `probes` nearest first, then as many more as
/// the matches found so far say are missing, and a tenth more (at least 8). A selection per
/// round, no sort: a round is visited whole.
struct PartitionRounds {
    private var taken = 0
    private var seen: [Bool]

    init(count: Int) { seen = [Bool](repeating: false, count: count) }

    /// The next round's partitions, or `nil` when every partition was given.
    mutating func next(_ q: [Float], partitions: CentroidScorer, probes: Int, probed: Int, matched: Int, target: Double,
                       scratch: SearchScratch) -> [Int]? {
        guard taken < partitions.count else { return nil }
        var size = probes
        if taken > 0 {
            let perPartition = max(1.0, Double(matched) / Double(taken))
            let missing = max(probes - probed, Int(((target - Double(matched)) / perPartition * 1.1).rounded(.up)))
            size = max(8, missing)
        }
        let upTo = min(partitions.count, taken + size)
        let nearest: [Int]
        if taken == 0 {
            nearest = q.withUnsafeBufferPointer { qb in
                scratch.margins.withUnsafeBufferPointer { m in
                    scratch.centroidScores.withUnsafeMutableBufferPointer {
                        partitions.nearest(qb.baseAddress!, margins: m.baseAddress!, n: upTo, scratch: $0.baseAddress!)
                    }
                }
            }
        } else {   // the scores of the first round are still in the scratch
            nearest = [UInt32](unsafeUninitializedCapacity: upTo) { b, written in
                written = Kernels.selectLargest(scratch.centroidScores, count: partitions.count, keep: upTo, into: b.baseAddress!)
            }.map { Int($0) }
        }
        let round = nearest.filter { !seen[$0] }
        for p in round { seen[p] = true }
        taken = upTo
        return round
    }
}
