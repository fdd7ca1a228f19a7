import Foundation
import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// Damaged and crafted files (issue 5): every single-byte change and every cut at a section
/// boundary is reported as corruption; files with correct checksums but impossible contents
/// (what the fuzzers found) are refused; absurd sizes are refused before anything is allocated.
///
/// A slow suite (single-threaded reads of every damaged variant): scripts/test.sh runs it once,
/// under AddressSanitizer, and not under ThreadSanitizer (its `slow` pattern).
final class HardeningTests: XCTestCase {
    /// A small index using every section kind and file kind: string ids, partitions, LZ4
    /// blocks, attributes of every type, two shards, and a second generation with a
    /// deletion file.
    private func buildSmall(_ path: String) throws -> [[Float]] {
        let rows = clusteredVectors(count: 120, dim: 6, seed: 5)
        let attributes = try AttributeTable(rows: (0..<120).map { i in
            ["c": .string("v\(i % 5)"), "p": .float(Double(i) / 2), "n": .integer(Int64(i)), "b": .boolean(i % 2 == 0),
             "t": .tags(["x\(i % 3)", "y"])]
        })
        try IndexBuilder.build(source: try InMemoryVectors(rows: rows), ids: (0..<120).map { "id-\($0)" }, attributes: attributes, to: path,
                               options: BuildOptions(training: TrainingOptions(bits: 64), shardSize: 70, rowsPerBlock: 16,
                                                     vectorCodec: .lz4, idCodec: .lz4, partitions: 3, threads: 1))
        let writer = try IndexWriter(path: path, threads: 1)
        try writer.delete(ids: ["id-1", "id-2", "id-40", "id-100"])
        try writer.commit()
        try writer.close()
        return rows
    }

    /// What the probe queries of `path` return, or the error that stopped them. Opens,
    /// verifies every block, and searches (by vector and by id, every probe count).
    private func probe(_ path: String, _ queries: [[Float]]) -> Result<[[SearchResult]], HashIdxError> {
        do {
            let index = try Index(path: path)
            try index.verify()
            var out: [[SearchResult]] = []
            for (i, q) in queries.enumerated() {
                out.append(try index.search(q, options: SearchOptions(k: 5, candidates: 40, probes: 1 + i % 3)))
            }
            out.append(try index.search(similarToID: "id-3", options: SearchOptions(k: 5, candidates: 40)))
            return .success(out)
        } catch let e as HashIdxError {
            return .failure(e)
        } catch {
            XCTFail("untyped error \(error)")
            return .failure(.io(path: path, reason: "\(error)"))
        }
    }

    private func indexFiles(_ path: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).filter { $0 != "LOCK" }.sorted()
    }

    /// Writes one byte at `offset` of `file` in place.
    private func poke(_ file: String, _ offset: Int, _ byte: UInt8) {
        let fd = open(file, O_WRONLY)
        precondition(fd >= 0)
        var b = byte
        precondition(pwrite(fd, &b, 1, off_t(offset)) == 1)
        close(fd)
    }

    /// Every byte of every file of the index (the LOCK file aside: it holds nothing), changed
    /// one at a time, is reported as corruption when the index is opened or used; never a
    /// crash, never different results. docs/FORMAT.md lists no byte as harmless: padding is
    /// checked to be zero.
    func testEverySingleByteChangeIsCaught() throws {
        let dir = makeTemporaryDirectory(self)
        let path = dir + "/c.hidx"
        let rows = try buildSmall(path)
        let queries = [rows[0], rows[50], rows[101]]
        guard case .success(let expected) = probe(path, queries) else { return XCTFail("the intact index fails") }
        var tried = 0, caught = 0
        var missed: [String] = []
        for name in try indexFiles(path) {
            let file = path + "/" + name
            let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
            for offset in original.indices {
                // Two changes per byte: one bit, and all bits.
                for mask: UInt8 in [0x01, 0xFF] {
                    poke(file, offset, original[offset] ^ mask)
                    tried += 1
                    switch probe(path, queries) {
                    case .failure(let e):
                        let text = e.description
                        if text.contains("corrupt") || text.contains("not a hashidx") || text.contains("version") { caught += 1 } else {
                            missed.append("\(name)+\(offset) ^\(mask): unexpected error \(text)")
                        }
                    case .success(let got):
                        missed.append("\(name)+\(offset) ^\(mask): not detected\(got == expected ? "" : ", and results changed")")
                    }
                }
                poke(file, offset, original[offset])
            }
        }
        XCTAssertEqual(missed, [], "\(missed.count) of \(tried) changes")
        XCTAssertEqual(caught, tried)
        XCTAssertGreaterThanOrEqual(tried, 10_000)
        print("single-byte changes: \(tried) tried, \(caught) reported as corruption")
        guard case .success(let after) = probe(path, queries) else { return XCTFail("the restored index fails") }
        XCTAssertEqual(after, expected)
    }

    /// Cutting a shard at every section boundary (and one byte either side), the manifest
    /// at every length, or CURRENT at every length is reported.
    func testTruncationAtEverySectionBoundaryIsCaught() throws {
        let dir = makeTemporaryDirectory(self)
        let path = dir + "/t.hidx"
        let rows = try buildSmall(path)
        var cuts = 0
        for name in try indexFiles(path) {
            let file = path + "/" + name
            let original = try Data(contentsOf: URL(fileURLWithPath: file))
            var lengths: Set<Int> = []
            if name.hasPrefix("shard") && name.hasSuffix(".hidx") {
                let b = [UInt8](original)
                func u32(_ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 | Int(b[at + 2]) << 16 | Int(b[at + 3]) << 24 }
                func u64(_ at: Int) -> Int { u32(at) | u32(at + 4) << 32 }
                let sections = u32(48)
                XCTAssertGreaterThanOrEqual(sections, 10, "every section kind is present")
                var boundaries = [0, Format.shardHeaderFixedSize, u32(12), original.count]
                for i in 0..<sections {
                    let e = Format.shardHeaderFixedSize + i * Format.sectionEntrySize
                    boundaries += [e, u64(e + 8), u64(e + 8) + u64(e + 16)]
                }
                for b in boundaries { lengths.formUnion([b - 1, b, b + 1]) }
            } else {
                lengths.formUnion(0...original.count + 1)
            }
            for length in lengths.sorted() where length >= 0 && length != original.count {
                var cut = original.prefix(length)
                if length > original.count { cut.append(0) }
                try cut.write(to: URL(fileURLWithPath: file))
                if case .success = probe(path, [rows[7]]) { XCTFail("\(name) cut to \(length) of \(original.count) bytes went unnoticed") }
                cuts += 1
            }
            try original.write(to: URL(fileURLWithPath: file))
        }
        XCTAssertGreaterThan(cuts, 100)
        print("truncations: \(cuts) tried, all reported")
        if case .failure(let e) = probe(path, [rows[7]]) { XCTFail("restored index fails: \(e)") }
    }

    // MARK: - Crafted files with correct checksums (fuzzer findings, see Fuzz/corpus/*/regress-*)

    /// Rewrites shard 0 of `path` with `edit`, then fixes the checksum of the section that
    /// starts at `section` (if any), the header checksum and the manifest (which records the
    /// header checksum and size), as a crafted file would.
    private func craftShard(_ path: String, fixingSectionAt section: Int? = nil, _ edit: (inout [UInt8]) -> Void) throws {
        let manifestName = try IndexDirectory(path: path).currentManifestName(), shardName = Format.shardName(1, 0)
        var shard = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "/" + shardName)))
        edit(&shard)
        func put(_ v: UInt32, at at: Int) { withUnsafeBytes(of: v.littleEndian) { for i in 0..<4 { shard[at + i] = $0[i] } } }
        let sections = Int(shard.withUnsafeBytes { $0.le(UInt32.self, at: 48) })
        for k in 0..<sections {
            let e = Format.shardHeaderFixedSize + k * Format.sectionEntrySize
            let (off, len) = shard.withUnsafeBytes { (Int($0.le(UInt64.self, at: e + 8)), Int($0.le(UInt64.self, at: e + 16))) }
            if off == section { put(crc32c(Array(shard[off..<(off + len)])), at: e + 24) }
        }
        let crcAt = Format.shardHeaderFixedSize + sections * Format.sectionEntrySize
        let crc = crc32c(Array(shard[0..<crcAt]))
        put(crc, at: crcAt)
        writeFile(path + "/" + shardName, shard)
        let bytes = try FileSystem.readSmallFile(path + "/" + manifestName, limit: 1 << 24)
        var manifest = try bytes.withUnsafeBytes { (b) throws(HashIdxError) in try Manifest.decode(b, path: "m") }
        manifest.shards[0].headerCRC = crc
        manifest.shards[0].fileSize = UInt64(shard.count)
        writeFile(path + "/" + manifestName, manifest.encoded())
    }

    /// Where section `kind`'s bytes start in shard 0 of `path` (read from its section table).
    private func sectionStart(_ path: String, _ kind: SectionKind) throws -> Int {
        let shard = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "/" + Format.shardName(1, 0))))
        let start = shard.withUnsafeBytes { b -> Int? in
            for k in 0..<Int(b.le(UInt32.self, at: 48)) {
                let entry = SectionEntry.decode(b, at: Format.shardHeaderFixedSize + k * Format.sectionEntrySize)
                if entry.kind == kind.rawValue { return Int(entry.offset) }
            }
            return nil
        }
        return try XCTUnwrap(start, "shard 0 has no \(kind) section")
    }

    private func assertRefused(_ path: String, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Index(path: path), file: file, line: line) {
            XCTAssertTrue(($0 as! HashIdxError).description.contains(fragment), "\($0)", file: file, line: line)
        }
    }

    func testCraftedShardsWithValidChecksumsAreRefused() throws {
        let dir = makeTemporaryDirectory(self)
        // Row count beyond Int.max (trapped converting it; fuzz target `shard`).
        var path = dir + "/rows.hidx"
        _ = try buildSmall(path)
        try craftShard(path) { s in for i in 16..<24 { s[i] = 0xFF } }
        assertRefused(path, "disagrees with the manifest")
        // A block offset beyond Int.max (trapped in the block-index check).
        path = dir + "/offset.hidx"
        _ = try buildSmall(path)
        let vectorIndex = try sectionStart(path, .vectorIndex)
        try craftShard(path, fixingSectionAt: vectorIndex) { s in for i in 0..<8 { s[vectorIndex + i] = 0xF0 } }
        assertRefused(path, "does not tile its section")
        // An LZ4 id block claiming 4 GB (allocated it before decompressing).
        path = dir + "/claim.hidx"
        _ = try buildSmall(path)
        let idIndex = try sectionStart(path, .idIndex)
        try craftShard(path, fixingSectionAt: idIndex) { s in
            s[idIndex + 12] = 0x00; s[idIndex + 13] = 0xFF; s[idIndex + 14] = 0xFF; s[idIndex + 15] = 0xFF
        }
        assertRefused(path, "more than its")
    }

    /// A hash model whose values are finite but overflow a margin (trapped quantising the
    /// query's bit planes; fuzz target `manifest`).
    func testModelsThatOverflowAreRefused() throws {
        XCTAssertThrowsError(try HashModel(dimension: 2, bits: 64, scheme: .pcaITQ, mean: [0, 0],
                                           projection: [Float](repeating: 3e38, count: 128),
                                           thresholds: [Float](repeating: 0, count: 64))) {
            XCTAssertTrue(($0 as! HashIdxError).description.contains("too large"), "\($0)")
        }
        let planes = BitPlanes(margins: [.infinity, 1, -.infinity, .nan], words: 1)
        XCTAssertEqual(planes.positive, [UInt64](repeating: 0, count: BitPlanes.planeCount))
    }

    // MARK: - Limits

    func testAbsurdHeadersAndTrailingBytesAreRefusedBeforeAllocating() throws {
        let dir = makeTemporaryDirectory(self)
        func refuse(_ name: String, _ bytes: [UInt8], _ fragment: String, line: UInt = #line) {
            writeFile(dir + "/" + name, bytes)
            XCTAssertThrowsError(try VectorFile(path: dir + "/" + name), line: line) {
                XCTAssertTrue(($0 as! HashIdxError).description.contains(fragment), "\($0)", line: line)
            }
        }
        let payload = float32Bytes([1, 2, 3, 4])
        refuse("overflow.npy", npyBytes(descr: "<f4", shape: [1 << 39, 1 << 39], payload: payload), "does not match its header")
        refuse("wide.npy", npyBytes(descr: "<f4", shape: [1, 1 << 31], payload: payload), "does not match its header")
        refuse("tail.npy", npyBytes(descr: "<f4", shape: [1, 4], payload: payload + [0]), "does not match its header")
        refuse("wide.fbin", [1, 0, 0, 0, 0, 0, 0, 0x80] + payload, "does not match its header")
        refuse("many.fbin", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + payload, "does not match its header")
        refuse("tail.fbin", [1, 0, 0, 0, 4, 0, 0, 0] + payload + [9, 9], "does not match its header")
        refuse("wide.fvecs", [0, 0, 0, 0x80] + payload, "declares dimension")
        refuse("tail.fvecs", [4, 0, 0, 0] + payload + [4, 0, 0], "not a whole number of rows")
        writeFile(dir + "/gt.ibin", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 1, 0, 0, 0])
        XCTAssertThrowsError(try GroundTruthFile(path: dir + "/gt.ibin"))
    }

    func testLongAndInvalidIDsAreRefused() throws {
        let dir = makeTemporaryDirectory(self)
        let long = String(repeating: "x", count: 1 << 20)
        writeFile(dir + "/long.txt", Array("a\n\(long)\nc\n".utf8))
        XCTAssertThrowsError(try IDList.read(path: dir + "/long.txt")) {
            XCTAssertEqual($0 as? HashIdxError, .invalidID(path: dir + "/long.txt", line: 2,
                reason: "id is 1048576 bytes; ids may be at most 4096 bytes (keep long text elsewhere, keyed by the id)"))
        }
        writeFile(dir + "/bad.txt", [0x61, 0x0A, 0xC3, 0x28, 0x0A])
        XCTAssertThrowsError(try IDList.read(path: dir + "/bad.txt")) {
            XCTAssertEqual($0 as? HashIdxError, .invalidID(path: dir + "/bad.txt", line: 2, reason: "not valid UTF-8"))
        }
        let rows = clusteredVectors(count: 3, dim: 4)
        XCTAssertThrowsError(try IndexBuilder.build(source: try InMemoryVectors(rows: rows), ids: ["a", long, "c"], to: dir + "/x.hidx"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.hidx"))
    }
}
