extension Searcher {
    /// The `want` (shard, position) pairs that go to the exact re-rank, in scan order (sorted
    /// by shard and position without an arena): the Hamming scan's best
    /// `want × shortlistFactor` in the probed partitions, narrowed by the asymmetric pass.
    /// Rows `filter` excludes are never among them.
    func rerankCandidates(_ q: [Float], want: Int, options: SearchOptions, filter: RowFilter,
                          scratch: SearchScratch) -> [(Int, Int)] {
        prepareQuery(q, scratch: scratch)
        if filter.attributes != nil {
            return filteredCandidates(q, want: want, options: options, filter: filter, scratch: scratch)
        }
        var found = candidatePositions(q, want: min(count, want * options.shortlistFactor), probes: options.probeCount,
                                       filter: filter, scratch: scratch)
        if options.shortlistFactor > 1 && found.count > want { found = shortlist(found, keep: want, scratch: scratch) }
        // Arena rows become (shard, position) only now, for the candidates kept: an arena
        // row's origin is a cache miss (the scan never touched it), four times fewer here
        // than at the pick (perf, GloVe-50 after churn: 70 % of the pick's time).
        // (Through a pointer: no uniqueness check between the loads, so their misses overlap.)
        if let arena {
            found.withUnsafeMutableBufferPointer { f in
                for i in f.indices where f[i].0 < 0 { f[i] = arena.locate(f[i].1) }
            }
        }
        return found
    }

    /// Projects the unit vector `q` once: its margins (for the asymmetric pass) and its code
    /// go to `scratch`.
    func prepareQuery(_ q: [Float], scratch: SearchScratch) {
        q.withUnsafeBufferPointer { qb in
            scratch.margins.withUnsafeMutableBufferPointer { model.project(qb, into: $0) }
        }
        scratch.margins.withUnsafeBufferPointer { m in
            scratch.query.withUnsafeMutableBufferPointer { model.code(fromMargins: m, into: $0) }
        }
    }

    /// The `want` items whose codes are nearest to the query's code (``prepareQuery(_:scratch:)``
    /// put it in `scratch`) in Hamming distance, among the partitions nearest to `q` (all
    /// rows without partitions), as (shard index, position) — (−1, arena row) for a row the
    /// ``arena`` holds — in scan order. Ties at the cut go to the earlier scanned row.
    func candidatePositions(_ q: [Float], want: Int, probes: Int, filter: RowFilter, scratch: SearchScratch) -> [(Int, Int)] {
        // 1. The ranges of positions to scan: every row, or the probed partitions of each shard
        //    (of the arena's shards, one run of the arena per partition).
        var segments: [(shard: Int, start: Int, count: Int)] = []
        if let partitions, probes < partitions.count {
            let lists = q.withUnsafeBufferPointer { qb in
                scratch.margins.withUnsafeBufferPointer { m in
                    scratch.centroidScores.withUnsafeMutableBufferPointer {
                        partitions.nearest(qb.baseAddress!, margins: m.baseAddress!, n: probes, scratch: $0.baseAddress!)
                    }
                }
            }
            segments.reserveCapacity(shards.count * lists.count)
            if let arena {
                for p in lists where arena.listStarts[p + 1] > arena.listStarts[p] {
                    segments.append((PartitionArena.tag(list: p), arena.listStarts[p],
                                     arena.listStarts[p + 1] - arena.listStarts[p]))
                }
            }
            for (i, s) in shards.enumerated() where !(arena?.isCovered[i] ?? false) {
                let offsets = s.partitionOffsets!
                for p in lists where offsets[p + 1] > offsets[p] {
                    segments.append((i, offsets[p], offsets[p + 1] - offsets[p]))
                }
            }
        } else {
            for (i, s) in shards.enumerated() { segments.append((i, 0, s.rows)) }
        }
        // 2. Hamming distance of every code in them, counted into a histogram, except the
        //    deleted rows'.
        let (scanned, deleted) = scanSegments(segments, scratch: scratch)
        // 3. Rows the filter excludes leave the histogram and can no longer be picked.
        let excluded = deleted + (filter.isEmpty ? 0 : applyFilter(filter, segments: segments, scratch: scratch))
        // 4. The best `want`.
        return pick(want, segments: segments, scanned: scanned, excluded: excluded, scratch: scratch)
    }

    /// Hamming distances of every code in `segments` to the query's code, in segment order,
    /// into `scratch.distances`, counted into `scratch.histogram` (one kernel call per shard,
    /// and one for the ``arena``'s segments, whose `shard` is a ``PartitionArena/tag(list:)``).
    /// Returns the rows scanned, and how many of them were deleted rows.
    /// Rows not counted get distance 0xFFFF (never picked): with `keep` (a bit per scanned
    /// row), those whose bit is clear (`keep` must leave out the deleted rows); without, the
    /// deleted rows (the kernel reads the shard's deletion bits: marking them after the scan
    /// cost a seventh of a query with 12 % of the rows deleted, perf on GloVe-50 churn).
    @discardableResult
    func scanSegments(_ segments: [(shard: Int, start: Int, count: Int)], keep: UnsafePointer<UInt64>? = nil,
                      scratch: SearchScratch) -> (scanned: Int, deleted: Int) {
        scratch.reserveDistances(segments.reduce(0) { $0 + $1.count })
        // The segment lists are taken out of the scratch object for the loop: appending to a
        // class's stored array costs a dynamic exclusivity check per call, which with
        // several shards × 100+ probes was a sixth of a query (perf, GloVe-50, 10 shards).
        var starts: [Int] = [], counts: [Int] = []
        swap(&starts, &scratch.starts)
        swap(&counts, &scratch.counts)
        defer {
            swap(&starts, &scratch.starts)
            swap(&counts, &scratch.counts)
        }
        var scanned = 0, deleted = 0
        var first = 0
        scratch.distances.withUnsafeMutableBufferPointer { dist in
            scratch.histogram.withUnsafeMutableBufferPointer { h in
                for i in 0...bits { h[i] = 0 }
                scratch.query.withUnsafeBufferPointer { query in
                    while first < segments.count {
                        let shard = max(-1, segments[first].shard)   // (every arena segment: −1)
                        starts.removeAll(keepingCapacity: true)
                        counts.removeAll(keepingCapacity: true)
                        var rows = 0
                        while first < segments.count && max(-1, segments[first].shard) == shard {
                            starts.append(segments[first].start)
                            counts.append(segments[first].count)
                            rows += segments[first].count
                            first += 1
                        }
                        if shard < 0, let arena {
                            precondition(keep == nil, "an arena segment in a scan with a keep bitmap")
                            deleted += Kernels.hammingHistogramSegments(
                                arena, starts: starts, counts: counts, segments: starts.count, query: query.baseAddress!,
                                dropping: arenaDropped, into: dist.baseAddress! + scanned, histogram: h.baseAddress!)
                        } else {
                            deleted += Kernels.hammingHistogramSegments(
                                shards[shard].codes, starts: starts, counts: counts, segments: starts.count,
                                query: query.baseAddress!, keeping: keep, from: scanned, dropping: shards[shard].deletions,
                                into: dist.baseAddress! + scanned, histogram: h.baseAddress!)
                        }
                        scanned += rows
                    }
                }
            }
        }
        return (scanned, deleted)
    }

    /// The `want` scanned rows of least distance (a threshold from the histogram, then one
    /// collecting pass), as (shard, position) pairs in scan order, or (−1, arena row) for
    /// rows scanned in the ``arena`` (``rerankCandidates`` resolves them); `excluded` scanned
    /// rows were marked out.
    func pick(_ want: Int, segments: [(shard: Int, start: Int, count: Int)], scanned: Int, excluded: Int,
              scratch: SearchScratch) -> [(Int, Int)] {
        let picked = Selection.collectSmallest(scratch.distances, count: scanned, want: want, histogram: scratch.histogram,
                                               counted: scanned - excluded)
        var out: [(Int, Int)] = []
        out.reserveCapacity(picked.count)
        var segment = 0
        var segmentStart = 0
        for i in picked {
            while i >= segmentStart + segments[segment].count { segmentStart += segments[segment].count; segment += 1 }
            let s = segments[segment]
            out.append((max(-1, s.shard), s.start + i - segmentStart))
        }
        return out
    }

    /// Marks every scanned row that `filter` excludes: its distance becomes a value above any
    /// Hamming distance and it leaves the histogram, so the selection never picks it.
    /// Returns how many scanned rows it marked.
    func applyFilter(_ filter: RowFilter, segments: [(shard: Int, start: Int, count: Int)], scratch: SearchScratch) -> Int {
        let excluded = UInt16.max
        var marked = 0
        for row in filter.excludedRows {
            guard let (shard, local) = try? locate(row) else { continue }
            let position = shard.position(ofRow: local)
            let shardIndex = shards.firstIndex { $0 === shard }!
            var scanStart = 0
            for s in segments {
                var at: Int? = nil
                if s.shard < 0 {
                    at = arena?.offset(list: PartitionArena.list(ofTag: s.shard), shard: shardIndex, position: position)
                } else if s.shard == shardIndex && position >= s.start && position < s.start + s.count {
                    at = position - s.start
                }
                if let at {
                    let i = scanStart + at
                    let d = scratch.distances[i]
                    if d != excluded {
                        scratch.histogram[Int(d)] -= 1
                        scratch.distances[i] = excluded
                        marked += 1
                    }
                    break
                }
                scanStart += s.count
            }
        }
        return marked
    }

    /// The `keep` of `candidates` ((shard, position) pairs, or (−1, arena row)) with the best
    /// asymmetric scores against the query whose margins ``candidatePositions`` left in
    /// `scratch`, in their order; ties go to the earlier candidate.
    func shortlist(_ candidates: [(Int, Int)], keep: Int, scratch: SearchScratch) -> [(Int, Int)] {
        let words = model.words
        let planes = BitPlanes(margins: scratch.margins, words: words)
        // The candidates' codes side by side (they were just scanned, so they are in cache),
        // then one scoring call.
        let n = candidates.count
        if scratch.gathered.count < n * words { scratch.gathered = [UInt64](repeating: 0, count: n * words) }
        var scores = [Int32](repeating: 0, count: n)
        // (Arena rows' codes come from the arena: the scan just read them there.)
        scratch.gathered.withUnsafeMutableBufferPointer { g in
            for (i, (shard, position)) in candidates.enumerated() {
                if shard < 0, let arena {
                    arena.copy(position, into: g.baseAddress! + i * words)
                } else {
                    shards[shard].codes.copy(position, into: g.baseAddress! + i * words)
                }
            }
            scores.withUnsafeMutableBufferPointer { planes.scores(of: g.baseAddress!, count: n, into: $0.baseAddress!) }
        }
        // Scores are small integers (|score| < 2^24), exact as floats: the radix select.
        let asFloat = scores.map { Float($0) }
        let keep = min(keep, n)
        let picked = [UInt32](unsafeUninitializedCapacity: keep) { b, written in
            written = Kernels.selectLargest(asFloat, count: n, keep: keep, into: b.baseAddress!)
        }
        return picked.map { candidates[Int($0)] }
    }
}
