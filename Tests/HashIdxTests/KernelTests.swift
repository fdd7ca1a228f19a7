import CHashIdxKernels
import XCTest
@testable import HashIdx
import HashIdxTestSupport

final class KernelTests: XCTestCase {
    private func naiveHamming(_ a: ArraySlice<UInt64>, _ b: [UInt64]) -> UInt16 {
        var n = 0
        for (x, y) in zip(a, b) {
            var v = x ^ y
            while v != 0 { n += Int(v & 1); v >>= 1 }
        }
        return UInt16(n)
    }

    /// Every kernel this CPU can run gives exactly the naive bit count, for every code
    /// length and for counts that leave a tail.
    func testEveryAvailableKernelMatchesNaiveCount() {
        var rng = TestRandom(seed: 42)
        let kernels = [HIDX_KERNEL_PORTABLE, HIDX_KERNEL_POPCNT, HIDX_KERNEL_AVX512, HIDX_KERNEL_AVX2, HIDX_KERNEL_AUTO].map { Int32($0) }
        var ran = 0
        for words in [1, 2, 3, 4, 8, 16] {
            for count in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 64, 101] {
                let codes = (0..<(count * words)).map { _ in rng.next() }
                let query = (0..<words).map { _ in rng.next() }
                let expected = (0..<count).map { naiveHamming(codes[($0 * words)..<(($0 + 1) * words)], query) }
                for k in kernels where hidx_kernel_available(k) != 0 {
                    var out = [UInt16](repeating: 0xFFFF, count: count)
                    codes.withUnsafeBufferPointer { c in
                        out.withUnsafeMutableBufferPointer { o in
                            hidx_hamming_distances(k, c.baseAddress, count, words, query, o.baseAddress)
                        }
                    }
                    XCTAssertEqual(out, expected, "kernel \(String(cString: hidx_kernel_name(k))) words \(words) count \(count)")
                    ran += 1
                }
            }
        }
        XCTAssertGreaterThan(ran, 0)
        // Every kernel the library knows is listed, and the best one is available.
        XCTAssertTrue(Kernels.HammingKernel.best.isAvailable)
        XCTAssertEqual(Kernels.HammingKernel.allCases.count, 4)
    }

    func testExtremeCodes() {
        let words = 4
        let codes: [UInt64] = [0, 0, 0, 0, .max, .max, .max, .max, 1, 0, 0, 1 << 63]
        let query: [UInt64] = [0, 0, 0, 0]
        for k in [HIDX_KERNEL_PORTABLE, HIDX_KERNEL_POPCNT, HIDX_KERNEL_AVX512, HIDX_KERNEL_AVX2].map(Int32.init) where hidx_kernel_available(k) != 0 {
            var out = [UInt16](repeating: 0, count: 3)
            hidx_hamming_distances(k, codes, 3, words, query, &out)
            XCTAssertEqual(out, [0, 256, 2])
        }
    }

    func testCRC32CKnownValuesAndPortableAgreement() {
        let check = Array("123456789".utf8)
        XCTAssertEqual(hidx_crc32c(0, check, check.count), 0xE306_9283)
        XCTAssertEqual(hidx_crc32c_portable(0, check, check.count), 0xE306_9283)
        var rng = TestRandom(seed: 1)
        for length in [0, 1, 7, 8, 9, 63, 1000] {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            XCTAssertEqual(hidx_crc32c(0, bytes, length), hidx_crc32c_portable(0, bytes, length))
            // Incremental equals one-shot.
            let half = length / 2
            let a = hidx_crc32c(0, bytes, half)
            let b = bytes.withUnsafeBufferPointer { hidx_crc32c(a, $0.baseAddress! + half, length - half) }
            XCTAssertEqual(b, hidx_crc32c(0, bytes, length))
        }
    }

    func testTopKMatchesFullSort() {
        var rng = TestRandom(seed: 8)
        for n in [0, 1, 5, 100, 1000] {
            // Few distinct scores, so that ties are common.
            let scored = (0..<n).map { (row: Int($0), score: Float(rng.next() % 7) / 7) }
            let sorted = scored.sorted { $0.score > $1.score || ($0.score == $1.score && $0.row < $1.row) }
            for k in [1, 3, 10, 63, 64, 200] {
                let top = Selection.topK(scored, k: k)
                XCTAssertEqual(top.map(\.row), sorted.prefix(k).map(\.row), "n \(n) k \(k)")
            }
        }
    }

    func testFusedHistogramMatchesSeparatePasses() {
        var rng = TestRandom(seed: 12)
        for words in [1, 4, 8] {
            let count = 1500
            let codes = (0..<(count * words)).map { _ in rng.next() }
            let query = (0..<words).map { _ in rng.next() }
            var d1 = [UInt16](repeating: 0, count: count), d2 = d1
            var h1 = [UInt32](repeating: 0, count: words * 64 + 1), h2 = h1
            hidx_hamming_distances(Int32(HIDX_KERNEL_PORTABLE), codes, count, words, query, &d1)
            hidx_histogram_u16(d1, count, &h1)
            hidx_hamming_histogram(Int32(HIDX_KERNEL_AUTO), codes, count, words, query, &d2, &h2)
            XCTAssertEqual(d1, d2)
            XCTAssertEqual(h1, h2)
        }
    }

    /// The segmented scan (one call over several ranges, as a partitioned query makes)
    /// equals one scan per range, distances and histogram alike.
    func testSegmentedHistogramMatchesOneScanPerRange() {
        var rng = TestRandom(seed: 13)
        let words = 4, count = 3000
        let codes = (0..<(count * words)).map { _ in rng.next() }
        let query = (0..<words).map { _ in rng.next() }
        let starts = [0, 17, 700, 1299, 2999], counts = [5, 600, 0, 1300, 1]
        var expected: [UInt16] = []
        var h1 = [UInt32](repeating: 0, count: words * 64 + 1), h2 = h1
        for (s, c) in zip(starts, counts) {
            var d = [UInt16](repeating: 0, count: c)
            hidx_hamming_distances(Int32(HIDX_KERNEL_PORTABLE), Array(codes[(s * words)...]), c, words, query, &d)
            expected += d
        }
        hidx_histogram_u16(expected, expected.count, &h1)
        var got = [UInt16](repeating: 0, count: expected.count)
        hidx_hamming_histogram_segments(Int32(HIDX_KERNEL_AUTO), codes, starts, counts, starts.count, words, query, &got, &h2)
        XCTAssertEqual(got, expected)
        XCTAssertEqual(h1, h2)
    }

    /// Centroid scoring gives bit-identical scores on every path this CPU can run (they all
    /// chain fused multiply-adds in the same order), close to a double-precision reference.
    func testDotTransposedPathsAgree() {
        var rng = TestRandom(seed: 14)
        for (rows, dim, count) in [(1, 50, 1249), (8, 96, 70), (5, 3, 1), (13, 17, 130)] {
            let stride = (count + 63) / 64 * 64
            let x = (0..<(rows * dim)).map { _ in Float(rng.nextGaussian()) }
            let c = (0..<(count * dim)).map { _ in Float(rng.nextGaussian()) }
            var t = [Float](repeating: 0, count: dim * stride)
            for j in 0..<count { for i in 0..<dim { t[i * stride + j] = c[j * dim + i] } }
            var reference = [Float](repeating: .nan, count: rows * stride)
            hidx_dot_transposed_with(0, x, rows, dim, t, stride, &reference)
            for r in 0..<rows {
                for j in 0..<count {
                    var exact = 0.0
                    for i in 0..<dim { exact += Double(x[r * dim + i]) * Double(c[j * dim + i]) }
                    XCTAssertEqual(Double(reference[r * stride + j]), exact, accuracy: 1e-4 * Double(dim))
                }
                for j in count..<stride { XCTAssertEqual(reference[r * stride + j], 0) }
            }
            for path in 1...2 where path <= hidx_dot_transposed_path() {
                var out = [Float](repeating: .nan, count: rows * stride)
                hidx_dot_transposed_with(Int32(path), x, rows, dim, t, stride, &out)
                XCTAssertEqual(out.map(\.bitPattern), reference.map(\.bitPattern), "path \(path), \(rows) × \(dim) × \(count)")
            }
        }
    }

    /// The select of the centroid probe and the shortlist picks what a full sort picks, ties
    /// at the cut (lower index first) included, on both of its paths: the heap (keep ≤ 32)
    /// and the radix rounds.
    func testSelectLargestFloatsMatchesQuickselect() {
        var rng = TestRandom(seed: 15)
        for (count, keep, distinct) in [(1249, 96, 1 << 20), (1249, 128, 7), (10, 3, 2), (5, 5, 3), (300, 1, 1 << 20), (64, 63, 4),
                                        (2000, 700, 5), (2048, 1500, 1 << 20), (5000, 300, 7), (5000, 1000, 1 << 20), (9000, 257, 3),
                                        (490, 8, 1 << 20), (1249, 32, 7), (6325, 16, 3), (33, 32, 2), (40, 33, 1 << 20)] {
            let values = (0..<count).map { _ in Float(Int(rng.next() % UInt64(distinct)) - distinct / 2) * 0.37 + 0.01 }
            let byRank = values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
            let expected = Array(byRank.prefix(keep)).sorted()
            var out = [UInt32](repeating: 0, count: count)
            let n = hidx_select_largest_f32(values, count, keep, &out)
            XCTAssertEqual(out.prefix(n).map { Int($0) }, expected, "count \(count) keep \(keep)")
        }
    }

    /// The batched asymmetric scores equal the one-code reference on every path.
    func testPlaneScoresMatchPortable() {
        var rng = TestRandom(seed: 16)
        for words in [1, 4, 8] {
            let count = 333
            let codes = (0..<(count * words)).map { _ in rng.next() }
            let margins = (0..<(words * 64)).map { _ in Float(rng.nextGaussian()) }
            let planes = BitPlanes(margins: margins, words: words)
            var fast = [Int32](repeating: 0, count: count), portable = fast
            codes.withUnsafeBufferPointer { c in
                fast.withUnsafeMutableBufferPointer { planes.scores(of: c.baseAddress!, count: count, into: $0.baseAddress!) }
            }
            hidx_plane_scores_portable(codes, count, words, planes.positive, planes.negative, Int32(BitPlanes.planeCount), &portable)
            XCTAssertEqual(fast, portable, "words \(words)")
            XCTAssertEqual(portable[0], hidx_plane_score(codes, words, planes.positive, planes.negative, Int32(BitPlanes.planeCount)))
        }
    }

    /// The vectorised collection equals the portable one, including which ties are taken.
    func testCollectBelowMatchesPortable() {
        var rng = TestRandom(seed: 17)
        for count in [0, 5, 31, 32, 33, 1000, 4099] {
            let values = (0..<count).map { _ in UInt16(rng.next() % 40) }
            for (threshold, ties) in [(UInt16(0), 0), (3, 2), (10, 1000), (39, 5)] {
                var a = [UInt32](repeating: 0, count: count), b = a
                let na = hidx_collect_below(values, count, threshold, ties, &a)
                let nb = hidx_collect_below_portable(values, count, threshold, ties, &b)
                XCTAssertEqual(Array(a.prefix(na)), Array(b.prefix(nb)), "count \(count) threshold \(threshold)")
            }
        }
    }

    func testSelectSmallestTakesLowestRowsOnTies() {
        let values: [UInt16] = [5, 1, 3, 1, 5, 0, 3, 3]
        var h = [UInt32](repeating: 0, count: 7)
        XCTAssertEqual(Selection.selectSmallest(values, count: 8, want: 3, maxValue: 6, histogram: &h), [1, 3, 5])
        XCTAssertEqual(Selection.selectSmallest(values, count: 8, want: 4, maxValue: 6, histogram: &h), [1, 2, 3, 5])
        XCTAssertEqual(Selection.selectSmallest(values, count: 8, want: 6, maxValue: 6, histogram: &h), [1, 2, 3, 5, 6, 7])
        XCTAssertEqual(Selection.selectSmallest(values, count: 8, want: 20, maxValue: 6, histogram: &h), Array(0..<8))
    }
}

final class LZ4Tests: XCTestCase {
    func testRoundTrip() {
        var rng = TestRandom(seed: 3)
        let text = Array(String(repeating: "hashidx compresses ids well ", count: 50).utf8)
        let random = (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for input in [text, random, [7]] {
            let stored = input.withUnsafeBytes { LZ4.compress($0) } ?? LZ4.compressAlways(input)
            var out = [UInt8](repeating: 0, count: input.count)
            let ok = stored.withUnsafeBytes { s in out.withUnsafeMutableBytes { LZ4.decompress(s, into: $0) } }
            XCTAssertTrue(ok)
            XCTAssertEqual(out, input)
        }
        XCTAssertLessThan(text.withUnsafeBytes { LZ4.compress($0) }!.count, text.count / 4)
        XCTAssertNil(random.withUnsafeBytes { LZ4.compress($0) }, "incompressible input is reported as not paying")
    }

    func testMalformedInputFailsCleanly() {
        let input = Array(String(repeating: "abcdefgh", count: 100).utf8)
        let stored = LZ4.compressAlways(input)
        var out = [UInt8](repeating: 0, count: input.count)
        // Wrong size, truncated, garbage: all fail without reading or writing out of bounds.
        let short = stored.withUnsafeBytes { s in out.withUnsafeMutableBytes { LZ4.decompress(s, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<10])) } }
        XCTAssertFalse(short)
        let cut = Array(stored.prefix(stored.count / 2))
        XCTAssertFalse(cut.withUnsafeBytes { s in out.withUnsafeMutableBytes { LZ4.decompress(s, into: $0) } })
        let garbage: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00]
        XCTAssertFalse(garbage.withUnsafeBytes { s in out.withUnsafeMutableBytes { LZ4.decompress(s, into: $0) } })
    }
}
