import Foundation
import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// Supervised hashing: label and pair files, the trained head, the rankings, label-based
/// evaluation, and the errors of each bad input.
final class SupervisedTests: XCTestCase {
    // MARK: - Data with labels the geometry hides

    /// mAP@k of `index` over `queries` with same-class relevance, through ``Evaluation``'s
    /// average precision.
    func meanAP(_ index: Index, queries: [[Float]], queryLabels: [Int], rowLabels: [Int], k: Int,
                rerank: Rerank? = nil) throws -> Double {
        var sum = 0.0
        for (q, label) in zip(queries, queryLabels) {
            let hits = try index.search(q, options: SearchOptions(k: k, candidates: k, probes: 1000, rerank: rerank))
            sum += Evaluation.averagePrecision(hits.map { rowLabels[$0.row] == label })
        }
        return sum / Double(queries.count)
    }

    // MARK: - Files

    func testLabelsTextFileParsesSetsEmptyLinesAndCRLF() throws {
        let dir = makeTemporaryDirectory(self)
        writeFile(dir + "/l.txt", Array("shoes, red\r\n\r\nred\nbags\n".utf8))
        let labels = try RowLabels.read(path: dir + "/l.txt", rows: 4)
        XCTAssertEqual(labels.names, ["shoes", "red", "bags"])
        XCTAssertEqual(Array(labels.labels(ofRow: 0)), [0, 1])
        XCTAssertEqual(Array(labels.labels(ofRow: 1)), [])
        XCTAssertEqual(Array(labels.labels(ofRow: 2)), [1])
        XCTAssertEqual(labels.labelledCount, 3)
        XCTAssertEqual(labels.classCount, 3)
        XCTAssertThrowsError(try RowLabels.read(path: dir + "/l.txt", rows: 5)) { error in
            XCTAssertTrue("\(error)".contains("labels for 4 rows but there are 5 vectors"), "\(error)")
        }
    }

    func testLabelsNpyIntegersWithNegativesAsUnlabelled() throws {
        let dir = makeTemporaryDirectory(self)
        let values: [Int64] = [3, -1, 3, 7]
        writeFile(dir + "/l.npy", npyBytes(descr: "<i8", shape: [4], payload: values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }))
        let labels = try RowLabels.read(path: dir + "/l.npy", rows: 4)
        XCTAssertEqual(labels.names, ["3", "7"])
        XCTAssertFalse(labels.isLabelled(1))
        XCTAssertEqual(Array(labels.labels(ofRow: 3)), [1])
        writeFile(dir + "/f.npy", npyBytes(descr: "<f4", shape: [2], payload: float32Bytes([1, 2])))
        XCTAssertThrowsError(try RowLabels.read(path: dir + "/f.npy")) { error in
            XCTAssertTrue("\(error)".contains("integers"), "\(error)")
        }
        writeFile(dir + "/m.npy", npyBytes(descr: "<i4", shape: [2, 2], payload: [UInt8](repeating: 0, count: 16)))
        XCTAssertThrowsError(try RowLabels.read(path: dir + "/m.npy")) { error in
            XCTAssertTrue("\(error)".contains("1-D"), "\(error)")
        }
    }

    func testPairsResolveIdsAndNameTheBadLine() throws {
        let dir = makeTemporaryDirectory(self)
        writeFile(dir + "/p.txt", Array("# matches\na b 1\nb\tc 0\n\n".utf8))
        let pairs = try RowPairs.read(path: dir + "/p.txt", ids: ["a", "b", "c"], rows: 3)
        XCTAssertEqual(pairs.first, [0, 1])
        XCTAssertEqual(pairs.second, [1, 2])
        XCTAssertEqual(pairs.similar, [true, false])
        writeFile(dir + "/p2.txt", Array("0 2 1\n2 1 0\n".utf8))
        let numbered = try RowPairs.read(path: dir + "/p2.txt", ids: nil, rows: 3)
        XCTAssertEqual(numbered.first, [0, 2])

        let cases: [(String, String)] = [
            ("a b 1\na zz 0\n", "line 2: unknown id 'zz'"),
            ("a b 1\na c yes\n", "line 2: the third field must be 1"),
            ("a b 1\na c\n", "line 2: expected `id_a id_b 1|0`"),
            ("a b 1\nb c 1\n", "all 2 pairs are similar"),
            ("# nothing\n", "holds no pairs"),
        ]
        for (text, message) in cases {
            writeFile(dir + "/bad.txt", Array(text.utf8))
            XCTAssertThrowsError(try RowPairs.read(path: dir + "/bad.txt", ids: ["a", "b", "c"], rows: 3)) { error in
                XCTAssertTrue("\(error)".contains(message), "\(text): \(error)")
            }
        }
        writeFile(dir + "/rows.txt", Array("0 5 1\n0 1 0\n".utf8))
        XCTAssertThrowsError(try RowPairs.read(path: dir + "/rows.txt", ids: nil, rows: 3)) { error in
            XCTAssertTrue("\(error)".contains("'5' is not a row number below 3"), "\(error)")
        }
    }

    // MARK: - Training and ranking

    func testLabelsLiftMeanAveragePrecisionAndTheIndexRemembersHow() throws {
        let dir = makeTemporaryDirectory(self)
        let data = hiddenClasses(count: 3_000)
        let queries = hiddenClasses(count: 200, seed: 99)
        let rows = try InMemoryVectors(values: data.rows.flatMap { $0 }, dimension: 32, name: "hidden")
        var plain = BuildOptions(training: TrainingOptions(bits: 64))
        plain.partitions = 0
        try IndexBuilder.build(source: rows, to: dir + "/plain", options: plain)
        var supervised = plain
        supervised.training.supervision = .labels(RowLabels(data.labels.map { ["class-\($0)"] }))
        try IndexBuilder.build(source: rows, to: dir + "/sup", options: supervised)

        let a = try Index(path: dir + "/plain"), b = try Index(path: dir + "/sup")
        XCTAssertNotEqual(a.model.scheme, .supervised)
        XCTAssertEqual(a.rerank, .cosine)
        XCTAssertNil(a.training.supervision)
        XCTAssertEqual(b.model.scheme, .supervised)
        XCTAssertEqual(b.rerank, BuildOptions.supervisedRerank)
        XCTAssertEqual(b.formatVersion, Int(Format.version))
        let info = try XCTUnwrap(b.training.supervision)
        XCTAssertEqual(info.kind, .labels)
        XCTAssertEqual(info.examples, 3_000)
        XCTAssertEqual(info.classes, 4)
        XCTAssertEqual(info.epochs, TrainingOptions.defaultEpochs)
        XCTAssertEqual(info.weight, TrainingOptions.defaultSupervisionWeight)

        let unsupervisedMAP = try meanAP(a, queries: queries.rows, queryLabels: queries.labels, rowLabels: data.labels, k: 100)
        let supervisedMAP = try meanAP(b, queries: queries.rows, queryLabels: queries.labels, rowLabels: data.labels, k: 100)
        XCTAssertGreaterThan(supervisedMAP, unsupervisedMAP + 0.15, "labels should lift mAP@100: \(unsupervisedMAP) → \(supervisedMAP)")

        // The same seed and options train the same model.
        try IndexBuilder.build(source: rows, to: dir + "/again", options: supervised)
        XCTAssertEqual(try Index(path: dir + "/again").model, b.model)
    }

    func testRankingsScoreAsDocumented() throws {
        let dir = makeTemporaryDirectory(self)
        let data = hiddenClasses(count: 1_000)
        let rows = try InMemoryVectors(values: data.rows.flatMap { $0 }, dimension: 32, name: "hidden")
        var options = BuildOptions(training: TrainingOptions(bits: 64, supervision: .labels(RowLabels(data.labels.map { [String($0)] }))))
        options.partitions = 0
        options.vectorType = .float32
        options.blendWeight = 0.25
        try IndexBuilder.build(source: rows, to: dir + "/i", options: options)
        let index = try Index(path: dir + "/i")
        XCTAssertEqual(index.blendWeight, 0.25)
        let q = data.rows[5]
        let norm = q.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        func cosine(_ row: Int) -> Float {
            let r = data.rows[row]
            let rn = r.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            return zip(q, r).reduce(Float(0)) { $0 + $1.0 * $1.1 } / (norm * rn)
        }
        // The learned score from the codes: Σ tanh(y) s / Σ |tanh(y)|.
        let unit = q.map { $0 / norm }
        let t = index.model.margins(unit).map { tanhf($0) }
        let total = t.reduce(Float(0)) { $0 + abs($1) }
        func learned(_ row: Int) -> Float {
            let code = index.model.encode(data.rows[row].map { $0 / data.rows[row].reduce(Float(0)) { $0 + $1 * $1 }.squareRoot() })
            var s: Float = 0
            for j in 0..<64 { s += t[j] * ((code[0] >> UInt64(j)) & 1 == 1 ? 1 : -1) }
            return s / total
        }
        let byCosine = try index.search(q, options: SearchOptions(k: 20, candidates: 100, rerank: .cosine))
        let byCode = try index.search(q, options: SearchOptions(k: 20, candidates: 100, rerank: .learned))
        let byBlend = try index.search(q, options: SearchOptions(k: 20, candidates: 100))
        XCTAssertEqual(index.rerank, .blend)
        for r in byCosine { XCTAssertEqual(r.score, cosine(r.row), accuracy: 1e-4) }
        for r in byCode { XCTAssertEqual(r.score, learned(r.row), accuracy: 1e-4) }
        for r in byBlend { XCTAssertEqual(r.score, 0.75 * cosine(r.row) + 0.25 * learned(r.row), accuracy: 1e-4) }
        for list in [byCosine, byCode, byBlend] {
            XCTAssertEqual(list.map(\.score), list.map(\.score).sorted(by: >), "best first")
        }
        XCTAssertThrowsError(try index.search(q, options: SearchOptions(rerank: .blend, blendWeight: 2)))
    }

    func testPairsTrainAHeadToo() throws {
        let dir = makeTemporaryDirectory(self)
        let data = hiddenClasses(count: 2_000)
        let queries = hiddenClasses(count: 200, seed: 5)
        let rows = try InMemoryVectors(values: data.rows.flatMap { $0 }, dimension: 32, name: "hidden")
        var rng = TestRandom(seed: 3)
        var first: [Int] = [], second: [Int] = [], similar: [Bool] = []
        for _ in 0..<5_000 {
            let a = Int(rng.next() % 2_000), b = Int(rng.next() % 2_000)
            first.append(a); second.append(b); similar.append(data.labels[a] == data.labels[b])
        }
        var plain = BuildOptions(training: TrainingOptions(bits: 64))
        plain.partitions = 0
        try IndexBuilder.build(source: rows, to: dir + "/plain", options: plain)
        var options = plain
        options.training.supervision = .pairs(RowPairs(first: first, second: second, similar: similar))
        try IndexBuilder.build(source: rows, to: dir + "/pairs", options: options)
        let index = try Index(path: dir + "/pairs")
        XCTAssertEqual(index.training.supervision?.kind, .pairs)
        XCTAssertEqual(index.training.supervision?.examples, 5_000)
        let before = try meanAP(try Index(path: dir + "/plain"), queries: queries.rows, queryLabels: queries.labels, rowLabels: data.labels, k: 100)
        let after = try meanAP(index, queries: queries.rows, queryLabels: queries.labels, rowLabels: data.labels, k: 100)
        XCTAssertGreaterThan(after, before + 0.1, "pairs should lift mAP@100: \(before) → \(after)")
    }

    func testBadSupervisionIsAClearError() throws {
        let dir = makeTemporaryDirectory(self)
        let data = hiddenClasses(count: 500)
        let rows = try InMemoryVectors(values: data.rows.flatMap { $0 }, dimension: 32, name: "hidden")
        func build(_ supervision: Supervision, weight: Float = 0.5, epochs: Int = 2) -> String {
            var options = BuildOptions(training: TrainingOptions(bits: 64, supervision: supervision, supervisionWeight: weight, epochs: epochs))
            options.partitions = 0
            do {
                try IndexBuilder.build(source: rows, to: dir + "/x", options: options)
                return "built"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(build(.labels(RowLabels(Array(repeating: ["a"], count: 499)))).contains("labels for 499 rows but 500 vectors"))
        XCTAssertTrue(build(.labels(RowLabels(Array(repeating: ["a"], count: 500)))).contains("same single label 'a'"))
        XCTAssertTrue(build(.labels(RowLabels(Array(repeating: [], count: 500)))).contains("no row has a label"))
        XCTAssertTrue(build(.pairs(RowPairs(first: [0, 1], second: [1, 600], similar: [true, false]))).contains("outside 0..<500"))
        XCTAssertTrue(build(.labels(RowLabels(data.labels.map { [String($0)] })), weight: 1.5).contains("supervision-weight"))
        XCTAssertTrue(build(.labels(RowLabels(data.labels.map { [String($0)] })), epochs: 0).contains("epochs"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x/CURRENT"), "nothing is left of a refused build")
    }

    func testRetrainingASupervisedIndexIsRefused() throws {
        let dir = makeTemporaryDirectory(self)
        let data = hiddenClasses(count: 500)
        let rows = try InMemoryVectors(values: data.rows.flatMap { $0 }, dimension: 32, name: "hidden")
        var options = BuildOptions(training: TrainingOptions(bits: 64, supervision: .labels(RowLabels(data.labels.map { [String($0)] })), epochs: 2))
        options.partitions = 0
        try IndexBuilder.build(source: rows, ids: (0..<500).map { "item-\($0)" }, to: dir + "/i", options: options)
        let writer = try IndexWriter(path: dir + "/i")
        XCTAssertThrowsError(try writer.compact(retrain: true)) { error in
            XCTAssertTrue("\(error)".contains("trained from labels or pairs"), "\(error)")
        }
        // A compaction that keeps the model keeps the supervision and the ranking.
        _ = try writer.delete(ids: ["item-3"])
        _ = try writer.commit()
        _ = try writer.compact()
        try writer.close()
        let index = try Index(path: dir + "/i")
        XCTAssertEqual(index.model.scheme, .supervised)
        XCTAssertEqual(index.training.supervision?.kind, .labels)
        XCTAssertEqual(index.rerank, BuildOptions.supervisedRerank)
    }

    func testAveragePrecisionFollowsTheDeepHashConvention() {
        XCTAssertEqual(Evaluation.averagePrecision([true, false, true]), (1 + 2.0 / 3) / 2, accuracy: 1e-12)
        XCTAssertEqual(Evaluation.averagePrecision([false, false]), 0)
        XCTAssertEqual(Evaluation.averagePrecision([false, true]), 0.5)
    }
}
