import CHashIdxKernels

/// Filtered search: the planner and its two plans.
///
/// The planner estimates the rows that match (``CompiledFilter/estimatedMatches(shard:)``)
/// and compares them with the rows an unfiltered search would scan (`probes` of the
/// partitions):
///
/// - **Few matches** (at most ``sparseFactor`` × that scan): the exact set of matching live
///   rows is computed (a bitmap per shard: posting lists for strings and tags, a compare
///   kernel for numbers, bit columns for booleans), and the search runs on exactly those
///   rows: all of them go to the exact re-rank when there are at most `candidates`;
///   otherwise their codes are gathered and ranked by Hamming distance like a scan.
///   Recall cannot fall with selectivity here: the fewer the matches, the larger the share
///   of them the re-rank sees.
/// - **Many matches**: partitions are probed nearest first, the filter is evaluated on each
///   probed partition only, partitions with no matching row are skipped, and probing goes
///   on past `probes` until the scanned matching rows reach ``probeMatchFactor`` × the
///   rows an unfiltered search scans. Non-matching rows leave the scan's histogram before
///   the candidates are picked, as deleted rows do.
extension Searcher {
    /// Matches up to this multiple of an unfiltered scan's rows take the exact-set plan.
    static let sparseFactor = 1.5
    /// The probing plan scans until its matching rows reach this multiple of an unfiltered
    /// scan's rows (and at least `probes` partitions with matches).
    static let probeMatchFactor = 0.5

    /// The plan a search with `filter` and `options` takes (exposed for tests and `eval`).
    enum FilterPlan: Equatable {
        /// Scan exactly the matching rows.
        case matchingRows
        /// Probe partitions, filtering inside the scan.
        case probing
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
        return estimate <= Self.sparseFactor * unfilteredScanRows(probes: options.probes) ? .matchingRows : .probing
    }

    /// The (shard, position) pairs for the exact re-rank, sorted, none of them excluded by
    /// `filter` (its attribute filter is set). The query's code and margins are in `scratch`.
    func filteredCandidates(_ q: [Float], want: Int, options: SearchOptions, filter: RowFilter,
                            scratch: SearchScratch) -> [(Int, Int)] {
        let compiled = filter.attributes!
        switch plan(compiled, options: options) {
        case .matchingRows: return matchingRowCandidates(want: want, options: options, filter: filter, scratch: scratch)
        case .probing: return probingCandidates(q, want: want, options: options, filter: filter, scratch: scratch)
        }
    }

    // MARK: The exact-set plan

    private func matchingRowCandidates(want: Int, options: SearchOptions, filter: RowFilter,
                                       scratch: SearchScratch) -> [(Int, Int)] {
        let compiled = filter.attributes!
        // 1. Every matching live position, shard by shard, ascending.
        scratch.positions.removeAll(keepingCapacity: true)
        var shardEnds: [Int] = []
        for (i, shard) in shards.enumerated() {
            let n = shard.rows
            scratch.reserveFilter(count: n, depth: compiled.depth)
            scratch.filterBits.withUnsafeMutableBufferPointer { bits in
                scratch.filterScratch.withUnsafeMutableBufferPointer { tmp in
                    compiled.evaluate(shard: i, range: 0..<n, into: bits.baseAddress!, scratch: tmp.baseAddress!)
                }
                if let deletions = shard.deletions {
                    deletions.words.withUnsafeBufferPointer { d in
                        for w in 0..<CompiledFilter.words(n) { bits[w] &= ~d[w] }
                    }
                }
                for row in filter.excludedRows {
                    guard let (s, local) = try? locate(row), s === shard else { continue }
                    let p = shard.position(ofRow: local)
                    bits[p >> 6] &= ~(1 << UInt64(p & 63))
                }
                var set = 0
                for w in 0..<CompiledFilter.words(n) { set += bits[w].nonzeroBitCount }
                let at = scratch.positions.count
                scratch.positions.append(contentsOf: repeatElement(0, count: set))
                scratch.positions.withUnsafeMutableBufferPointer { out in
                    var k = at
                    for w in 0..<CompiledFilter.words(n) {
                        var word = bits[w]
                        while word != 0 {
                            out[k] = UInt32(w << 6 + word.trailingZeroBitCount)
                            k += 1
                            word &= word - 1
                        }
                    }
                }
            }
            shardEnds.append(scratch.positions.count)
        }
        let m = scratch.positions.count
        func pair(_ i: Int) -> (Int, Int) {
            var s = 0
            while i >= shardEnds[s] { s += 1 }
            return (s, Int(scratch.positions[i]))
        }
        guard m > want else { return (0..<m).map(pair) }
        // 2. More than the re-rank takes: rank them by Hamming distance, as a scan would.
        let words = model.words
        scratch.reserveDistances(m)
        for i in 0...bits { scratch.histogram[i] = 0 }
        var start = 0
        for (s, end) in shardEnds.enumerated() where end > start {
            scratch.positions.withUnsafeBufferPointer { p in
                scratch.distances.withUnsafeMutableBufferPointer { dist in
                    scratch.histogram.withUnsafeMutableBufferPointer { h in
                        hidx_hamming_histogram_positions(shards[s].codes, p.baseAddress! + start, end - start, words,
                                                         scratch.query, dist.baseAddress! + start, h.baseAddress!)
                    }
                }
            }
            start = end
        }
        let keep = min(m, want * options.shortlistFactor)
        let picked = Selection.collectSmallest(scratch.distances, count: m, want: keep, histogram: scratch.histogram, counted: m)
        let found = picked.map { pair(Int($0)) }
        guard options.shortlistFactor > 1 && found.count > want else { return found }
        return shortlist(found, keep: want, scratch: scratch)
    }

    // MARK: The probing plan

    private func probingCandidates(_ q: [Float], want: Int, options: SearchOptions, filter: RowFilter,
                                   scratch: SearchScratch) -> [(Int, Int)] {
        let compiled = filter.attributes!
        let partitions = partitions!
        // Partitions nearest first, in rounds: the `probes` nearest, then as many more as the
        // matches found so far say are missing (a selection per round, no sort: a round is
        // scanned whole).
        let target = Self.probeMatchFactor * unfilteredScanRows(probes: options.probes)
        var scanned = 0, matched = 0, probed = 0
        var round: [Int] = []
        var taken = 0
        var seen = [Bool](repeating: false, count: partitions.count)
        func nextRound() -> Bool {
            guard taken < partitions.count else { return false }
            var size = options.probes
            if taken > 0 {
                let perPartition = max(1.0, Double(matched) / Double(taken))
                let missing = max(options.probes - probed, Int(((target - Double(matched)) / perPartition).rounded(.up)))
                size = min(options.probes, max(8, missing))
            }
            let upTo = min(partitions.count, taken + size)
            let all = q.withUnsafeBufferPointer { qb in
                scratch.centroidScores.withUnsafeMutableBufferPointer { partitions.nearest(qb.baseAddress!, n: upTo, scratch: $0.baseAddress!) }
            }
            round = all.filter { !seen[$0] }
            for p in round { seen[p] = true }
            taken = upTo
            return true
        }
        // 1. Probe until enough matching rows were found, recording each scanned row's bit.
        var segments: [(shard: Int, start: Int, count: Int)] = []
        scratch.scanBits.removeAll(keepingCapacity: true)
        while !(probed >= options.probes && Double(matched) >= target), nextRound() {
            for p in round { probe(p) }
        }
        func probe(_ p: Int) {
            var found = 0
            for (i, shard) in shards.enumerated() {
                let offsets = shard.partitionOffsets!
                let range = offsets[p]..<offsets[p + 1]
                guard !range.isEmpty else { continue }
                let w = CompiledFilter.words(range.count)
                scratch.reserveFilter(count: range.count, depth: compiled.depth)
                let count: Int = scratch.filterBits.withUnsafeMutableBufferPointer { bits in
                    scratch.filterScratch.withUnsafeMutableBufferPointer { tmp in
                        compiled.evaluate(shard: i, range: range, into: bits.baseAddress!, scratch: tmp.baseAddress!)
                        if let deletions = shard.deletions {
                            deletions.words.withUnsafeBufferPointer { d in
                                CompiledFilter.copyBits(d.baseAddress!, from: range.lowerBound, count: range.count, into: tmp.baseAddress!)
                            }
                            for j in 0..<w { bits[j] &= ~tmp[j] }
                        }
                    }
                    var c = 0
                    for j in 0..<w { c += bits[j].nonzeroBitCount }
                    return c
                }
                guard count > 0 else { continue }
                appendBits(scratch.filterBits, count: range.count, to: &scratch.scanBits, at: scanned)
                segments.append((i, range.lowerBound, range.count))
                scanned += range.count
                found += count
            }
            if found > 0 { probed += 1; matched += found }
        }
        guard scanned > 0 else { return [] }
        // 2. The Hamming scan of those partitions, then the rows that do not match leave it.
        scanSegments(segments, scratch: scratch)
        var excluded = scratch.distances.withUnsafeMutableBufferPointer { dist in
            scratch.scanBits.withUnsafeBufferPointer { keep in
                scratch.histogram.withUnsafeMutableBufferPointer { h in
                    hidx_exclude_unset(dist.baseAddress!, scanned, keep.baseAddress!, h.baseAddress!)
                }
            }
        }
        if !filter.isEmpty { excluded += applyFilter(filter, segments: segments, scratch: scratch) }
        let found = pick(min(want * options.shortlistFactor, scanned - excluded), segments: segments,
                         scanned: scanned, excluded: excluded, scratch: scratch)
        guard options.shortlistFactor > 1 && found.count > want else { return found }
        return shortlist(found, keep: want, scratch: scratch)
    }

    /// Appends bits `0 ..< count` of `source` to the bitmap `bits` at bit `at` (its length so
    /// far).
    private func appendBits(_ source: [UInt64], count: Int, to bits: inout [UInt64], at: Int) {
        let needed = CompiledFilter.words(at + count)
        if bits.count < needed { bits.append(contentsOf: repeatElement(0, count: needed - bits.count)) }
        let shift = UInt64(at & 63), base = at >> 6
        for j in 0..<CompiledFilter.words(count) {
            let v = source[j]
            bits[base + j] |= v << shift
            if shift != 0 && base + j + 1 < needed { bits[base + j + 1] |= v >> (64 - shift) }
        }
    }
}
