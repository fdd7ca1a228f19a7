import CHashIdxKernels
import Dispatch
import Synchronization

/// An open hashidx index: memory-mapped shards, ready to search.
///
/// Opening maps the files and checks their structure and checksums; nothing is read into
/// memory beyond the manifest. One `Index` serves any number of threads at once.
///
/// ```swift
/// let index = try Index(path: "words.hidx")
/// let hits = try index.search([0.1, 0.2, /* … */], options: SearchOptions(k: 10))
/// for hit in hits { print(hit.id, hit.score) }
/// ```
public final class Index: Sendable {
    /// The index directory.
    public let path: String
    /// The number of rows (items).
    public var count: Int { Int(manifest.rows) }
    /// The vector dimension.
    public var dimension: Int { manifest.model.dimension }
    /// The code length in bits.
    public var bits: Int { manifest.model.bits }
    /// The hash function.
    public var model: HashModel { manifest.model }
    /// Whether items have string ids (from an ids file) rather than row numbers.
    public var hasStringIDs: Bool { manifest.hasStringIDs }
    /// How training ran.
    public var training: TrainingInfo { manifest.training }
    /// The on-disk format version.
    public var formatVersion: Int { Int(Format.version) }

    let manifest: Manifest
    let shards: [Shard]
    private let scratchPool = Locked<[SearchScratch]>([])

    /// Opens the index at `path` (a directory written by ``IndexBuilder``).
    ///
    /// - Throws: ``HashIdxError/notAnIndex(path:reason:)`` when `path` holds no index,
    ///   ``HashIdxError/corruptIndex(path:reason:)`` when its bytes were changed or cut.
    public init(path: String) throws(HashIdxError) {
        self.path = path
        guard FileSystem.exists(path) else { throw .io(path: path, reason: "no such file or directory") }
        guard FileSystem.isDirectory(path) else { throw .notAnIndex(path: path, reason: "it is a file; an index is a directory") }
        let currentPath = path + "/" + Format.currentFile
        guard FileSystem.exists(currentPath) else {
            throw .notAnIndex(path: path, reason: "no \(Format.currentFile) file; was the build interrupted?")
        }
        let current = try FileSystem.readSmallFile(currentPath, limit: 256)
        guard let text = String(validating: current, as: UTF8.self), text.hasSuffix("\n"),
              case let name = String(text.dropLast()), Format.generation(ofFile: name) != nil, name.hasPrefix("MANIFEST-") else {
            throw .corruptIndex(path: path, reason: "\(Format.currentFile) does not name a manifest")
        }
        let manifestFile: MappedFile
        do { manifestFile = try MappedFile(path: path + "/" + name) } catch {
            throw .corruptIndex(path: path, reason: "manifest \(name) is missing or unreadable")
        }
        manifest = try Manifest.decode(manifestFile.bytes, path: path + "/" + name)
        var shards: [Shard] = []
        for record in manifest.shards {
            shards.append(try Shard(path: path + "/" + record.fileName, record: record, manifest: manifest))
        }
        self.shards = shards
    }

    /// Bytes of all the index's live files (manifest, shards, CURRENT).
    public var bytesOnDisk: Int {
        manifest.shards.reduce(0) { $0 + Int($1.fileSize) } + manifest.encoded().count + Format.manifestName(0).count + 1
    }

    /// The element type of the stored vectors.
    public var vectorType: VectorType { manifest.vectorType }

    /// Bytes of the vector sections as float32 over their stored size (2.0 for float16
    /// stored raw; above that, LZ4 saved the rest).
    public var vectorCompressionRatio: Double {
        var stored = 0, raw = 0
        for s in shards {
            stored += s.vectorData.count
            raw += s.rows * s.dimension * 4
        }
        return raw == 0 ? 1 : Double(raw) / Double(stored)
    }

    /// The codec of each shard's vector section.
    public var vectorCodecs: [SectionCodec] { shards.map(\.vectorCodec) }

    /// The codec of each shard's id section (empty when ids are row numbers).
    public var idCodecs: [SectionCodec] { shards.compactMap(\.idCodec) }

    /// Stored bytes of the id sections over their uncompressed size (1.0 when stored raw
    /// or when ids are row numbers).
    public var idCompressionRatio: Double {
        var stored = 0, raw = 0
        for s in shards {
            guard let index = s.idIndex, let data = s.idData else { continue }
            stored += data.count
            for b in 0..<s.blockCount { raw += Int(index.le(UInt32.self, at: b * Format.blockEntrySize + 12)) }
        }
        return stored == 0 ? 1 : Double(raw) / Double(stored)
    }

    /// The number of partitions (0: none, every query scans every code).
    public var partitionCount: Int { manifest.centroids?.count ?? 0 }

    /// The number of shard files.
    public var shardCount: Int { shards.count }

    // MARK: - Items

    /// The shard holding global row `row`, and the row's local number in it.
    private func locate(_ row: Int) throws(HashIdxError) -> (Shard, Int) {
        guard row >= 0, row < count else {
            throw .invalidArgument(name: "row", reason: "\(row) is outside 0..<\(count)")
        }
        var lo = 0, hi = shards.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if shards[mid].firstRow <= row { lo = mid } else { hi = mid - 1 }
        }
        return (shards[lo], row - shards[lo].firstRow)
    }

    /// The id of row `row`.
    public func id(ofRow row: Int) throws(HashIdxError) -> String {
        let (shard, local) = try locate(row)
        if !hasStringIDs { return String(row) }
        return try shard.id(shard.position(ofRow: local), scratch: BlockBuffer())
    }

    /// The row whose id is `id`, or `nil` when no item has it.
    public func row(forID id: String) throws(HashIdxError) -> Int? {
        if !hasStringIDs {
            guard let r = Int(id), r >= 0, r < count, String(r) == id else { return nil }
            return r
        }
        let scratch = BlockBuffer()
        for s in shards {
            if let position = try s.row(forID: id, scratch: scratch) { return s.firstRow + s.rowNumber(atPosition: position) }
        }
        return nil
    }

    /// The stored vector of row `row`, at its original length.
    public func vector(ofRow row: Int) throws(HashIdxError) -> [Float] {
        var unit = try unitVector(ofRow: row)
        let (shard, local) = try locate(row)
        let n = shard.norm(shard.position(ofRow: local))
        for i in unit.indices { unit[i] *= n }
        return unit
    }

    /// The unit-normalised stored vector of row `row`.
    func unitVector(ofRow row: Int) throws(HashIdxError) -> [Float] {
        let (shard, local) = try locate(row)
        let position = shard.position(ofRow: local)
        let scratch = BlockBuffer()
        return try withExtendedLifetime(scratch) { () throws(HashIdxError) -> [Float] in
            let b = try shard.block(position / shard.rowsPerBlock, ids: false, scratch: scratch)
            let size = shard.vectorType.size
            let at = (position % shard.rowsPerBlock) * dimension * size
            switch shard.vectorType {
            case .float32: return (0..<dimension).map { Float(bitPattern: b.le(UInt32.self, at: at + 4 * $0)) }
            case .float16: return (0..<dimension).map { HalfFloat.toFloat(b.le(UInt16.self, at: at + 2 * $0)) }
            }
        }
    }

    /// Reads every vector and id block and checks its checksum. Open already checks
    /// everything else; queries check each block the first time they read it.
    public func verify() throws(HashIdxError) {
        for s in shards { try s.verifyAll() }
    }

    // MARK: - Search

    /// The `options.k` items most cosine-similar to `query`, best first; ties go to the
    /// lower row.
    ///
    /// - Throws: ``HashIdxError/dimensionMismatch(expected:actual:source:)``,
    ///   ``HashIdxError/nonFiniteValue(source:row:)``, ``HashIdxError/zeroVector(source:row:)``
    ///   for a bad query; ``HashIdxError/invalidArgument(name:reason:)`` for bad options.
    public func search(_ query: [Float], options: SearchOptions = SearchOptions()) throws(HashIdxError) -> [SearchResult] {
        try check(options, leavingOut: 0)
        return try searchUnit(try unitQuery(query), options: options, excluding: nil)
    }

    /// Checks `options` on their own and against this index: `k` may not exceed the items
    /// a search can return (all of them, less `leavingOut` for "more like this").
    private func check(_ options: SearchOptions, leavingOut: Int) throws(HashIdxError) {
        try options.validate()
        guard options.k <= count - leavingOut else {
            throw .invalidArgument(name: "k", reason: "asks for \(options.k) results, but the index holds \(count) items" +
                                   (leavingOut > 0 ? " (\(count - leavingOut) besides the item itself)" : ""))
        }
    }

    /// `query` checked against the index's dimension and normalised to unit length.
    private func unitQuery(_ query: [Float]) throws(HashIdxError) -> [Float] {
        guard query.count == dimension else {
            throw .dimensionMismatch(expected: dimension, actual: query.count, source: "query")
        }
        var q = query
        try q.withUnsafeMutableBufferPointer { (b) throws(HashIdxError) in _ = try Vectors.normalize(b, source: "query", row: 0) }
        return q
    }

    /// The items most similar to the item with id `id` ("more like this"), leaving the item
    /// itself out.
    ///
    /// - Throws: ``HashIdxError/unknownID(_:)`` when no item has that id.
    public func search(similarToID id: String, options: SearchOptions = SearchOptions()) throws(HashIdxError) -> [SearchResult] {
        try check(options, leavingOut: 1)
        guard let row = try row(forID: id) else { throw .unknownID(id) }
        let unit = try unitVector(ofRow: row)
        return try searchUnit(unit, options: options, excluding: row)
    }

    /// Searches every row of `queries`, on `threads` threads (all cores when `nil`).
    /// Result `i` belongs to query row `i`; the first bad query's error is thrown.
    public func search(batch queries: any VectorSource, options: SearchOptions = SearchOptions(),
                       threads: Int? = nil) throws(HashIdxError) -> [[SearchResult]] {
        try check(options, leavingOut: 0)
        guard queries.dimension == dimension else {
            throw .dimensionMismatch(expected: dimension, actual: queries.dimension, source: queries.name)
        }
        let n = queries.count
        let workers = max(1, min(threads ?? Self.processorCount, n))
        let results = Locked<[[SearchResult]]>(Array(repeating: [], count: n))
        let firstError = Locked<(Int, HashIdxError)?>(nil)
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            var q = [Float](repeating: 0, count: dimension)
            while true {
                let i = next.add(1, ordering: .relaxed).oldValue
                if i >= n { break }
                do throws(HashIdxError) {
                    try q.withUnsafeMutableBufferPointer { (b) throws(HashIdxError) in
                        queries.copyRow(i, into: b)
                        _ = try Vectors.normalize(b, source: queries.name, row: i)
                    }
                    let r = try searchUnit(q, options: options, excluding: nil)
                    results.withLock { $0[i] = r }
                } catch {
                    firstError.withLock { if $0 == nil || $0!.0 > i { $0 = (i, error) } }
                }
            }
        }
        if let (_, e) = firstError.withLock({ $0 }) { throw e }
        return results.withLock { $0 }
    }

    /// The number of cores.
    static var processorCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Search with a unit-normalised query.
    func searchUnit(_ q: [Float], options: SearchOptions, excluding: Int?) throws(HashIdxError) -> [SearchResult] {
        let scratch = takeScratch()
        defer { returnScratch(scratch) }
        // (At most every row: option values far above the row count cost nothing.)
        let want = min(count, max(options.candidates, options.k) + (excluding == nil ? 0 : 1))
        let candidates = rerankCandidates(q, want: want, options: options, scratch: scratch)
        // 3. Exact cosine on the candidates' vectors, block by block (candidates come sorted
        //    by shard and position, so each block is read once).
        var scored: [(row: Int, score: Float)] = []
        scored.reserveCapacity(candidates.count)
        var lastShard = -1
        var lastBlock = -1
        var block = UnsafeRawBufferPointer(start: nil, count: 0)
        try q.withUnsafeBufferPointer { (qb) throws(HashIdxError) in
            for (shardIndex, position) in candidates {
                let shard = shards[shardIndex]
                let row = shard.firstRow + shard.rowNumber(atPosition: position)
                if row == excluding { continue }
                let b = position / shard.rowsPerBlock
                if b != lastBlock || shardIndex != lastShard {
                    block = try shard.block(b, ids: false, scratch: scratch.block)
                    lastBlock = b
                    lastShard = shardIndex
                }
                let at = block.baseAddress! + (position % shard.rowsPerBlock) * dimension * shard.vectorType.size
                switch shard.vectorType {
                case .float32:
                    scored.append((row, Vectors.dot(qb.baseAddress!, at.assumingMemoryBound(to: Float.self), count: dimension)))
                case .float16:
                    scored.append((row, hidx_dot_f16(qb.baseAddress!, at.assumingMemoryBound(to: UInt16.self), dimension)))
                }
            }
        }
        // 4. Top k, best first, ties by row.
        let best = Self.topK(scored, k: options.k)
        var out: [SearchResult] = []
        out.reserveCapacity(best.count)
        for (row, score) in best {
            let id: String
            if hasStringIDs {
                let (shard, local) = try locate(row)
                id = try shard.id(shard.position(ofRow: local), scratch: scratch.block)
            } else {
                id = String(row)
            }
            out.append(SearchResult(row: row, id: id, score: min(1, max(-1, score))))
        }
        return out
    }

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

    /// The `want` items whose codes are nearest to the code of the unit vector `q` in
    /// Hamming distance, among the partitions nearest to `q` (all rows without partitions),
    /// as (shard index, position), sorted. Ties at the cut go to the earlier position.
    func candidatePositions(_ q: [Float], want: Int, probes: Int, scratch: SearchScratch) -> [(Int, Int)] {
        let words = model.words
        q.withUnsafeBufferPointer { qb in
            scratch.query.withUnsafeMutableBufferPointer { model.encode(qb, into: $0) }
        }
        // 1. The ranges of positions to scan: every row, or the probed partitions of each shard.
        var segments: [(shard: Int, start: Int, count: Int)] = []
        if let centroids = manifest.centroids, probes < centroids.count {
            let lists = q.withUnsafeBufferPointer { qb in
                scratch.centroidScores.withUnsafeMutableBufferPointer { centroids.nearest(qb.baseAddress!, n: probes, scratch: $0.baseAddress!) }
            }
            for (i, s) in shards.enumerated() {
                let offsets = s.partitionOffsets!
                for p in lists where offsets[p + 1] > offsets[p] {
                    segments.append((i, offsets[p], offsets[p + 1] - offsets[p]))
                }
            }
        } else {
            for (i, s) in shards.enumerated() { segments.append((i, 0, s.rows)) }
        }
        // 2. Hamming distance of every code in them, counted into a histogram as it goes
        //    (one kernel call per shard).
        for i in 0...bits { scratch.histogram[i] = 0 }
        var scanned = 0
        var first = 0
        while first < segments.count {
            let shard = segments[first].shard
            scratch.starts.removeAll(keepingCapacity: true)
            scratch.counts.removeAll(keepingCapacity: true)
            while first < segments.count && segments[first].shard == shard {
                scratch.starts.append(segments[first].start)
                scratch.counts.append(segments[first].count)
                first += 1
            }
            let base = scanned
            scratch.distances.withUnsafeMutableBufferPointer { dist in
                scratch.histogram.withUnsafeMutableBufferPointer { h in
                    hidx_hamming_histogram_segments(Int32(HIDX_KERNEL_AUTO), shards[shard].codes, scratch.starts,
                                                    scratch.counts, scratch.starts.count, words, scratch.query,
                                                    dist.baseAddress! + base, h.baseAddress!)
                }
            }
            scanned += scratch.counts.reduce(0, +)
        }
        // 3. The best `want`: a threshold from the histogram, then one collecting pass.
        let picked = Self.collectSmallest(scratch.distances, count: scanned, want: want, histogram: scratch.histogram)
        var out: [(Int, Int)] = []
        out.reserveCapacity(picked.count)
        var segment = 0
        var segmentStart = 0
        for i in picked {
            while i >= segmentStart + segments[segment].count { segmentStart += segments[segment].count; segment += 1 }
            out.append((segments[segment].shard, segments[segment].start + i - segmentStart))
        }
        return out
    }

    /// The `keep` of `candidates` (sorted (shard, position) pairs) with the best asymmetric
    /// scores against the unit query `q`, still sorted; ties go to the earlier candidate.
    func shortlist(_ candidates: [(Int, Int)], query q: [Float], keep: Int, scratch: SearchScratch) -> [(Int, Int)] {
        let words = model.words
        let planes = BitPlanes(margins: model.margins(q), words: words)
        // The candidates' codes side by side (they were just scanned, so they are in cache),
        // then one scoring call.
        let n = candidates.count
        if scratch.gathered.count < n * words { scratch.gathered = [UInt64](repeating: 0, count: n * words) }
        var scores = [Int32](repeating: 0, count: n)
        scratch.gathered.withUnsafeMutableBufferPointer { g in
            for (i, (shard, position)) in candidates.enumerated() {
                (g.baseAddress! + i * words).update(from: shards[shard].codes + position * words, count: words)
            }
            scores.withUnsafeMutableBufferPointer { planes.scores(of: g.baseAddress!, count: n, into: $0.baseAddress!) }
        }
        // Scores are small integers (|score| < 2^24), exact as floats: the radix select.
        let asFloat = scores.map { Float($0) }
        let keep = min(keep, n)
        let picked = [UInt32](unsafeUninitializedCapacity: keep) { b, written in
            written = hidx_select_largest_f32(asFloat, n, keep, b.baseAddress!)
        }
        return picked.map { candidates[Int($0)] }
    }

    /// The rows a search with `options` re-ranks by exact cosine for `query`, ascending:
    /// the Hamming scan's best `candidates × shortlistFactor` in the probed partitions,
    /// narrowed to `candidates` by the asymmetric pass.
    public func candidates(for query: [Float], options: SearchOptions = SearchOptions()) throws(HashIdxError) -> [Int] {
        try check(options, leavingOut: 0)
        let q = try unitQuery(query)
        let scratch = takeScratch()
        defer { returnScratch(scratch) }
        return rerankCandidates(q, want: min(count, max(options.candidates, options.k)), options: options, scratch: scratch)
            .map { shards[$0.0].firstRow + shards[$0.0].rowNumber(atPosition: $0.1) }.sorted()
    }

    /// The `want` (shard, position) pairs that go to the exact re-rank, sorted: the Hamming
    /// scan's best `want × shortlistFactor` in the probed partitions, narrowed by the
    /// asymmetric pass.
    private func rerankCandidates(_ q: [Float], want: Int, options: SearchOptions, scratch: SearchScratch) -> [(Int, Int)] {
        let found = candidatePositions(q, want: min(count, want * options.shortlistFactor), probes: options.probes, scratch: scratch)
        guard options.shortlistFactor > 1 && found.count > want else { return found }
        return shortlist(found, query: q, keep: want, scratch: scratch)
    }

    /// Indices (ascending) of the `want` smallest of `values[0..<count]`, ties broken by
    /// lower index, found with one histogram pass and one collection pass.
    static func selectSmallest(_ values: [UInt16], count: Int, want: Int, maxValue: Int,
                               histogram: inout [UInt32]) -> [Int] {
        for i in 0...maxValue { histogram[i] = 0 }
        values.withUnsafeBufferPointer { v in
            histogram.withUnsafeMutableBufferPointer { h in hidx_histogram_u16(v.baseAddress!, count, h.baseAddress!) }
        }
        return collectSmallest(values, count: count, want: want, histogram: histogram)
    }

    /// `selectSmallest` with the histogram of `values` already counted.
    static func collectSmallest(_ values: [UInt16], count: Int, want: Int, histogram: [UInt32]) -> [Int] {
        if want >= count { return Array(0..<count) }
        // Threshold t: all values < t are taken, plus the first (want - below) equal to t.
        var below = 0
        var t = 0
        while below + Int(histogram[t]) < want { below += Int(histogram[t]); t += 1 }
        var picked = [UInt32](repeating: 0, count: want)
        let n = values.withUnsafeBufferPointer { v in
            picked.withUnsafeMutableBufferPointer { p in
                hidx_collect_below(v.baseAddress!, count, UInt16(t), want - below, p.baseAddress!)
            }
        }
        return picked.prefix(n).map { Int($0) }
    }

    private func takeScratch() -> SearchScratch {
        if let s = scratchPool.withLock({ $0.popLast() }) { return s }
        return SearchScratch(rows: count, words: model.words, bits: bits, centroidScores: manifest.centroids?.scratchSize() ?? 0)
    }

    private func returnScratch(_ s: SearchScratch) {
        scratchPool.withLock { $0.append(s) }
    }
}

/// Per-search working memory, reused across searches.
final class SearchScratch: @unchecked Sendable {
    var query: [UInt64]
    var distances: [UInt16]
    var histogram: [UInt32]
    let block = BlockBuffer()
    var centroidScores: [Float]
    /// The ranges of one shard's codes to scan (start, count), for the kernel.
    var starts: [Int] = []
    var counts: [Int] = []
    /// Candidate codes gathered for the asymmetric pass.
    var gathered: [UInt64] = []

    init(rows: Int, words: Int, bits: Int, centroidScores: Int) {
        self.centroidScores = [Float](repeating: 0, count: centroidScores)
        query = [UInt64](repeating: 0, count: words)
        distances = [UInt16](repeating: 0, count: rows)
        histogram = [UInt32](repeating: 0, count: bits + 1)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
