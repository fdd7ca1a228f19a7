import Foundation
import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// The pieces the library is built from, checked on their own: each on-disk record's
/// encode/decode pair, the row filter inside the candidate pipeline, the directory's byte
/// count, and the messages that tell a user what to do with another format version.
final class StructureTests: XCTestCase {
    private func build(_ path: String, rows: [[Float]], partitions: Int = 0, ids: [String]? = nil) throws -> Index {
        try IndexBuilder.build(source: try InMemoryVectors(rows: rows), ids: ids, to: path,
                               options: BuildOptions(training: TrainingOptions(bits: 64), rowsPerBlock: 16, partitions: partitions))
        return try Index(path: path)
    }

    // MARK: Records

    func testShardHeaderRoundTrip() throws {
        let header = ShardHeader(rows: 1234, firstRow: 5_000_000_000, dimension: 384, bits: 256, rowsPerBlock: 64,
                                 vectorType: VectorType.float16.rawValue, fileSize: 987_654,
                                 sections: [SectionEntry(.codes, offset: 448, length: 39_488, crc: 7),
                                            SectionEntry(.vectorBlocks, codec: .lz4, offset: 40_000, length: 11, crc: 0xFFFF_FFFF)])
        let (bytes, crc) = header.encoded()
        XCTAssertEqual(bytes.count, ShardHeader.size(sections: 2))
        XCTAssertEqual(bytes.count % Format.sectionAlignment, 0)
        let decoded = try decodeHeader(bytes)
        XCTAssertEqual(decoded.header, header)
        XCTAssertEqual(decoded.size, bytes.count)
        XCTAssertEqual(decoded.crc, crc)
        // Any change to the checksummed part is refused.
        var damaged = bytes
        damaged[20] ^= 1
        XCTAssertThrowsError(try decodeHeader(damaged))
    }

    private func decodeHeader(_ bytes: [UInt8]) throws -> (header: ShardHeader, size: Int, crc: UInt32) {
        var result: (header: ShardHeader, size: Int, crc: UInt32)?
        var failure: HashIdxError?
        bytes.withUnsafeBytes { b in
            do throws(HashIdxError) {
                result = try ShardHeader.decode(b, path: "h") { .corruptIndex(path: "h", reason: $0) }
            } catch { failure = error }
        }
        if let failure { throw failure }
        return result!
    }

    func testBlockEntryAndShardRecordRoundTrip() throws {
        let entries = [BlockEntry(offset: 0, stored: 100, raw: 12_800, crc: 1),
                       BlockEntry(offset: 100, stored: 4_000_000_000, raw: 4_000_000_000, crc: 0xDEAD_BEEF)]
        var w = ByteWriter()
        for e in entries { e.encode(into: &w) }
        XCTAssertEqual(w.bytes.count, 2 * Format.blockEntrySize)
        w.bytes.withUnsafeBytes { b in
            XCTAssertEqual(BlockEntry.decode(b, 0), entries[0])
            XCTAssertEqual(BlockEntry.decode(b, 1), entries[1])
        }
        // Shard records of both readable versions; version 2 has no deletion fields.
        let plain = ShardRecord(fileName: "shard-000003-000001.hidx", firstRow: 1 << 40, rows: 77, fileSize: 1 << 33, headerCRC: 42)
        var deleting = plain
        deleting.deletionsFile = Format.deletionsName(5, 2)
        deleting.deleted = 9
        for (record, version) in [(plain, UInt32(2)), (plain, 3), (deleting, 3)] {
            var rw = ByteWriter()
            record.encode(into: &rw, version: version)
            var back: ShardRecord?
            rw.bytes.withUnsafeBytes { b in
                var r = ByteReader(b) { .corruptIndex(path: "m", reason: $0) }
                back = try? ShardRecord.decode(&r, version: version) { .corruptIndex(path: "m", reason: $0) }
                XCTAssertEqual(r.offset, b.count)
            }
            XCTAssertEqual(back, record)
        }
        // A deletion bitmap and its file.
        var d = Deletions(rows: 130)
        for p in [0, 63, 64, 129] { XCTAssertTrue(d.insert(p)) }
        XCTAssertFalse(d.insert(64))
        var seen: [Int] = []
        d.forEach(in: 1..<130) { seen.append($0) }
        XCTAssertEqual(seen, [63, 64, 129])
        var record = plain
        record.rows = 130
        record.deleted = 4
        record.deletionsFile = "x.del"
        let file = d.encoded(shardHeaderCRC: 42)
        XCTAssertEqual(file.count, Deletions.fileSize(rows: 130))
        file.withUnsafeBytes { b in XCTAssertEqual(try? Deletions.decode(b, record: record, path: "x.del"), d) }
        record.headerCRC = 43
        file.withUnsafeBytes { b in XCTAssertNil(try? Deletions.decode(b, record: record, path: "x.del"), "a deletion file of another shard") }
    }

    // MARK: Row filter

    /// Excluded rows never take a candidate's place: the filtered candidates are exactly the
    /// `want` non-excluded rows nearest in Hamming distance (ties: lower row).
    func testRowFilterActsInsideTheCandidatePipeline() throws {
        let dir = makeTemporaryDirectory(self)
        let rows = clusteredVectors(count: 600, dim: 16, clusters: 6)
        let index = try build(dir + "/f.hidx", rows: rows)   // one shard, no partitions: position = row
        let searcher = index.searcher
        let scratch = searcher.takeScratch()
        defer { searcher.returnScratch(scratch) }
        let codes = try (0..<600).map { index.model.encode(try index.unitVector(ofRow: $0)) }
        for q in [0, 123, 599] {
            let unit = try index.unitVector(ofRow: q)
            let code = index.model.encode(unit)
            func distance(_ r: Int) -> Int {
                var d = 0
                for w in 0..<code.count { d += (code[w] ^ codes[r][w]).nonzeroBitCount }
                return d
            }
            let distances = (0..<600).map(distance)
            let byDistance: [Int] = (0..<600).sorted { distances[$0] < distances[$1] || (distances[$0] == distances[$1] && $0 < $1) }
            // Exclude the query row and every third of its nearest codes.
            let excluded: [Int] = [q] + stride(from: 0, to: 60, by: 3).map { byDistance[$0] }
            let want = 20
            searcher.prepareQuery(unit, scratch: scratch)   // the query's code, for the scans below
            let filtered = searcher.candidatePositions(unit, want: want, probes: 1, filter: RowFilter(excluding: excluded),
                                                       scratch: scratch)
                .map { searcher.row(shard: $0.0, position: $0.1) }
            XCTAssertEqual(filtered.count, want)
            XCTAssertEqual(filtered, Array(byDistance.filter { !excluded.contains($0) }.prefix(want)).sorted())
            // Without the filter, the excluded rows would have been picked.
            let plain = searcher.candidatePositions(unit, want: want, probes: 1, filter: .none, scratch: scratch)
                .map { searcher.row(shard: $0.0, position: $0.1) }
            XCTAssertEqual(plain, Array(byDistance.prefix(want)).sorted())
            XCTAssertFalse(Set(plain).isDisjoint(with: excluded))
        }
    }

    /// "More like this" never returns the item and, with every row a candidate, returns
    /// exactly the other rows' exact top k.
    func testMoreLikeThisIsExactWithoutTheItem() throws {
        let dir = makeTemporaryDirectory(self)
        let rows = clusteredVectors(count: 300, dim: 12, clusters: 5)
        let index = try build(dir + "/m.hidx", rows: rows, partitions: 4, ids: (0..<300).map { "item-\($0)" })
        let unit = rows.map { r -> [Double] in
            let n = r.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            return r.map { Double($0) / n }
        }
        for q in stride(from: 0, to: 300, by: 29) {
            let hits = try index.search(similarToID: "item-\(q)", options: SearchOptions(k: 299, candidates: 300, probes: 4))
            XCTAssertEqual(hits.count, 299)
            XCTAssertFalse(hits.contains { $0.row == q })
            let exact = (0..<300).filter { $0 != q }.map { r in (r, zip(unit[q], unit[r]).reduce(0.0) { $0 + $1.0 * $1.1 }) }
                .sorted { $0.1 > $1.1 }
            // Compare the top 10 where the exact scores are well separated.
            for (rank, (r, score)) in exact.prefix(10).enumerated() where abs(score - exact[rank + 1].1) > 1e-5 {
                XCTAssertEqual(hits[rank].row, r, "query \(q) rank \(rank)")
            }
        }
    }

    func testCollectSmallestSkipsValuesOutsideTheHistogram() {
        let sentinel = UInt16.max
        let values: [UInt16] = [3, sentinel, 1, 3, sentinel, 0, 2]
        var histogram = [UInt32](repeating: 0, count: 5)
        for v in values where v != sentinel { histogram[Int(v)] += 1 }
        XCTAssertEqual(Selection.collectSmallest(values, count: values.count, want: 3, histogram: histogram, counted: 5), [2, 5, 6])
        XCTAssertEqual(Selection.collectSmallest(values, count: values.count, want: 4, histogram: histogram, counted: 5), [0, 2, 5, 6])
        // Asking for more than there are returns every counted value, never a sentinel.
        XCTAssertEqual(Selection.collectSmallest(values, count: values.count, want: 7, histogram: histogram, counted: 5), [0, 2, 3, 5, 6])
    }

    // MARK: Catalog

    func testBytesOnDiskAreTheFilesOfTheLiveGeneration() throws {
        let dir = makeTemporaryDirectory(self)
        let path = dir + "/b.hidx"
        let rows = clusteredVectors(count: 500, dim: 8)
        _ = try build(path, rows: rows)
        let index = try build(path, rows: rows, partitions: 3, ids: (0..<500).map { "x\($0)" })   // a second generation
        var total = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: path) where name != Format.lockFile {
            total += (try FileManager.default.attributesOfItem(atPath: path + "/" + name)[.size] as! NSNumber).intValue
        }
        XCTAssertEqual(index.bytesOnDisk, total)   // (LOCK names the last writer; the old generation is gone)
        XCTAssertEqual(index.formatVersion, Int(Format.version))
    }

    func testOtherFormatVersionsSayWhatToDo() throws {
        let dir = makeTemporaryDirectory(self)
        let rows = clusteredVectors(count: 100, dim: 8)
        for (file, version, advice) in [("MANIFEST-000001", UInt32(1), "rebuild the index"), ("MANIFEST-000001", Format.version + 1, "upgrade hashidx"),
                                        ("shard-000001-000000.hidx", 1, "rebuild the index"), ("shard-000001-000000.hidx", 9, "upgrade hashidx")] {
            let path = dir + "/v\(version)-\(file.prefix(5)).hidx"
            _ = try build(path, rows: rows)
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "/" + file)))
            withUnsafeBytes(of: version.littleEndian) { for i in 0..<4 { bytes[8 + i] = $0[i] } }
            writeFile(path + "/" + file, bytes)
            XCTAssertThrowsError(try Index(path: path)) {
                let e = $0 as! HashIdxError
                XCTAssertEqual(e, .unsupportedVersion(path: path + "/" + file, version: Int(version), supported: Int(Format.version)))
                XCTAssertTrue(e.description.contains(advice), "\(e)")
            }
        }
    }

    /// The writer's in-memory id look-up finds every id of a shard and no other, held whole
    /// or through its fence.
    func testShardIDLookupFindsEveryIDAndNoOther() throws {
        let path = makeTemporaryDirectory(self) + "/ids.hidx"
        let ids = (0..<300).map { "k\(($0 * 7919) % 1000)-é\($0 % 3)" } + ["", "z"].map { "edge\($0)" }
        let index = try build(path, rows: clusteredVectors(count: ids.count, dim: 6), partitions: 4, ids: ids)
        let shard = index.shards[0]
        for wholeLimit in [0, 1 << 20] {
            let lookup = try XCTUnwrap(try ShardIDLookup(shard, wholeLimit: wholeLimit))
            var cursor = BlockCursor()
            for (row, id) in ids.enumerated() {
                XCTAssertEqual(try lookup.position(of: id, in: shard, cursor: &cursor), shard.position(ofRow: row), id)
            }
            for absent in ["", "a", "k", "k5", "zzz", "edg", "edgy", "k999-é9", "\u{10FFFF}"] {
                XCTAssertNil(try lookup.position(of: absent, in: shard, cursor: &cursor), absent)
            }
        }
    }

    /// A version-2 index (before deletion files) opens and answers as before, and its first
    /// commit makes it version 3.
    func testVersionTwoIndexesOpenAndUpgradeAtTheirFirstCommit() throws {
        let path = makeTemporaryDirectory(self) + "/v2.hidx"
        let rows = clusteredVectors(count: 200, dim: 8)
        let fresh = try build(path, rows: rows, ids: (0..<200).map { "x\($0)" })
        let expected = try fresh.search(rows[3], options: SearchOptions(k: 5))
        let file = path + "/" + Format.manifestName(fresh.generation)
        let bytes = try FileSystem.readSmallFile(file, limit: 1 << 24)
        var manifest = try bytes.withUnsafeBytes { (b) throws -> Manifest in try Manifest.decode(b, path: file) }
        manifest.formatVersion = 2
        writeFile(file, manifest.encoded())
        let old = try Index(path: path)
        XCTAssertEqual(old.formatVersion, 2)
        XCTAssertEqual(try old.search(rows[3], options: SearchOptions(k: 5)), expected)
        let writer = try IndexWriter(path: path)
        try writer.delete(ids: ["x3"])
        try writer.commit()
        try writer.close()
        let upgraded = try Index(path: path)
        XCTAssertEqual(upgraded.formatVersion, Int(Format.version))
        XCTAssertNil(try upgraded.row(forID: "x3"))
        try upgraded.verify()
    }

    /// What `info` reports about training follows what the scheme ran.
    func testTrainingInfoReportsTheIterationsRun() throws {
        let dir = makeTemporaryDirectory(self)
        let rows = clusteredVectors(count: 400, dim: 80)
        let itq = try build(dir + "/itq.hidx", rows: rows)                   // 64 bits ≤ 80 dimensions
        XCTAssertEqual(itq.model.scheme, .pcaITQ)
        XCTAssertEqual(itq.training.iterationsRun(by: itq.model.scheme), TrainingOptions().iterations)
        let frame = try build(dir + "/frame.hidx", rows: clusteredVectors(count: 400, dim: 16))   // 64 bits > 16
        XCTAssertEqual(frame.model.scheme, .centredRandomFrame)
        XCTAssertEqual(frame.training.iterationsRun(by: frame.model.scheme), 0)
    }

    // MARK: What a query pays

    /// `auto` stores vectors raw when a block holds several rows (each candidate would decode
    /// a whole LZ4 block), and weighs LZ4 only with one row per block.
    func testAutoCodecWeighsWhatAQueryPays() throws {
        let dir = makeTemporaryDirectory(self)
        // Pixel-like rows: mostly zeros, so LZ4 would save a lot.
        var rng = TestRandom(seed: 21)
        let rows = (0..<300).map { _ in (0..<64).map { i in i % 8 == 0 ? Float(rng.next() % 200 + 1) : 0 } }
        for (rowsPerBlock, expected) in [(64, SectionCodec.none), (1, .lz4)] {
            let path = dir + "/c\(rowsPerBlock).hidx"
            try IndexBuilder.build(source: try InMemoryVectors(rows: rows), to: path,
                                   options: BuildOptions(training: TrainingOptions(bits: 64), rowsPerBlock: rowsPerBlock, vectorType: .float32))
            let index = try Index(path: path)
            XCTAssertEqual(index.vectorCodecs, [expected], "\(rowsPerBlock) rows per block")
            try index.verify()
            XCTAssertEqual(try index.search(rows[7], options: SearchOptions(k: 1, candidates: 300)).first?.row, 7)
        }
    }

    /// A search's scratch memory follows the rows it scans, not the size of the index.
    func testScratchFollowsTheProbedRows() throws {
        let dir = makeTemporaryDirectory(self)
        let index = try build(dir + "/s.hidx", rows: clusteredVectors(count: 3000, dim: 8, clusters: 30), partitions: 30)
        _ = try index.search(clusteredVectors(count: 1, dim: 8, seed: 3)[0], options: SearchOptions(k: 5, probes: 2))
        let scratch = index.searcher.takeScratch()
        defer { index.searcher.returnScratch(scratch) }
        XCTAssertGreaterThan(scratch.distances.count, 0)
        XCTAssertLessThan(scratch.distances.count, 1000, "two of 30 partitions of 3,000 rows")
    }
}
