/// One memory-mapped shard file, checked on open: the reader side of the shard format.
///
/// Open verifies the header checksum, that every section lies inside the file, and the
/// checksums of every section except the vector and id blocks; each of those blocks is
/// checked against its own checksum the first time it is read (``Shard+Blocks.swift``).
///
/// Rows are stored at *positions*: grouped by partition in a partitioned index, in row order
/// otherwise. Callers ask for the code, vector, norm or id of a position, and map positions
/// to shard-local row numbers with ``rowNumber(atPosition:)`` and ``position(ofRow:)``; the
/// byte layout stays inside storage.
final class Shard: @unchecked Sendable {
    /// The mapping every view of this shard points into (kept alive with the shard).
    private let file: MappedFile
    let path: String
    /// The manifest's record this shard was opened with: a later generation whose record is
    /// equal (same file, placement and deletion file) reuses this shard as it is.
    let record: ShardRecord
    /// Rows in this shard.
    let rows: Int
    /// Global row number of this shard's first row.
    let firstRow: Int
    let dimension: Int
    let bits: Int
    let rowsPerBlock: Int
    let vectorType: VectorType
    /// Codec of the vector blocks.
    let vectorCodec: SectionCodec
    /// Codec of the id blocks (`nil` when ids are row numbers).
    let idCodec: SectionCodec?

    /// Codes: `rows × words` little-endian words, 64-byte aligned in the mapping; the code of
    /// position `p` starts at word `p × words`. Scanned in place by the Hamming kernels.
    let codes: ShardCodes
    /// Partition `p` holds positions `[partitionOffsets[p], partitionOffsets[p+1])`; `nil`
    /// without partitions (then positions are row numbers).
    let partitionOffsets: [Int]?

    // Section bytes, read only by the extensions in this folder.
    private let norms: UnsafeRawBufferPointer
    let vectorIndex: UnsafeRawBufferPointer
    let vectorData: UnsafeRawBufferPointer
    let vectorDataCRC: UInt32
    let idOrder: UnsafeRawBufferPointer?
    let idIndex: UnsafeRawBufferPointer?
    let idData: UnsafeRawBufferPointer?
    let idDataCRC: UInt32
    private let rowNumbers: UnsafeRawBufferPointer?
    private let positions: UnsafeRawBufferPointer?

    /// One bit per vector block (then per id block): set once the block's checksum passed.
    /// Shared with every view of this shard (``init(_:deletions:)``).
    let verified: UnsafeMutablePointer<UInt64>
    private let verifiedMarks: BlockMarks

    /// Blocks per block section.
    var blockCount: Int { (rows + rowsPerBlock - 1) / rowsPerBlock }
    /// Bytes of one stored vector.
    var vectorBytes: Int { dimension * vectorType.size }

    /// The items' attributes, by position (no columns when the shard has none).
    let attributes: AttributeColumns

    /// The positions whose items are deleted (`nil`: none).
    let deletions: Deletions?
    /// Rows that are not deleted.
    var liveRows: Int { rows - (deletions?.count ?? 0) }

    /// Adds the live rows of each partition to `lists` (one count per partition of the
    /// index); nothing without partitions.
    func countLiveRows(perPartition lists: inout [Int]) {
        guard let offsets = partitionOffsets else { return }
        precondition(lists.count == offsets.count - 1, "one count per partition")
        for p in lists.indices {
            let range = offsets[p]..<offsets[p + 1]
            lists[p] += range.count - (deletions?.count(in: range) ?? 0)
        }
    }

    /// Whether the item at `position` is deleted.
    @inline(__always)
    func isDeleted(position: Int) -> Bool { deletions?.contains(position) ?? false }

    /// Opens and checks the shard at `path`, described by `record` in `manifest`, with its
    /// deletion file at `deletionsPath` (the record names one exactly when it has deletions).
    init(path: String, record: ShardRecord, manifest: Manifest, deletionsPath: String? = nil) throws(HashIdxError) {
        self.path = path
        self.record = record
        func bad(_ why: String) -> HashIdxError { .corruptIndex(path: path, reason: why) }
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch {
            throw bad("shard file is missing or unreadable: \(error)")
        }
        self.file = file
        let b = file.bytes
        guard UInt64(b.count) == record.fileSize else {
            throw bad("shard is \(b.count) bytes, the manifest says \(record.fileSize): the file was cut or changed")
        }
        let (header, headerSize, headerCRC) = try ShardHeader.decode(b, path: path, bad: bad)
        guard headerCRC == record.headerCRC else { throw bad("shard header checksum mismatch") }
        // Compared as stored before any conversion: a crafted count must not trap.
        // (The header's first row is where the shard began when it was written; the manifest
        // places it in each generation, and compaction moves it.)
        guard header.rows == record.rows else {
            throw bad("shard header disagrees with the manifest")
        }
        rows = Int(record.rows)
        firstRow = Int(record.firstRow)
        dimension = Int(header.dimension)
        bits = Int(header.bits)
        rowsPerBlock = Int(header.rowsPerBlock)
        guard dimension == manifest.model.dimension,
              bits == manifest.model.bits, rowsPerBlock == manifest.rowsPerBlock,
              header.vectorType == manifest.vectorType.rawValue, header.fileSize == record.fileSize,
              header.reserved == 0 else {
            throw bad("shard header disagrees with the manifest")
        }

        // Section table: known kinds, each once, in file order, aligned, inside the file,
        // with nothing but zero bytes between them.
        var found: [SectionKind: SectionEntry] = [:]
        var lastEnd = headerSize
        for (i, entry) in header.sections.enumerated() {
            guard let kind = SectionKind(rawValue: entry.kind), found[kind] == nil else {
                throw bad("section table entry \(i) has an unknown or repeated kind")
            }
            let off = entry.offset, len = entry.length
            guard off % UInt64(Format.sectionAlignment) == 0, off >= UInt64(lastEnd), len <= UInt64(b.count),
                  off <= UInt64(b.count) - len, entry.reserved == 0 else {
                throw bad("section \(kind) lies outside the file or overlaps another")
            }
            // Alignment padding must be zero, so that no byte of the file goes unchecked.
            for p in lastEnd..<Int(off) where b[p] != 0 { throw bad("padding before section \(kind) is not zero") }
            lastEnd = Int(off + len)
            found[kind] = entry
        }
        guard lastEnd == b.count else { throw bad("shard has bytes after its last section") }
        vectorType = manifest.vectorType
        let words = bits / 64
        let blocks = (rows + rowsPerBlock - 1) / rowsPerBlock
        func section(_ kind: SectionKind, length: Int?, checked: Bool) throws(HashIdxError) -> (bytes: UnsafeRawBufferPointer, entry: SectionEntry) {
            guard let s = found[kind] else { throw bad("section \(kind) is missing") }
            let range = Int(s.offset)..<Int(s.offset + s.length)
            if let length, range.count != length { throw bad("section \(kind) has \(range.count) bytes, expected \(length)") }
            let bytes = UnsafeRawBufferPointer(rebasing: b[range])
            if checked && !checksum(of: bytes, matches: s.crc) { throw bad("section \(kind) checksum mismatch") }
            return (bytes, s)
        }
        let codesSection = try section(.codes, length: rows * words * 8, checked: true)
        guard codesSection.entry.codec == SectionCodec.none.rawValue else { throw bad("codes section has a codec") }
        codes = ShardCodes(base: codesSection.bytes.baseAddress!.assumingMemoryBound(to: UInt64.self), words: words, count: rows)
        norms = try section(.norms, length: rows * 4, checked: true).bytes
        vectorIndex = try section(.vectorIndex, length: blocks * Format.blockEntrySize, checked: true).bytes
        let vd = try section(.vectorBlocks, length: nil, checked: false)
        guard let vc = SectionCodec(rawValue: vd.entry.codec) else { throw bad("vector section has an unknown codec") }
        vectorData = vd.bytes
        vectorCodec = vc
        vectorDataCRC = vd.entry.crc
        try Self.checkBlockIndex(vectorIndex, blocks: blocks, dataLength: vectorData.count, rows: rows,
                                 rowsPerBlock: rowsPerBlock, rowBytes: dimension * manifest.vectorType.size, codec: vc, bad: bad)
        for r in 0..<rows {
            let norm = Float(bitPattern: norms.le(UInt32.self, at: 4 * r))
            guard norm > 0, norm.isFinite else { throw bad("row \(r) has an invalid stored norm") }
        }
        if manifest.hasStringIDs {
            let order = try section(.idOrder, length: rows * 4, checked: true).bytes
            for r in 0..<rows where Int(order.le(UInt32.self, at: 4 * r)) >= rows { throw bad("id order entry out of range") }
            idOrder = order
            let ii = try section(.idIndex, length: blocks * Format.blockEntrySize, checked: true).bytes
            let id = try section(.idBlocks, length: nil, checked: false)
            guard let ic = SectionCodec(rawValue: id.entry.codec) else { throw bad("id section has an unknown codec") }
            try Self.checkBlockIndex(ii, blocks: blocks, dataLength: id.bytes.count, rows: rows,
                                     rowsPerBlock: rowsPerBlock, rowBytes: nil, codec: ic, bad: bad)
            idIndex = ii
            idData = id.bytes
            idCodec = ic
            idDataCRC = id.entry.crc
        } else {
            idOrder = nil; idIndex = nil; idData = nil; idCodec = nil; idDataCRC = 0
        }
        var ownPartitions = 0
        if let centroids = manifest.centroids {
            // A shard covers the partitions the index had when it was written: lists added
            // since (a rebalancing step appends them) are empty in it.
            let p = centroids.count
            let offsets = try section(.partitionOffsets, length: nil, checked: true).bytes
            let own = offsets.count / 4 - 1
            guard offsets.count % 4 == 0, own >= 1, own <= p else {
                throw bad("partition offsets cover \(offsets.count / 4 - 1) partitions, expected 1…\(p)")
            }
            guard header.version >= 6 || own == p else { throw bad("a version-\(header.version) shard covers \(own) of \(p) partitions") }
            var starts: [Int] = []
            starts.reserveCapacity(p + 1)
            for i in 0...own { starts.append(Int(offsets.le(UInt32.self, at: 4 * i))) }
            guard starts.first == 0, starts.last == rows, zip(starts, starts.dropFirst()).allSatisfy({ $0 <= $1 }) else {
                throw bad("partition offsets do not tile the rows")
            }
            starts += repeatElement(rows, count: p - own)
            ownPartitions = own
            let numbers = try section(.rowNumbers, length: rows * 4, checked: true).bytes
            let inverse = try section(.positions, length: rows * 4, checked: true).bytes
            for position in 0..<rows {
                let row = Int(numbers.le(UInt32.self, at: 4 * position))
                guard row < rows, Int(inverse.le(UInt32.self, at: 4 * row)) == position else {
                    throw bad("row-number maps are not inverse permutations")
                }
            }
            partitionOffsets = starts
            rowNumbers = numbers
            positions = inverse
        } else {
            partitionOffsets = nil; rowNumbers = nil; positions = nil
        }
        if found[.attributes] != nil {
            guard header.version >= 4 else { throw bad("a version-\(header.version) shard has an attribute section") }
            let section = try section(.attributes, length: nil, checked: true)
            guard section.entry.codec == SectionCodec.none.rawValue else { throw bad("attribute section has a codec") }
            attributes = try AttributeColumns.decode(section.bytes, rows: rows, zones: max(1, ownPartitions), path: path)
        } else {
            attributes = AttributeColumns(rows: rows)
        }
        let expected = 4 + (manifest.hasStringIDs ? 3 : 0) + (manifest.centroids != nil ? 3 : 0) + (found[.attributes] != nil ? 1 : 0)
        guard found.count == expected else { throw bad("unexpected sections") }
        if record.deletionsFile != nil {
            guard let deletionsPath else { throw bad("the manifest names a deletion file but none was given") }
            let file: MappedFile
            do { file = try MappedFile(path: deletionsPath) } catch {
                throw .corruptIndex(path: deletionsPath, reason: "deletion file is missing or unreadable: \(error)")
            }
            deletions = try Deletions.decode(file.bytes, record: record, path: deletionsPath)
        } else {
            deletions = nil
        }
        verifiedMarks = BlockMarks(count: 2 * blocks)
        verified = verifiedMarks.words
    }

    /// A view of `shard` whose deleted positions are `deletions` instead of its own: what a
    /// snapshot with buffered deletes (``WriteBuffer``) searches. It shares the shard's
    /// mapping and the blocks already verified; `record` stays the file's own, and only
    /// the snapshot that made the view holds it (reopens reuse the shard itself). With
    /// `partitions`, more than the shard's, the partitions past its own are empty in the
    /// view (a generation that added lists reuses the shards of the one before).
    init(_ shard: Shard, deletions: Deletions?, partitions: Int? = nil) {
        file = shard.file; path = shard.path; record = shard.record; rows = shard.rows; firstRow = shard.firstRow
        dimension = shard.dimension; bits = shard.bits; rowsPerBlock = shard.rowsPerBlock
        vectorType = shard.vectorType; vectorCodec = shard.vectorCodec; idCodec = shard.idCodec
        codes = shard.codes; norms = shard.norms
        vectorIndex = shard.vectorIndex; vectorData = shard.vectorData; vectorDataCRC = shard.vectorDataCRC
        idOrder = shard.idOrder; idIndex = shard.idIndex; idData = shard.idData; idDataCRC = shard.idDataCRC
        rowNumbers = shard.rowNumbers; positions = shard.positions
        verifiedMarks = shard.verifiedMarks; verified = shard.verified
        attributes = shard.attributes
        self.deletions = deletions
        if let partitions, let offsets = shard.partitionOffsets, partitions + 1 > offsets.count {
            partitionOffsets = offsets + repeatElement(shard.rows, count: partitions + 1 - offsets.count)
        } else {
            partitionOffsets = shard.partitionOffsets
        }
    }

    /// Checks that a block index tiles its data section exactly.
    private static func checkBlockIndex(_ index: UnsafeRawBufferPointer, blocks: Int, dataLength: Int, rows: Int,
                                        rowsPerBlock: Int, rowBytes: Int?, codec: SectionCodec,
                                        bad: (String) -> HashIdxError) throws(HashIdxError) {
        var expect = 0
        for i in 0..<blocks {
            let entry = BlockEntry.decode(index, i)
            guard entry.offset == UInt64(expect) else { throw bad("block index entry \(i) does not tile its section") }
            let off = expect
            let stored = Int(entry.stored)
            let raw = Int(entry.raw)
            let blockRows = min(rowsPerBlock, rows - i * rowsPerBlock)
            guard stored > 0, stored <= dataLength - off, entry.reserved == 0 else {
                throw bad("block index entry \(i) does not tile its section")
            }
            if let rowBytes, raw != blockRows * rowBytes { throw bad("block \(i) has the wrong raw length") }
            if codec == .none && raw != stored { throw bad("block \(i) stored length differs from its raw length") }
            // LZ4 expands at most ~255×: a larger claim is corruption, and is refused before
            // anything of that size is allocated.
            if codec == .lz4 && raw > stored * 256 + 64 { throw bad("block \(i) claims \(raw) bytes, more than its \(stored) LZ4 bytes can hold") }
            if rowBytes == nil && raw < 4 * blockRows { throw bad("id block \(i) is too short") }
            expect = off + stored
        }
        guard expect == dataLength else { throw bad("block section has \(dataLength - expect) bytes beyond its last block") }
    }

    // MARK: Positions

    /// The shard-local row number stored at `position`.
    @inline(__always)
    func rowNumber(atPosition position: Int) -> Int {
        guard let rowNumbers else { return position }
        return Int(rowNumbers.le(UInt32.self, at: 4 * position))
    }

    /// The position of shard-local row `row`.
    @inline(__always)
    func position(ofRow row: Int) -> Int {
        guard let positions else { return row }
        return Int(positions.le(UInt32.self, at: 4 * row))
    }

    /// The stored norm (original length) of the vector at `position`.
    func norm(at position: Int) -> Float { Float(bitPattern: norms.le(UInt32.self, at: 4 * position)) }
}

/// The verified-block bits of one shard file, shared by its views and freed with the last.
final class BlockMarks: @unchecked Sendable {
    let words: UnsafeMutablePointer<UInt64>

    init(count: Int) {
        let n = (count + 63) / 64
        words = .allocate(capacity: max(1, n))
        words.initialize(repeating: 0, count: max(1, n))
    }

    deinit { words.deallocate() }
}
