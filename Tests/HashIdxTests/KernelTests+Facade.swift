import CHashIdxKernels
import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// The `Kernels` facade, entry by entry: each gives what the naive computation or the C
/// kernel's portable path gives, bit for bit, on every kernel this CPU can run; and its
/// entries on storage's views read the same memory as on raw codes.
extension KernelTests {
    private func naiveDistance(_ codes: [UInt64], _ i: Int, _ query: [UInt64]) -> UInt16 {
        let words = query.count
        return UInt16((0..<words).reduce(0) { $0 + (codes[i * words + $1] ^ query[$1]).nonzeroBitCount })
    }

    /// The segmented scan, with and without a keep bitmap (by scan order) or a dropped bitmap
    /// (by code number, a shard's deletions), on every kernel and the automatic choice:
    /// distances and histogram equal the naive ones.
    func testFacadeSegmentScansMatchNaive() {
        var rng = TestRandom(seed: 21)
        for words in [1, 2, 4, 8] {
            let count = 900
            let codes = (0..<(count * words)).map { _ in rng.next() }
            let query = (0..<words).map { _ in rng.next() }
            let starts = [0, 3, 64, 500, 899], counts = [2, 40, 0, 333, 1]
            let scanned = counts.reduce(0, +)
            let keep = (0..<((scanned + 7 + 63) / 64)).map { _ in rng.next() }
            let keepFirst = 7   // the scan's rows start at bit 7
            // A fifth of the codes dropped, and every one of 64 ..< 130 (whole words).
            var dropped = (0..<((count + 63) / 64)).map { _ in rng.next() & rng.next() & (rng.next() | rng.next()) }
            dropped[1] = ~0; dropped[2] |= 3
            var plain: [UInt16] = [], kept: [UInt16] = [], kept2: [UInt16] = []
            var plainHistogram = [UInt32](repeating: 0, count: words * 64 + 1), keptHistogram = plainHistogram
            var droppedHistogram = plainHistogram, droppedCount = 0
            for (s, c) in zip(starts, counts) {
                for i in s..<(s + c) {
                    let d = naiveDistance(codes, i, query)
                    let bit = keepFirst + plain.count
                    plain.append(d)
                    plainHistogram[Int(d)] += 1
                    if keep[bit >> 6] & (1 << UInt64(bit & 63)) != 0 { kept.append(d); keptHistogram[Int(d)] += 1 } else { kept.append(0xFFFF) }
                    if dropped[i >> 6] & (1 << UInt64(i & 63)) == 0 { kept2.append(d); droppedHistogram[Int(d)] += 1 } else { kept2.append(0xFFFF); droppedCount += 1 }
                }
            }
            let kernels: [Kernels.HammingKernel?] = [nil] + Kernels.HammingKernel.allCases.filter(\.isAvailable)
            for kernel in kernels {
                var d = [UInt16](repeating: 0, count: scanned), h = [UInt32](repeating: 0, count: words * 64 + 1)
                Kernels.hammingHistogramSegments(codes: codes, starts: starts, counts: counts, segments: starts.count, words: words,
                                                 query: query, into: &d, histogram: &h, kernel: kernel)
                XCTAssertEqual(d, plain, "\(kernel.map(String.init(describing:)) ?? "auto"), words \(words)")
                XCTAssertEqual(h, plainHistogram)
                d = [UInt16](repeating: 0, count: scanned); h = [UInt32](repeating: 0, count: words * 64 + 1)
                Kernels.hammingHistogramSegments(codes: codes, starts: starts, counts: counts, segments: starts.count, words: words,
                                                 query: query, keeping: keep, from: keepFirst, into: &d, histogram: &h, kernel: kernel)
                XCTAssertEqual(d, kept, "kept, \(kernel.map(String.init(describing:)) ?? "auto"), words \(words)")
                XCTAssertEqual(h, keptHistogram)
                d = [UInt16](repeating: 0, count: scanned); h = [UInt32](repeating: 0, count: words * 64 + 1)
                let left = Kernels.hammingHistogramSegments(codes: codes, starts: starts, counts: counts, segments: starts.count,
                                                            words: words, query: query, dropping: dropped, into: &d, histogram: &h,
                                                            kernel: kernel)
                XCTAssertEqual(d, kept2, "dropped, \(kernel.map(String.init(describing:)) ?? "auto"), words \(words)")
                XCTAssertEqual(h, droppedHistogram)
                XCTAssertEqual(left, droppedCount)
            }
        }
    }

    /// The gather of listed positions equals the naive distances, in list order.
    func testFacadePositionGatherMatchesNaive() {
        var rng = TestRandom(seed: 22)
        for words in [1, 4, 8] {
            let count = 500
            let codes = (0..<(count * words)).map { _ in rng.next() }
            let query = (0..<words).map { _ in rng.next() }
            let positions = (0..<77).map { _ in UInt32(rng.next() % UInt64(count)) }
            var d = [UInt16](repeating: 0, count: positions.count), h = [UInt32](repeating: 0, count: words * 64 + 1)
            Kernels.hammingHistogramPositions(codes: codes, positions: positions, count: positions.count, words: words,
                                              query: query, into: &d, histogram: &h)
            let expected = positions.map { naiveDistance(codes, Int($0), query) }
            XCTAssertEqual(d, expected)
            var expectedHistogram = [UInt32](repeating: 0, count: words * 64 + 1)
            for e in expected { expectedHistogram[Int(e)] += 1 }
            XCTAssertEqual(h, expectedHistogram)
        }
    }

    /// Bit counts and positions over unaligned ranges, and the numeric range compare with
    /// every strictness, equal the naive answers.
    func testFacadeBitmapEntriesMatchNaive() {
        var rng = TestRandom(seed: 23)
        let bits = (0..<9).map { _ in rng.next() & rng.next() }
        func isSet(_ p: Int) -> Bool { bits[p >> 6] & (1 << UInt64(p & 63)) != 0 }
        for range in [0..<0, 0..<576, 3..<4, 5..<130, 63..<65, 64..<128, 100..<575] {
            let expected = range.filter(isSet)
            XCTAssertEqual(Kernels.bitCount(bits, in: range), expected.count, "\(range)")
            var out = [UInt32](repeating: 0, count: expected.count + 1)
            XCTAssertEqual(Kernels.bitPositions(bits, in: range, into: &out), expected.count)
            XCTAssertEqual(out.prefix(expected.count).map { Int($0) }, expected, "\(range)")
        }
        let values = (0..<301).map { _ in Double(rng.next() % 21) - 10 }
        for (lo, hi) in [(-3.0, 4.0), (-Double.infinity, 0), (2, 2), (5, -5)] {
            for (loStrict, hiStrict) in [(false, false), (true, false), (false, true), (true, true)] {
                var out = [UInt64](repeating: ~0, count: 5)
                Kernels.numbersInRange(values, count: values.count, lo: lo, hi: hi, loStrict: loStrict, hiStrict: hiStrict, into: &out)
                for (i, v) in values.enumerated() {
                    let inside = (loStrict ? v > lo : v >= lo) && (hiStrict ? v < hi : v <= hi)
                    XCTAssertEqual(out[i >> 6] & (1 << UInt64(i & 63)) != 0, inside, "\(v) in \(lo)…\(hi)")
                }
                XCTAssertEqual(out[4] >> UInt64(301 % 64), 0, "bits past the count are zero")
            }
        }
    }

    /// The selection's entries: the histogram counts, the collection equals the portable
    /// path, the radix select of floats equals a full sort (lower index first on ties).
    func testFacadeSelectionEntriesMatchTheirReferences() {
        var rng = TestRandom(seed: 24)
        let values = (0..<2049).map { _ in UInt16(rng.next() % 65) }
        var h = [UInt32](repeating: 0, count: 65)
        Kernels.histogram(values, count: values.count, into: &h)
        XCTAssertEqual(h, (0..<65).map { v in UInt32(values.filter { $0 == v }.count) })
        for (threshold, ties) in [(UInt16(0), 3), (20, 7), (64, 2049)] {
            var a = [UInt32](repeating: 0, count: values.count), b = a
            let na = Kernels.collectBelow(values, count: values.count, threshold: threshold, atThreshold: ties, into: &a)
            let nb = hidx_collect_below_portable(values, values.count, threshold, ties, &b)
            XCTAssertEqual(Array(a.prefix(na)), Array(b.prefix(nb)), "threshold \(threshold)")
        }
        let scores = (0..<700).map { _ in Float(Int(rng.next() % 50) - 25) }
        let expected = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.prefix(64).sorted()
        var picked = [UInt32](repeating: 0, count: 64)
        XCTAssertEqual(Kernels.selectLargest(scores, count: scores.count, keep: 64, into: &picked), 64)
        XCTAssertEqual(picked.map { Int($0) }, Array(expected))
    }

    /// The shortlist's plane scores equal the portable path; the re-rank's dot products equal
    /// the kernels a search ran before the facade (float32: `Vectors.dot`; float16: the F16C
    /// kernel, close to its portable twin).
    func testFacadeShortlistAndDotsMatchTheirKernels() {
        var rng = TestRandom(seed: 25)
        for words in [1, 4] {
            let count = 129
            let codes = (0..<(count * words)).map { _ in rng.next() }
            let planes = BitPlanes(margins: (0..<(words * 64)).map { _ in Float(rng.nextGaussian()) }, words: words)
            var facade = [Int32](repeating: 0, count: count), portable = facade
            Kernels.planeScores(codes: codes, count: count, words: words, positive: planes.positive, negative: planes.negative,
                                planes: Kernels.shortlistPlanes, into: &facade)
            hidx_plane_scores_portable(codes, count, words, planes.positive, planes.negative, Int32(BitPlanes.planeCount), &portable)
            XCTAssertEqual(facade, portable, "words \(words)")
        }
        for n in [1, 7, 50, 96, 301] {
            let a = (0..<n).map { _ in Float(rng.nextGaussian()) }, b = (0..<n).map { _ in Float(rng.nextGaussian()) }
            XCTAssertEqual(Kernels.dot(a, b, count: n).bitPattern, Vectors.dot(a, b, count: n).bitPattern)
            var halves = [UInt16](repeating: 0, count: n)
            hidx_float_to_half(b, &halves, n)
            XCTAssertEqual(Kernels.dot(a, halves: halves, count: n).bitPattern, hidx_dot_f16(a, halves, n).bitPattern)
            XCTAssertEqual(Kernels.dot(a, halves: halves, count: n), hidx_dot_f16_portable(a, halves, n), accuracy: 1e-4 * Float(n))
        }
    }

    /// The facade's entries on a shard's views read what the raw entries read on the same
    /// codes and vectors copied out of the shard.
    func testFacadeOnShardViewsReadsTheShard() throws {
        let dir = makeTemporaryDirectory(self)
        let rows = clusteredVectors(count: 400, dim: 12, seed: 3)
        var options = BuildOptions(training: TrainingOptions(bits: 128), partitions: 4, threads: 1)
        options.vectorType = .float32
        try IndexBuilder.build(source: try InMemoryVectors(rows: rows), to: dir + "/v.hidx", options: options)
        let index = try Index(path: dir + "/v.hidx")
        let shard = index.shards[0], codes = shard.codes, words = codes.words
        XCTAssertEqual(codes.count, shard.rows)
        let copied = (0..<codes.count).flatMap { codes.code(at: $0) }
        let query = codes.code(at: 17).map { $0 ^ 0x0F0F }
        let starts = [0, 100, 390], counts = [50, 120, 10]
        var viewed = [UInt16](repeating: 0, count: 180), raw = viewed
        var hv = [UInt32](repeating: 0, count: words * 64 + 1), hr = hv
        _ = Kernels.hammingHistogramSegments(codes, starts: starts, counts: counts, segments: 3, query: query, keeping: nil,
                                             from: 0, dropping: nil, into: &viewed, histogram: &hv)
        Kernels.hammingHistogramSegments(codes: copied, starts: starts, counts: counts, segments: 3, words: words, query: query,
                                         into: &raw, histogram: &hr)
        XCTAssertEqual(viewed, raw)
        XCTAssertEqual(hv, hr)
        let positions: [UInt32] = [399, 0, 17, 200]
        var gv = [UInt16](repeating: 0, count: 4), gr = gv
        Kernels.hammingHistogramPositions(codes, positions: positions, count: 4, query: query, into: &gv, histogram: &hv)
        Kernels.hammingHistogramPositions(codes: copied, positions: positions, count: 4, words: words, query: query, into: &gr, histogram: &hr)
        XCTAssertEqual(gv, gr)
        XCTAssertEqual(gv[2], UInt16(words * 8))
        var cursor = BlockCursor()
        let q = rows[5].map { $0 / 10 }
        for p in [0, 63, 64, 399] {
            let v = try shard.storedVector(at: p, cursor: &cursor)
            let floats = try shard.unitVector(at: p)
            XCTAssertEqual(Kernels.dot(q, v).bitPattern, Kernels.dot(q, floats, count: floats.count).bitPattern)
        }
    }
}
