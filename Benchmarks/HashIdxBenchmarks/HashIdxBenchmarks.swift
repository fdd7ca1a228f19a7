// Hot paths of hashidx, measured with ordo-one/benchmark:
//
//   cd Benchmarks && swift package --disable-sandbox benchmark
//
// They measure what a query runs, in its order, through the same `Kernels` entry points the
// search calls (docs/ARCHITECTURE.md, "Life of a query"): the scan of the probed partitions,
// a filter's bitmaps and gather, the selections, the bit-plane shortlist, the re-rank's dot
// products; then LZ4 block decoding, query hashing and build throughput. Each benchmark's
// name says what one iteration does, so throughput (iterations/s) converts to codes/s,
// rows/s or candidates/s by that factor.
import Benchmark
import Foundation
import HashIdx

/// The repository's Data/ folder, wherever the benchmarks run from.
let dataDirectory: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("Data").path
}()

/// Deterministic pseudo-random words.
struct Generator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let scanCodes = 1_000_000

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .peakMemoryResident],
                                           maxDuration: .seconds(3), maxIterations: 10_000)

    // 1. The scan of the probed partitions (`Kernels.hammingHistogramSegments`, what every
    // query runs): 125 of 1,000 partitions of 1,000 codes, spread over 1M codes, distances
    // and histogram, at each code length, the automatic choice and every kernel.
    let partitionSize = 1_000, probed = 125
    let starts = (0..<probed).map { $0 * (scanCodes / probed) }
    let counts = [Int](repeating: partitionSize, count: probed)
    let scanned = probed * partitionSize
    for bits in [64, 128, 256, 512] {
        let words = bits / 64
        var g = Generator(state: UInt64(bits))
        let codes = (0..<(scanCodes * words)).map { _ in g.next() }
        let query = (0..<words).map { _ in g.next() }
        let kernels: [Kernels.HammingKernel?] = [nil] + Kernels.HammingKernel.allCases.filter(\.isAvailable)
        for kernel in kernels {
            Benchmark("Partition scan \(bits) bits, 125 × 1,000 codes + histogram (\(kernel.map { "\($0)" } ?? "auto"))") { benchmark in
                var out = [UInt16](repeating: 0, count: scanned)
                var histogram = [UInt32](repeating: 0, count: bits + 1)
                for _ in benchmark.scaledIterations {
                    Kernels.hammingHistogramSegments(codes: codes, starts: starts, counts: counts, segments: probed, words: words,
                                                     query: query, into: &out, histogram: &histogram, kernel: kernel)
                    blackHole(histogram[bits / 2])
                }
            }
        }
    }

    // The same scan with a filter (the nearest-partitions plan: rows whose bit is clear stay
    // out of the histogram), 256 bits, half the rows kept; and the exact-set plan's gather of
    // 10,000 listed positions (`Kernels.hammingHistogramPositions`).
    do {
        let words = 4
        var g = Generator(state: 11)
        let codes = (0..<(scanCodes * words)).map { _ in g.next() }
        let query = (0..<words).map { _ in g.next() }
        let keep = (0..<((scanned + 63) / 64)).map { _ in g.next() }
        Benchmark("Filtered partition scan 256 bits, 125 × 1,000 codes, half kept") { benchmark in
            var out = [UInt16](repeating: 0, count: scanned)
            var histogram = [UInt32](repeating: 0, count: 257)
            for _ in benchmark.scaledIterations {
                Kernels.hammingHistogramSegments(codes: codes, starts: starts, counts: counts, segments: probed, words: words,
                                                 query: query, keeping: keep, from: 0, into: &out, histogram: &histogram)
                blackHole(histogram[128])
            }
        }
        let positions = (0..<10_000).map { _ in UInt32(g.next() % UInt64(scanCodes)) }.sorted()
        Benchmark("Gather 10,000 listed positions of 1M codes, 256 bits + histogram") { benchmark in
            var out = [UInt16](repeating: 0, count: positions.count)
            var histogram = [UInt32](repeating: 0, count: 257)
            for _ in benchmark.scaledIterations {
                Kernels.hammingHistogramPositions(codes: codes, positions: positions, count: positions.count, words: words,
                                                  query: query, into: &out, histogram: &histogram)
                blackHole(histogram[128])
            }
        }
    }

    // 2. A filter's bitmaps: a numeric column compared over 390k rows (what an attribute
    // column runs for `price < x`), and the matching positions of a 390k-row bitmap with
    // 10 % set (`Kernels.bitCount`, `Kernels.bitPositions`).
    do {
        let rows = 390_000
        var g = Generator(state: 12)
        let numbers = (0..<rows).map { _ in Double(g.next() % 10_000) / 100 }
        Benchmark("Numeric range over 390k f64 values") { benchmark in
            var bits = [UInt64](repeating: 0, count: (rows + 63) / 64)
            for _ in benchmark.scaledIterations {
                Kernels.numbersInRange(numbers, count: rows, lo: 20, hi: 30, loStrict: false, hiStrict: true, into: &bits)
                blackHole(bits[7])
            }
        }
        let sparse = (0..<((rows + 63) / 64)).map { _ in (0..<64).reduce(UInt64(0)) { w, b in g.next() % 10 == 0 ? w | 1 << UInt64(b) : w } }
        Benchmark("Positions of a 390k-row bitmap, 10 % set") { benchmark in
            var positions = [UInt32](repeating: 0, count: rows)
            for _ in benchmark.scaledIterations {
                let n = Kernels.bitCount(sparse, in: 0..<rows)
                blackHole(Kernels.bitPositions(sparse, in: 0..<rows, into: &positions) + n)
            }
        }
    }

    // 3. Selection: the best 1,000 of 390,000 distances (GloVe-50's size, 256 bits: a
    // histogram and one collecting pass), and the radix select of floats (the probes among
    // 1,249 centroid scores, the shortlist's best 1,000 of 4,000 plane scores).
    var g3 = Generator(state: 3)
    // Binomial-like distances around 128, like real 256-bit codes.
    let distances = (0..<390_000).map { _ in UInt16((g3.next() & 0xFFFF_FFFF).nonzeroBitCount * 4 + Int(g3.next() % 4)) }
    Benchmark("Top-1000 of 390k distances") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(Kernels.smallest(distances, want: 1000, maxDistance: 256))
        }
    }
    let centroidScores = (0..<1_249).map { _ in Float(Int(g3.next() % 2_000_001) - 1_000_000) / 1_000_000 }
    let planeScores = (0..<4_000).map { _ in Float(Int(g3.next() % 4_001) - 2_000) }
    Benchmark("Select the 128 largest of 1,249 centroid scores") { benchmark in
        var picked = [UInt32](repeating: 0, count: 128)
        for _ in benchmark.scaledIterations {
            blackHole(Kernels.selectLargest(centroidScores, count: centroidScores.count, keep: 128, into: &picked))
        }
    }
    Benchmark("Select the 1,000 largest of 4,000 plane scores") { benchmark in
        var picked = [UInt32](repeating: 0, count: 1_000)
        for _ in benchmark.scaledIterations {
            blackHole(Kernels.selectLargest(planeScores, count: planeScores.count, keep: 1_000, into: &picked))
        }
    }

    // 4. The asymmetric shortlist: 4,000 gathered codes of 256 bits scored against the
    // query's bit planes.
    do {
        let words = 4, count = 4_000, planes = Kernels.shortlistPlanes
        var g = Generator(state: 4)
        let codes = (0..<(count * words)).map { _ in g.next() }
        let positive = (0..<(planes * words)).map { _ in g.next() }
        let negative = positive.map { ~$0 & g.next() }
        Benchmark("Bit-plane shortlist, 4,000 codes of 256 bits") { benchmark in
            var scores = [Int32](repeating: 0, count: count)
            for _ in benchmark.scaledIterations {
                Kernels.planeScores(codes: codes, count: count, words: words, positive: positive, negative: negative,
                                    planes: planes, into: &scores)
                blackHole(scores[0])
            }
        }
    }

    // LZ4 decode of one 64-row block of GloVe vectors (64 × 50 float32 = 12,800 bytes).
    let glove = try! VectorFile(path: dataDirectory + "/glove-20k.npy")
    do {
        let file = glove
        var raw = [Float](repeating: 0, count: 64 * file.dimension)
        raw.withUnsafeMutableBufferPointer { buffer in
            for r in 0..<64 {
                file.copyRow(1000 + r, into: UnsafeMutableBufferPointer(rebasing: buffer[(r * file.dimension)..<((r + 1) * file.dimension)]))
            }
        }
        let bytes = raw.withUnsafeBytes { Array($0) }
        // Float vectors barely compress: an LZ4 block all the same, as `--vector-codec lz4` writes.
        let block = Kernels.lz4Compress(bytes, onlyIfSmaller: false)!
        Benchmark("LZ4 decode, one 64 × 50 float32 block") { benchmark in
            var out = [UInt8](repeating: 0, count: bytes.count)
            for _ in benchmark.scaledIterations {
                blackHole(Kernels.lz4Decompress(block, into: &out))
            }
        }
    }

    // 5. The exact re-rank: 1,000 candidates of dimension 50 against one query, stored as
    // float32 and as float16.
    var g5 = Generator(state: 5)
    let vectors = (0..<(1000 * 50)).map { _ in Float(Int(g5.next() % 2001) - 1000) / 1000 }
    // Half-precision values of magnitude 2⁻⁴…1 (exponents 11…14), either sign.
    let halves = (0..<(1000 * 50)).map { _ in UInt16(g5.next() % 2) << 15 | UInt16(11 + g5.next() % 4) << 10 | UInt16(g5.next() % 1024) }
    let rerankQuery = (0..<50).map { _ in Float(Int(g5.next() % 2001) - 1000) / 1000 }
    Benchmark("Re-rank 1000 candidates, dim 50, float32") { benchmark in
        let query = rerankQuery
        for _ in benchmark.scaledIterations {
            var best: Float = -2
            vectors.withUnsafeBufferPointer { v in
                query.withUnsafeBufferPointer { q in
                    for c in 0..<1000 { best = max(best, Kernels.dot(q.baseAddress!, v.baseAddress! + c * 50, count: 50)) }
                }
            }
            blackHole(best)
        }
    }
    Benchmark("Re-rank 1000 candidates, dim 50, float16") { benchmark in
        let query = rerankQuery
        for _ in benchmark.scaledIterations {
            var best: Float = -2
            halves.withUnsafeBufferPointer { v in
                query.withUnsafeBufferPointer { q in
                    for c in 0..<1000 { best = max(best, Kernels.dot(q.baseAddress!, halves: v.baseAddress! + c * 50, count: 50)) }
                }
            }
            blackHole(best)
        }
    }

    // Query hashing: one unit vector of dimension 50 to 256 bits.
    do {
        let dir = NSTemporaryDirectory() + "hashidx-bench-\(getpid())"
        try! IndexBuilder.build(source: glove, to: dir)
        let model = try! Index(path: dir).model
        try? FileManager.default.removeItem(atPath: dir)
        var x = [Float](repeating: 0, count: 50)
        x.withUnsafeMutableBufferPointer { glove.copyRow(7, into: $0) }
        let n = x.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let unit = x.map { $0 / n }
        Benchmark("Hash one query, dim 50 → 256 bits") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(model.encode(unit))
            }
        }
    }

    // Build throughput: the 20,000 GloVe words of Data/ (rows/s = 20,000 × iterations/s).
    Benchmark("Build 20k × 50 (Data/glove-20k)",
              configuration: .init(metrics: [.wallClock, .throughput, .peakMemoryResident], maxDuration: .seconds(10), maxIterations: 20)) { benchmark in
        let file = glove
        let dir = NSTemporaryDirectory() + "hashidx-bench-build-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for _ in benchmark.scaledIterations {
            blackHole(try IndexBuilder.build(source: file, to: dir))
        }
    }
}
