import CHashIdxKernels
import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// Stored vectors in half precision.
final class Float16Tests: XCTestCase {
    func testHalfConversionRoundsToNearestEven() {
        let values: [Float] = [0, -0.0, 1, -2, 0.5, 65504, 65519, 65520, 1e-8, 0x1p-24, 0x1p-25, 0x1.8p-24, 1.0009765625, 1.00048828125,
                               .infinity, -.infinity]
        var halves = [UInt16](repeating: 0, count: values.count)
        hidx_float_to_half(values, &halves, values.count)
        XCTAssertEqual(halves, [0x0000, 0x8000, 0x3C00, 0xC000, 0x3800, 0x7BFF, 0x7BFF, 0x7C00, 0x0000, 0x0001, 0x0000, 0x0002,
                                0x3C01, 0x3C00, 0x7C00, 0xFC00])
        var nan = [UInt16](repeating: 0, count: 1)
        hidx_float_to_half([Float.nan], &nan, 1)
        XCTAssertTrue(halfValue(nan[0]).isNaN)
        // Every finite half converts to float and back unchanged.
        var all = (0..<UInt32(0x10000)).map { UInt16($0) }.filter { ($0 & 0x7C00) != 0x7C00 }
        var floats = [Float](repeating: 0, count: all.count)
        hidx_half_to_float(all, &floats, all.count)
        for (h, f) in zip(all, floats) { XCTAssertEqual(f.bitPattern, halfValue(h).bitPattern) }
        var back = [UInt16](repeating: 0, count: all.count)
        hidx_float_to_half(floats, &back, floats.count)
        XCTAssertEqual(back, all)
        all = []
    }

    func testDotProductPathsAgree() {
        var rng = TestRandom(seed: 6)
        for n in [1, 7, 8, 50, 384] {
            let a = (0..<n).map { _ in Float(rng.nextGaussian()) }
            let b = (0..<n).map { _ in Float(rng.nextGaussian()) }
            var h = [UInt16](repeating: 0, count: n)
            hidx_float_to_half(b, &h, n)
            var exact = 0.0
            for i in 0..<n { exact += Double(a[i]) * Double(halfValue(h[i])) }
            XCTAssertEqual(Double(hidx_dot_f16(a, h, n)), exact, accuracy: 1e-4 * Double(n))
            XCTAssertEqual(Double(hidx_dot_f16_portable(a, h, n)), exact, accuracy: 1e-4 * Double(n))
        }
    }

    func testFloat16IndexRoundTripAndSearch() throws {
        let rows = clusteredVectors(count: 1500, dim: 20)
        let dir = makeTemporaryDirectory(self)
        for (name, codec, partitions) in [("a", CodecChoice.none, 0), ("b", .lz4, 6)] {
            let path = dir + "/" + name
            try IndexBuilder.build(source: try InMemoryVectors(rows: rows), to: path,
                                   options: BuildOptions(training: TrainingOptions(bits: 64), shardSize: 700,
                                                         vectorCodec: codec, partitions: partitions, vectorType: .float16))
            let index = try Index(path: path)
            XCTAssertEqual(index.vectorType, .float16)
            try index.verify()
            for r in [0, 699, 700, 1499] {
                let v = try index.vector(ofRow: r)
                let n = rows[r].reduce(0) { $0 + $1 * $1 }.squareRoot()
                for j in 0..<20 { XCTAssertEqual(v[j], rows[r][j], accuracy: 2e-3 * n) }
            }
            // Exhaustive search on half-precision vectors finds the exact top-10 up to ties
            // closer than half-precision rounding.
            var rng = TestRandom(seed: 8)
            var agree = 0
            for _ in 0..<20 {
                let q = (0..<20).map { _ in Float(rng.nextGaussian()) }
                let hits = try index.search(q, options: SearchOptions(k: 10, candidates: 1500, probes: max(1, partitions)))
                agree += Set(hits.map(\.row)).intersection(exactTopK(q, rows, k: 10)).count
                XCTAssertEqual(hits.map(\.score), hits.map(\.score).sorted(by: >))
            }
            XCTAssertGreaterThanOrEqual(agree, 195)
        }
    }
}

/// A half's value by its definition, (−1)^sign × 2^(exponent − 15) × (1 + mantissa/1024), or
/// mantissa × 2^−24 for subnormals: the reference the C conversion is checked against.
private func halfValue(_ h: UInt16) -> Float {
    let sign: Float = h & 0x8000 != 0 ? -1 : 1
    let exponent = Int((h >> 10) & 0x1F), mantissa = Float(h & 0x3FF)
    if exponent == 31 { return mantissa == 0 ? sign * .infinity : .nan }
    if exponent == 0 { return sign * mantissa * 0x1p-24 }
    return sign * (1 + mantissa / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
}
