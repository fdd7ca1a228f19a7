import XCTest
@testable import HashIdx
import HashIdxTestSupport

final class TrainingTests: XCTestCase {
    func testSymmetricEigenReconstructs() {
        var rng = TestRandom(seed: 9)
        let n = 12
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in i..<n { let v = rng.nextGaussian(); a[i * n + j] = v; a[j * n + i] = v } }
        let (values, vectors) = LinearAlgebra.symmetricEigen(a, n: n)
        XCTAssertEqual(values, values.sorted(by: >))
        // A v = λ v for every pair.
        for k in 0..<n {
            for i in 0..<n {
                var av = 0.0
                for j in 0..<n { av += a[i * n + j] * vectors[k * n + j] }
                XCTAssertEqual(av, values[k] * vectors[k * n + i], accuracy: 1e-9)
            }
        }
    }

    func testNearestOrthogonalIsOrthogonal() {
        var rng = TestRandom(seed: 11)
        let n = 16
        let m = (0..<(n * n)).map { _ in rng.nextGaussian() }
        let q = LinearAlgebra.nearestOrthogonal(m, n: n)
        assertOrthonormalRows(q.map { Float($0) }, rows: n, cols: n, accuracy: 1e-6)
    }

    private func assertOrthonormalRows(_ w: [Float], rows: Int, cols: Int, accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
        for a in 0..<rows {
            for b in a..<rows {
                var dot: Float = 0
                for j in 0..<cols { dot += w[a * cols + j] * w[b * cols + j] }
                XCTAssertEqual(dot, a == b ? 1 : 0, accuracy: accuracy, "rows \(a), \(b)", file: file, line: line)
            }
        }
    }

    /// bits ≤ dimension: the projection is an orthogonal rotation of orthonormal principal
    /// directions, so its rows are orthonormal.
    func testPCAITQProjectionHasOrthonormalRows() throws {
        let data = try InMemoryVectors(rows: clusteredVectors(count: 3000, dim: 96))
        let model = try Trainer.train(source: data, options: TrainingOptions(bits: 64, sampleSize: 2000, iterations: 20))
        XCTAssertEqual(model.scheme, .pcaITQ)
        XCTAssertEqual(model.projection.count, 64 * 96)
        assertOrthonormalRows(model.projection, rows: 64, cols: 96, accuracy: 1e-4)
    }

    /// bits > dimension: the projection's columns are orthonormal (its rows a tight frame).
    func testWideCodesUseATightFrame() throws {
        let d = 24
        let data = try InMemoryVectors(rows: clusteredVectors(count: 2000, dim: d))
        let model = try Trainer.train(source: data, options: TrainingOptions(bits: 128, sampleSize: 2000, iterations: 10))
        XCTAssertEqual(model.scheme, .centredRandomFrame)
        for a in 0..<d {
            for b in a..<d {
                var dot: Float = 0
                for j in 0..<128 { dot += model.projection[j * d + a] * model.projection[j * d + b] }
                XCTAssertEqual(dot, a == b ? 1 : 0, accuracy: 1e-4, "columns \(a), \(b)")
            }
        }
    }

    /// ITQ lowers the quantisation loss ‖B − V R‖ compared with its random starting rotation.
    func testITQReducesQuantizationLoss() throws {
        let d = 96
        let rows = clusteredVectors(count: 4000, dim: d)
        let data = try InMemoryVectors(rows: rows)
        func loss(_ iterations: Int) throws -> Double {
            let model = try Trainer.train(source: data, options: TrainingOptions(bits: 64, sampleSize: 4000, iterations: iterations))
            XCTAssertEqual(model.scheme, .pcaITQ)
            var total = 0.0
            for r in rows.prefix(2000) {
                var x = r
                let n = x.reduce(0) { $0 + $1 * $1 }.squareRoot()
                for i in x.indices { x[i] = x[i] / n - model.mean[i] }
                for j in 0..<64 {
                    var y: Float = 0
                    for i in 0..<d { y += model.projection[j * d + i] * x[i] }
                    total += Double((abs(y) - 1) * (abs(y) - 1))
                }
            }
            return total
        }
        XCTAssertLessThan(try loss(30), try loss(0))
    }

    func testTrainingAndEncodingAreDeterministic() throws {
        let rows = clusteredVectors(count: 1500, dim: 40)
        let data = try InMemoryVectors(rows: rows)
        let a = try Trainer.train(source: data, options: TrainingOptions(bits: 128, sampleSize: 1000))
        let b = try Trainer.train(source: data, options: TrainingOptions(bits: 128, sampleSize: 1000))
        XCTAssertEqual(a, b)
        var x = rows[5]
        let n = x.reduce(0) { $0 + $1 * $1 }.squareRoot()
        for i in x.indices { x[i] /= n }
        XCTAssertEqual(a.encode(x), b.encode(x))
        XCTAssertEqual(a.encode(x), a.encode(x))
        let c = try Trainer.train(source: data, options: TrainingOptions(bits: 128, sampleSize: 1000, seed: 99))
        XCTAssertNotEqual(a, c, "a different seed gives a different model")
    }

    func testEncodeMatchesDefinition() throws {
        let data = try InMemoryVectors(rows: clusteredVectors(count: 800, dim: 20))
        let model = try Trainer.train(source: data, options: TrainingOptions(bits: 64, sampleSize: 800))
        var rng = TestRandom(seed: 5)
        for _ in 0..<50 {
            var x = (0..<20).map { _ in Float(rng.nextGaussian()) }
            let n = x.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for i in x.indices { x[i] /= n }
            let code = model.encode(x)
            for j in 0..<64 {
                var y: Double = 0
                for i in 0..<20 { y += Double(model.projection[j * 20 + i]) * Double(x[i] - model.mean[i]) }
                let bit = (code[j / 64] >> UInt64(j % 64)) & 1
                if abs(y - Double(model.thresholds[j])) > 1e-4 {   // away from float rounding at the boundary
                    XCTAssertEqual(bit, y > Double(model.thresholds[j]) ? 1 : 0, "bit \(j)")
                }
            }
        }
    }

    func testRejectsBadBits() {
        let data = try! InMemoryVectors(rows: [[1, 2], [3, 4]])
        for bits in [0, -64, 100, 63] {
            XCTAssertThrowsError(try Trainer.train(source: data, options: TrainingOptions(bits: bits))) {
                XCTAssertTrue(($0 as! HashIdxError).description.contains("multiple of 64"))
            }
        }
    }

    func testSampleRowsAreDistinctSortedAndInRange() {
        var rng = SplitMix64(seed: 1)   // the library's own generator, which sampleRows takes
        let s = Trainer.sampleRows(count: 1000, sample: 300, rng: &rng)
        XCTAssertEqual(s.count, 300)
        XCTAssertEqual(Set(s).count, 300)
        XCTAssertEqual(s, s.sorted())
        XCTAssertTrue(s.allSatisfy { $0 >= 0 && $0 < 1000 })
    }
}
