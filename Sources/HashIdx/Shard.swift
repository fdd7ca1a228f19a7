import CHashIdxKernels

/// One memory-mapped shard file, checked on open.
///
/// Open verifies the header checksum, that every section lies inside the file, and the
/// checksums of every section except the vector and id blocks; each of those blocks is
/// checked against its own checksum the first time it is read.
final class Shard: @unchecked Sendable {
    let file: MappedFile
    let path: String
    let rows: Int
    let firstRow: Int
    let dimension: Int
    let bits: Int
    let rowsPerBlock: Int
    let vectorType: VectorType
    let vectorCodec: SectionCodec
    let idCodec: SectionCodec?

    /// Codes: `rows × words` little-endian words, 64-byte aligned in the mapping.
    let codes: UnsafePointer<UInt64>
    let norms: UnsafeRawBufferPointer
    let vectorIndex: UnsafeRawBufferPointer
    let vectorData: UnsafeRawBufferPointer
    let vectorDataCRC: UInt32
    let idOrder: UnsafeRawBufferPointer?
    let idIndex: UnsafeRawBufferPointer?
    let idData: UnsafeRawBufferPointer?
    let idDataCRC: UInt32
    /// Partition `p` holds positions `[partitionOffsets[p], partitionOffsets[p+1])`; `nil`
    /// without partitions (then positions are row numbers).
    let partitionOffsets: [Int]?
    private let rowNumbers: UnsafeRawBufferPointer?
    private let positions: UnsafeRawBufferPointer?

    /// One bit per vector block (then per id block): set once the block's checksum passed.
    private let verified: UnsafeMutablePointer<UInt64>
    private let verifiedWords: Int
    var blockCount: Int { (rows + rowsPerBlock - 1) / rowsPerBlock }

    init(path: String, record: ShardRecord, manifest: Manifest) throws(HashIdxError) {
        self.path = path
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
        guard b.count >= Format.shardHeaderFixedSize, (0..<8).allSatisfy({ b[$0] == Format.shardMagic[$0] }) else {
            throw bad("shard has no HIDXSHRD magic")
        }
        let version = b.le(UInt32.self, at: 8)
        guard version == Format.version else { throw .unsupportedVersion(path: path, version: Int(version)) }
        let headerSize = Int(b.le(UInt32.self, at: 12))
        let sectionCount = Int(b.le(UInt32.self, at: 48))
        guard sectionCount <= 64, headerSize == align(Format.shardHeaderFixedSize + sectionCount * Format.sectionEntrySize + 4),
              headerSize <= b.count else { throw bad("shard header size is wrong") }
        let crcAt = Format.shardHeaderFixedSize + sectionCount * Format.sectionEntrySize
        let headerCRC = b.le(UInt32.self, at: crcAt)
        guard checksum(of: UnsafeRawBufferPointer(rebasing: b[0..<crcAt]), matches: headerCRC), headerCRC == record.headerCRC else {
            throw bad("shard header checksum mismatch")
        }
        for i in (crcAt + 4)..<headerSize where b[i] != 0 { throw bad("shard header padding is not zero") }
        // Compared as stored before any conversion: a crafted count must not trap.
        guard b.le(UInt64.self, at: 16) == record.rows, b.le(UInt64.self, at: 24) == record.firstRow else {
            throw bad("shard header disagrees with the manifest")
        }
        rows = Int(record.rows)
        firstRow = Int(record.firstRow)
        dimension = Int(b.le(UInt32.self, at: 32))
        bits = Int(b.le(UInt32.self, at: 36))
        rowsPerBlock = Int(b.le(UInt32.self, at: 40))
        let vectorTypeRaw = b.le(UInt32.self, at: 44)
        let fileSize = b.le(UInt64.self, at: 56)
        guard dimension == manifest.model.dimension,
              bits == manifest.model.bits, rowsPerBlock == manifest.rowsPerBlock,
              vectorTypeRaw == manifest.vectorType.rawValue, fileSize == record.fileSize,
              b.le(UInt32.self, at: 52) == 0 else {
            throw bad("shard header disagrees with the manifest")
        }

        // Section table.
        var found: [SectionKind: (codec: UInt32, range: Range<Int>, crc: UInt32)] = [:]
        var lastEnd = headerSize
        for i in 0..<sectionCount {
            let e = Format.shardHeaderFixedSize + i * Format.sectionEntrySize
            guard let kind = SectionKind(rawValue: b.le(UInt32.self, at: e)), found[kind] == nil else {
                throw bad("section table entry \(i) has an unknown or repeated kind")
            }
            let codec = b.le(UInt32.self, at: e + 4)
            let off = b.le(UInt64.self, at: e + 8), len = b.le(UInt64.self, at: e + 16)
            guard off % UInt64(Format.sectionAlignment) == 0, off >= UInt64(lastEnd), len <= UInt64(b.count),
                  off <= UInt64(b.count) - len, b.le(UInt32.self, at: e + 28) == 0 else {
                throw bad("section \(kind) lies outside the file or overlaps another")
            }
            // Alignment padding must be zero, so that no byte of the file goes unchecked.
            for p in lastEnd..<Int(off) where b[p] != 0 { throw bad("padding before section \(kind) is not zero") }
            lastEnd = Int(off + len)
            found[kind] = (codec, Int(off)..<Int(off + len), b.le(UInt32.self, at: e + 24))
        }
        guard lastEnd == b.count else { throw bad("shard has bytes after its last section") }
        vectorType = manifest.vectorType
        let words = bits / 64
        let blocks = (rows + rowsPerBlock - 1) / rowsPerBlock
        func section(_ kind: SectionKind, length: Int?, checked: Bool) throws(HashIdxError) -> (UnsafeRawBufferPointer, UInt32, UInt32) {
            guard let s = found[kind] else { throw bad("section \(kind) is missing") }
            if let length, s.range.count != length { throw bad("section \(kind) has \(s.range.count) bytes, expected \(length)") }
            let bytes = UnsafeRawBufferPointer(rebasing: b[s.range])
            if checked && !checksum(of: bytes, matches: s.crc) { throw bad("section \(kind) checksum mismatch") }
            return (bytes, s.codec, s.crc)
        }
        let codesSection = try section(.codes, length: rows * words * 8, checked: true)
        guard codesSection.1 == SectionCodec.none.rawValue else { throw bad("codes section has a codec") }
        codes = codesSection.0.baseAddress!.assumingMemoryBound(to: UInt64.self)
        norms = try section(.norms, length: rows * 4, checked: true).0
        vectorIndex = try section(.vectorIndex, length: blocks * Format.blockEntrySize, checked: true).0
        let vd = try section(.vectorBlocks, length: nil, checked: false)
        guard let vc = SectionCodec(rawValue: vd.1) else { throw bad("vector section has an unknown codec") }
        vectorData = vd.0
        vectorCodec = vc
        vectorDataCRC = vd.2
        try Self.checkBlockIndex(vectorIndex, blocks: blocks, dataLength: vectorData.count, rows: rows,
                                 rowsPerBlock: rowsPerBlock, rowBytes: dimension * manifest.vectorType.size, codec: vc, bad: bad)
        for r in 0..<rows where !(norms.le(UInt32.self, at: 4 * r) |> { Float(bitPattern: $0) > 0 && Float(bitPattern: $0).isFinite }) {
            throw bad("row \(r) has an invalid stored norm")
        }
        if manifest.hasStringIDs {
            let order = try section(.idOrder, length: rows * 4, checked: true).0
            for r in 0..<rows where Int(order.le(UInt32.self, at: 4 * r)) >= rows { throw bad("id order entry out of range") }
            idOrder = order
            let ii = try section(.idIndex, length: blocks * Format.blockEntrySize, checked: true).0
            let id = try section(.idBlocks, length: nil, checked: false)
            guard let ic = SectionCodec(rawValue: id.1) else { throw bad("id section has an unknown codec") }
            try Self.checkBlockIndex(ii, blocks: blocks, dataLength: id.0.count, rows: rows,
                                     rowsPerBlock: rowsPerBlock, rowBytes: nil, codec: ic, bad: bad)
            idIndex = ii
            idData = id.0
            idCodec = ic
            idDataCRC = id.2
        } else {
            idOrder = nil; idIndex = nil; idData = nil; idCodec = nil; idDataCRC = 0
        }
        if let centroids = manifest.centroids {
            let p = centroids.count
            let offsets = try section(.partitionOffsets, length: (p + 1) * 4, checked: true).0
            var starts: [Int] = []
            starts.reserveCapacity(p + 1)
            for i in 0...p { starts.append(Int(offsets.le(UInt32.self, at: 4 * i))) }
            guard starts.first == 0, starts.last == rows, zip(starts, starts.dropFirst()).allSatisfy({ $0 <= $1 }) else {
                throw bad("partition offsets do not tile the rows")
            }
            let numbers = try section(.rowNumbers, length: rows * 4, checked: true).0
            let inverse = try section(.positions, length: rows * 4, checked: true).0
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
        let expected = 4 + (manifest.hasStringIDs ? 3 : 0) + (manifest.centroids != nil ? 3 : 0)
        guard found.count == expected else { throw bad("unexpected sections") }
        verifiedWords = (2 * blocks + 63) / 64
        verified = .allocate(capacity: verifiedWords)
        verified.initialize(repeating: 0, count: verifiedWords)
    }

    deinit { verified.deallocate() }

    /// Checks that a block index tiles its data section exactly.
    private static func checkBlockIndex(_ index: UnsafeRawBufferPointer, blocks: Int, dataLength: Int, rows: Int,
                                        rowsPerBlock: Int, rowBytes: Int?, codec: SectionCodec,
                                        bad: (String) -> HashIdxError) throws(HashIdxError) {
        var expect = 0
        for i in 0..<blocks {
            let e = i * Format.blockEntrySize
            guard index.le(UInt64.self, at: e) == UInt64(expect) else { throw bad("block index entry \(i) does not tile its section") }
            let off = expect
            let stored = Int(index.le(UInt32.self, at: e + 8))
            let raw = Int(index.le(UInt32.self, at: e + 12))
            let blockRows = min(rowsPerBlock, rows - i * rowsPerBlock)
            guard stored > 0, stored <= dataLength - off, index.le(UInt32.self, at: e + 20) == 0 else {
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

    // MARK: Blocks

    /// Block `block` of the vector (`ids == false`) or id section, checked and decoded.
    /// `scratch` receives decompressed bytes; the returned buffer points into the mapping
    /// (uncompressed blocks) or into `scratch`.
    func block(_ block: Int, ids: Bool, scratch: BlockBuffer) throws(HashIdxError) -> UnsafeRawBufferPointer {
        let index = ids ? idIndex! : vectorIndex
        let data = ids ? idData! : vectorData
        let codec = ids ? idCodec! : vectorCodec
        let e = block * Format.blockEntrySize
        let off = Int(index.le(UInt64.self, at: e))
        let stored = Int(index.le(UInt32.self, at: e + 8))
        let raw = Int(index.le(UInt32.self, at: e + 12))
        let crc = index.le(UInt32.self, at: e + 16)
        let bytes = UnsafeRawBufferPointer(rebasing: data[off..<(off + stored)])
        let bit = (ids ? blockCount : 0) + block
        let word = verified + bit / 64
        let mask: UInt64 = 1 << UInt64(bit % 64)
        if hidx_atomic_load_u64(word) & mask == 0 {
            guard checksum(of: bytes, matches: crc) else {
                throw .corruptIndex(path: path, reason: "\(ids ? "id" : "vector") block \(block) checksum mismatch")
            }
            hidx_atomic_or_u64(word, mask)
        }
        switch codec {
        case .none:
            return bytes
        case .lz4:
            let destination = scratch.reserve(raw)
            guard LZ4.decompress(bytes, into: destination) else {
                throw .corruptIndex(path: path, reason: "\(ids ? "id" : "vector") block \(block) does not decompress")
            }
            return UnsafeRawBufferPointer(destination)
        }
    }

    /// The stored norm at `position`.
    func norm(_ position: Int) -> Float { Float(bitPattern: norms.le(UInt32.self, at: 4 * position)) }

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

    /// The id stored at `position` (string ids only).
    func id(_ position: Int, scratch: BlockBuffer) throws(HashIdxError) -> String {
        let blockNo = position / rowsPerBlock
        let inBlock = position % rowsPerBlock
        let blockRows = min(rowsPerBlock, rows - blockNo * rowsPerBlock)
        let b = try block(blockNo, ids: true, scratch: scratch)
        var start = 4 * blockRows
        for i in 0..<inBlock { start += Int(b.le(UInt32.self, at: 4 * i)) }
        let len = Int(b.le(UInt32.self, at: 4 * inBlock))
        guard start <= b.count, len <= b.count - start,
              let s = String(validating: UnsafeRawBufferPointer(rebasing: b[start..<(start + len)]), as: UTF8.self) else {
            throw .corruptIndex(path: path, reason: "id block \(blockNo) is malformed")
        }
        return s
    }

    /// Position whose id is `id`, by binary search over the id order.
    func row(forID id: String, scratch: BlockBuffer) throws(HashIdxError) -> Int? {
        guard let order = idOrder else { return nil }
        let key = Array(id.utf8)
        var lo = 0, hi = rows
        while lo < hi {
            let mid = (lo + hi) / 2
            let r = Int(order.le(UInt32.self, at: 4 * mid))
            let candidate = try self.id(r, scratch: scratch)
            if candidate.utf8.lexicographicallyPrecedes(key) { lo = mid + 1 } else { hi = mid }
        }
        if lo < rows {
            let r = Int(order.le(UInt32.self, at: 4 * lo))
            if try self.id(r, scratch: scratch) == id { return r }
        }
        return nil
    }

    /// Checks every block's checksum and that it decodes (for `hashidx info --verify`).
    func verifyAll() throws(HashIdxError) {
        let scratch = BlockBuffer()
        guard checksum(of: vectorData, matches: vectorDataCRC) else { throw .corruptIndex(path: path, reason: "vector section checksum mismatch") }
        for b in 0..<blockCount { _ = try block(b, ids: false, scratch: scratch) }
        if let idData {
            guard checksum(of: idData, matches: idDataCRC) else { throw .corruptIndex(path: path, reason: "id section checksum mismatch") }
            for r in 0..<rows { _ = try id(r, scratch: scratch) }
        }
    }
}

infix operator |>: AdditionPrecedence
@inline(__always) func |> <T, U>(value: T, f: (T) -> U) -> U { f(value) }

/// A growable byte buffer that decoded blocks are written into. The bytes stay put until
/// the next `reserve`.
final class BlockBuffer {
    private var pointer: UnsafeMutableRawPointer?
    private var capacity = 0

    init() {}

    deinit { pointer?.deallocate() }

    /// A buffer of exactly `count` bytes (contents undefined).
    func reserve(_ count: Int) -> UnsafeMutableRawBufferPointer {
        if count > capacity {
            pointer?.deallocate()
            capacity = max(count, 2 * capacity)
            pointer = .allocate(byteCount: capacity, alignment: 64)
        }
        return UnsafeMutableRawBufferPointer(start: pointer, count: count)
    }
}
