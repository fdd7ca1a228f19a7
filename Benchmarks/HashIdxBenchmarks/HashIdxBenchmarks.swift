// Hot paths of hashidx, measured with ordo-one/benchmark:
//
//   cd Benchmarks && swift package --disable-sandbox benchmark
//
// Each benchmark's name says what one iteration does, so throughput (iterations/s) converts
// to codes/s, rows/s or candidates/s by that factor.
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

    // Hamming scan: 1,000,000 codes per iteration, at each code length, best kernel and
    // the portable one.
    for bits in [64, 128, 256, 512] {
        let words = bits / 64
        var g = Generator(state: UInt64(bits))
        let codes = (0..<(scanCodes * words)).map { _ in g.next() }
        let query = (0..<words).map { _ in g.next() }
        for kernel in Kernels.HammingKernel.allCases where kernel.isAvailable {
            Benchmark("Hamming scan \(bits) bits, 1M codes (\(kernel))") { benchmark in
                var out = [UInt16](repeating: 0, count: scanCodes)
                for _ in benchmark.scaledIterations {
                    codes.withUnsafeBufferPointer { c in
                        out.withUnsafeMutableBufferPointer { o in
                            Kernels.hammingDistances(codes: c.baseAddress!, count: scanCodes, words: words,
                                                     query: query, into: o.baseAddress!, kernel: kernel)
                        }
                    }
                    blackHole(out[0])
                }
            }
        }
    }

    // Top-C selection: the best 1,000 of 390,000 distances (GloVe-50's size, 256 bits).
    var g3 = Generator(state: 3)
    // Binomial-like distances around 128, like real 256-bit codes.
    let distances = (0..<390_000).map { _ in UInt16((g3.next() & 0xFFFF_FFFF).nonzeroBitCount * 4 + Int(g3.next() % 4)) }
    Benchmark("Top-1000 of 390k distances") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(Kernels.smallest(distances, want: 1000, maxDistance: 256))
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

    // Cosine re-rank: 1,000 candidates of dimension 50 against one query.
    var g5 = Generator(state: 5)
    let vectors = (0..<(1000 * 50)).map { _ in Float(Int(g5.next() % 2001) - 1000) / 1000 }
    let rerankQuery = (0..<50).map { _ in Float(Int(g5.next() % 2001) - 1000) / 1000 }
    Benchmark("Re-rank 1000 candidates, dim 50") { benchmark in
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
