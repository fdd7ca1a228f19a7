import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// Storage's side of filtering: each attribute column answers a predicate over any range of
/// positions exactly as it answers it one position at a time, and as the values it stores
/// say; deletions leave the live positions of a range; the bitmap helpers shift correctly.
extension FilterTests {
    func testColumnPredicatesOverRangesAgreeWithTheirValues() throws {
        let dir = makeTemporaryDirectory(self)
        let rows = clusteredVectors(count: 700, dim: 8, seed: 5)
        let attributes = Self.randomAttributes(count: rows.count, seed: 9)
        let options = BuildOptions(training: TrainingOptions(bits: 64), partitions: 5, threads: 1)
        try IndexBuilder.build(source: try InMemoryVectors(rows: rows), ids: rows.indices.map { "item-\($0)" },
                               attributes: try AttributeTable(rows: attributes), to: dir + "/c.hidx", options: options)
        let index = try Index(path: dir + "/c.hidx")
        let shard = index.shards[0], n = shard.rows
        let columns = shard.attributes.columns
        XCTAssertEqual(Set(columns.keys), ["category", "price", "stock", "in_stock", "tags"])
        XCTAssertEqual(Set(columns.values.map(\.index)), Set(0..<5), "columns are numbered in their section")
        var rng = TestRandom(seed: 31)
        var ranges = [0..<n, 0..<0, 0..<1, 63..<64, 1..<130, 64..<192, n - 1..<n]
        for _ in 0..<20 {
            let a = Int(rng.next() % UInt64(n)), b = Int(rng.next() % UInt64(n + 1))
            ranges.append(min(a, b)..<max(a, b))
        }
        var checked = 0
        for (name, column) in columns.sorted(by: { $0.key < $1.key }) {
            var predicates: [ColumnPredicate] = [.present]
            switch column.type {
            case .boolean: predicates.append(.isTrue)
            case .integer, .float:
                predicates += [.range(lo: 10, hi: 30, loStrict: false, hiStrict: true), .range(lo: 7, hi: 7, loStrict: false, hiStrict: false),
                               .range(lo: -.infinity, hi: 20, loStrict: true, hiStrict: false)]
            case .string, .tags:
                let codes = (Self.categories + Self.tagWords).compactMap { column.code(of: $0) }
                XCTAssertFalse(codes.isEmpty)
                XCTAssertNil(column.code(of: "no such value"))
                predicates += [.anyOf([codes[0]]), .anyOf(codes.count > 2 ? [codes[1], codes[2]] : codes)]
            }
            for predicate in predicates {
                for range in ranges {
                    let words = max(1, Bitmap.words(range.count))
                    var out = [UInt64](repeating: ~0, count: words + 1), scratch = [UInt64](repeating: ~0, count: words)
                    column.evaluate(predicate, range: range, into: &out, scratch: &scratch)
                    for i in 0..<(Bitmap.words(range.count) * 64) {
                        let set = out[i >> 6] & (1 << UInt64(i & 63)) != 0
                        let expected = i < range.count && column.test(predicate, position: range.lowerBound + i)
                        XCTAssertEqual(set, expected, "\(name) \(predicate) \(range) bit \(i)")
                    }
                    checked += 1
                }
                // One position at a time, against the stored value.
                for p in 0..<n {
                    let value = column.value(at: p)
                    let expected: Bool
                    switch (predicate, value) {
                    case (.present, _): expected = value != nil
                    case let (.isTrue, v): expected = v == .boolean(true)
                    case let (.range(lo, hi, loStrict, hiStrict), v?):
                        let x: Double = if case let .integer(i) = v { Double(i) } else if case let .float(f) = v { f } else { .nan }
                        expected = (loStrict ? x > lo : x >= lo) && (hiStrict ? x < hi : x <= hi)
                    case let (.anyOf(codes), .string(s)?): expected = codes.contains(column.code(of: s)!)
                    case let (.anyOf(codes), .tags(t)?): expected = t.contains { codes.contains(column.code(of: $0)!) }
                    default: expected = false
                    }
                    XCTAssertEqual(column.test(predicate, position: p), expected, "\(name) \(predicate) position \(p)")
                }
            }
            XCTAssertEqual(column.estimatedFraction(.present, rows: n), Double(column.present) / Double(n))
            XCTAssertEqual(column.present, (0..<n).filter { column.value(at: $0) != nil }.count)
        }
        XCTAssertGreaterThan(checked, 300)
    }

    func testDeletionsLeaveTheLivePositionsOfARange() {
        var rng = TestRandom(seed: 32)
        var deletions = Deletions(rows: 300)
        for _ in 0..<90 { deletions.insert(Int(rng.next() % 300)) }
        for range in [0..<300, 0..<0, 1..<2, 63..<65, 5..<250, 128..<300] {
            var bits = [UInt64](repeating: ~0, count: Bitmap.words(range.count) + 1)
            Bitmap.maskTail(&bits, count: range.count)
            bits[bits.count - 1] = 0
            deletions.removeDeleted(from: &bits, range: range)
            for i in 0..<(bits.count * 64) {
                let live = i < range.count && !deletions.contains(range.lowerBound + i)
                XCTAssertEqual(bits[i >> 6] & (1 << UInt64(i & 63)) != 0, live, "\(range) bit \(i)")
            }
        }
    }

    func testBitmapCopiesAndClearsShiftedRanges() {
        var rng = TestRandom(seed: 33)
        let source = (0..<6).map { _ in rng.next() }
        func isSet(_ p: Int) -> Bool { source[p >> 6] & (1 << UInt64(p & 63)) != 0 }
        for (start, count) in [(0, 384), (1, 383), (63, 2), (64, 64), (70, 200), (5, 0), (383, 1)] {
            let words = max(1, Bitmap.words(count))
            var copied = [UInt64](repeating: ~0, count: words)
            Bitmap.copy(source, from: start, count: count, into: &copied)
            var cleared = [UInt64](repeating: ~0, count: words)
            Bitmap.maskTail(&cleared, count: count)
            if count == 0 { cleared[0] = 0 }
            Bitmap.clear(&cleared, whereSetIn: source, from: start, count: count)
            for i in 0..<(words * 64) where count > 0 {
                XCTAssertEqual(copied[i >> 6] & (1 << UInt64(i & 63)) != 0, i < count && isSet(start + i), "copy \(start)+\(count) bit \(i)")
                XCTAssertEqual(cleared[i >> 6] & (1 << UInt64(i & 63)) != 0, i < count && !isSet(start + i), "clear \(start)+\(count) bit \(i)")
            }
        }
    }
}
