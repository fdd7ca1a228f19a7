/// Writes one shard file (docs/FORMAT.md §3) from rows that are already encoded: each row's
/// unit vector, norm and code, given in position order.
///
/// The fixed-size sections (codes, norms, block indexes, id order, partition maps) are placed
/// first, at offsets known before any row arrives; vector blocks stream after them as rows
/// come in, then the id blocks; the header is written last, once every section's place and
/// checksum is known. Nothing here decides where a row goes or how it is hashed: that is the
/// builder's (`Build/`).
final class ShardWriter {
    /// LZ4 must save at least this fraction of a section for `auto` to pick it.
    static let minimumSaving = 0.10
    /// Blocks measured by `auto` before it decides.
    static let probeBlocks = 16

    /// What the file holds.
    struct Layout {
        /// Rows in the shard.
        var rows: Int
        /// Global row number of its first row.
        var firstRow: Int
        var dimension: Int
        var bits: Int
        var rowsPerBlock: Int
        var vectorType: VectorType
        /// Whether the shard stores string ids.
        var hasIDs: Bool
        /// The number of partitions, or `nil` for an index without partitions.
        var partitionCount: Int?
        /// Whether the shard stores an attribute section.
        var hasAttributes = false

        var words: Int { bits / 64 }
        var blocks: Int { (rows + rowsPerBlock - 1) / rowsPerBlock }
    }

    let layout: Layout
    let fileName: String
    private let vectorCodec: CodecChoice
    private let idCodec: CodecChoice
    private let out: OutputFile

    // Where the fixed-size sections go.
    private let headerSize: Int
    private let codesOffset: Int, normsOffset: Int, vectorIndexOffset: Int
    private let idOrderOffset: Int, idIndexOffset: Int
    private let partitionOffsetsOffset: Int, rowNumbersOffset: Int, positionsOffset: Int
    private let vectorBlocksOffset: Int

    // Rows received so far.
    private var appended = 0
    private var codes: [UInt64]
    private var norms: [Float]
    /// Unit vectors of the block being filled.
    private var block: [Float]
    private var blockRows = 0

    // Vector blocks written so far.
    private var vectorIndex = ByteWriter()
    private var vectorCRC: UInt32 = 0
    private var vectorBytes = 0
    private var blocksDone = 0
    private var chosen: SectionCodec
    private var deciding: Bool
    private var probeRaw = 0, probeCompressed = 0
    private var pendingProbe: [[UInt8]] = []   // raw probe blocks kept until `auto` decides

    /// Creates the file at `path` (named `fileName` in the manifest) for a shard of `layout`.
    init(path: String, fileName: String, layout: Layout, vectorCodec: CodecChoice, idCodec: CodecChoice) throws(HashIdxError) {
        self.layout = layout
        self.fileName = fileName
        self.vectorCodec = vectorCodec
        self.idCodec = idCodec
        let n = layout.rows, blocks = layout.blocks
        let partitioned = layout.partitionCount != nil
        var sectionCount = 4
        if layout.hasIDs { sectionCount += 3 }
        if partitioned { sectionCount += 3 }
        if layout.hasAttributes { sectionCount += 1 }
        headerSize = ShardHeader.size(sections: sectionCount)
        var offset = headerSize
        func place(_ length: Int) -> Int { let o = offset; offset = Format.align(offset + length); return o }
        codesOffset = place(n * layout.words * 8)
        normsOffset = place(n * 4)
        vectorIndexOffset = place(blocks * Format.blockEntrySize)
        idOrderOffset = layout.hasIDs ? place(n * 4) : 0
        idIndexOffset = layout.hasIDs ? place(blocks * Format.blockEntrySize) : 0
        partitionOffsetsOffset = partitioned ? place((layout.partitionCount! + 1) * 4) : 0
        rowNumbersOffset = partitioned ? place(n * 4) : 0
        positionsOffset = partitioned ? place(n * 4) : 0
        vectorBlocksOffset = offset

        codes = [UInt64](repeating: 0, count: n * layout.words)
        norms = [Float](repeating: 0, count: n)
        block = [Float](repeating: 0, count: layout.rowsPerBlock * layout.dimension)
        chosen = vectorCodec == .lz4 ? .lz4 : .none
        // `auto` measures LZ4 only where a query would not pay for it: one vector per block.
        deciding = vectorCodec == .auto && layout.rowsPerBlock == 1
        out = try OutputFile(creating: path)
    }

    /// Appends the next `count` rows (positions `appended..<appended+count`): `unit` holds their
    /// unit vectors (`count × dimension`), `norms` their original lengths, `codes` their codes
    /// (`count × words`). Full vector blocks are written as they fill.
    func append(unit: UnsafeBufferPointer<Float>, norms rowNorms: UnsafeBufferPointer<Float>,
                codes rowCodes: UnsafeBufferPointer<UInt64>, count: Int) throws(HashIdxError) {
        let d = layout.dimension, words = layout.words
        precondition(appended + count <= layout.rows)
        for i in 0..<count { norms[appended + i] = rowNorms[i] }
        for i in 0..<(count * words) { codes[appended * words + i] = rowCodes[i] }
        var i = 0
        while i < count {
            let take = min(count - i, layout.rowsPerBlock - blockRows)
            for j in 0..<(take * d) { block[blockRows * d + j] = unit[i * d + j] }
            blockRows += take
            appended += take
            i += take
            if blockRows == layout.rowsPerBlock || appended == layout.rows { try flushBlock() }
        }
    }

    /// Encodes the block being filled in the vector type, picks the codec (`auto` with one
    /// row per block: LZ4 when it saves ``minimumSaving`` over the first ``probeBlocks``
    /// blocks; see ``CodecChoice/auto``) and writes it.
    private func flushBlock() throws(HashIdxError) {
        let values = blockRows * layout.dimension
        let raw: [UInt8]
        switch layout.vectorType {
        case .float32:
            raw = block.withUnsafeBytes { Array($0[0..<(values * 4)]) }
        case .float16:
            var halves = [UInt16](repeating: 0, count: values)
            hidx_float_to_half(block, &halves, values)
            raw = halves.withUnsafeBytes { Array($0) }
        }
        blockRows = 0
        let last = blocksDone == layout.blocks - 1
        blocksDone += 1
        if deciding {
            pendingProbe.append(raw)
            probeRaw += raw.count
            probeCompressed += raw.withUnsafeBytes { LZ4.compress($0)?.count } ?? raw.count
            if pendingProbe.count == Self.probeBlocks || last {
                deciding = false
                chosen = Double(probeCompressed) <= Double(probeRaw) * (1 - Self.minimumSaving) ? .lz4 : .none
                for p in pendingProbe { try emitVectorBlock(p) }
                pendingProbe = []
            }
        } else {
            try emitVectorBlock(raw)
        }
    }

    private func emitVectorBlock(_ raw: [UInt8]) throws(HashIdxError) {
        let stored = LZ4.encode(raw, codec: chosen)
        try out.write(stored, at: vectorBlocksOffset + vectorBytes)
        BlockEntry(offset: UInt64(vectorBytes), stored: UInt32(stored.count), raw: UInt32(raw.count),
                   crc: crc32c(stored)).encode(into: &vectorIndex)
        vectorCRC = crc32c(stored, continuing: vectorCRC)
        vectorBytes += stored.count
    }

    /// Writes the remaining sections and the header, syncs and closes the file, and returns
    /// the manifest's record of it. `ids` are the ids in position order (`nil` for row-number
    /// ids). A partitioned shard gives `partitionStarts` (`partitionCount + 1` positions: the
    /// first position of each partition, then `rows`) and `rowNumbers` (the shard-local row
    /// number at each position). `attributes`, in position order, become the attribute
    /// section (none when `nil` or without keys).
    func finish(ids: [String]?, partitionStarts: [Int]?, rowNumbers: [Int]?,
                attributes: AttributeTable? = nil) throws(HashIdxError) -> ShardRecord {
        let n = layout.rows, blocks = layout.blocks
        precondition(appended == n && (ids != nil) == layout.hasIDs && (partitionStarts != nil) == (layout.partitionCount != nil))
        var sections: [SectionEntry] = []
        let codeBytes = codes.withUnsafeBytes { Array($0) }
        try out.write(codeBytes, at: codesOffset)
        sections.append(SectionEntry(.codes, offset: codesOffset, length: codeBytes.count, crc: crc32c(codeBytes)))
        let normBytes = norms.withUnsafeBytes { Array($0) }
        try out.write(normBytes, at: normsOffset)
        sections.append(SectionEntry(.norms, offset: normsOffset, length: normBytes.count, crc: crc32c(normBytes)))
        try out.write(vectorIndex.bytes, at: vectorIndexOffset)
        sections.append(SectionEntry(.vectorIndex, offset: vectorIndexOffset, length: vectorIndex.bytes.count,
                                     crc: crc32c(vectorIndex.bytes)))
        sections.append(SectionEntry(.vectorBlocks, codec: chosen, offset: vectorBlocksOffset, length: vectorBytes, crc: vectorCRC))
        var end = vectorBlocksOffset + vectorBytes

        // Ids: blocks of `rowsPerBlock` ids, each `uint32` lengths then UTF-8 bytes.
        if let ids {
            var rawBlocks: [[UInt8]] = []
            for b in 0..<blocks {
                var w = ByteWriter()
                let lo = b * layout.rowsPerBlock, hi = min(n, lo + layout.rowsPerBlock)
                for p in lo..<hi { w.u32(UInt32(ids[p].utf8.count)) }
                for p in lo..<hi { w.raw(Array(ids[p].utf8)) }
                rawBlocks.append(w.bytes)
            }
            let compressed = rawBlocks.map { LZ4.encode($0, codec: .lz4) }
            let rawTotal = rawBlocks.reduce(0) { $0 + $1.count }
            let lz4Total = compressed.reduce(0) { $0 + $1.count }
            let codec: SectionCodec
            switch idCodec {
            case .lz4: codec = .lz4
            case .none: codec = .none
            case .auto: codec = Double(lz4Total) <= Double(rawTotal) * (1 - Self.minimumSaving) ? .lz4 : .none
            }
            let stored = codec == .lz4 ? compressed : rawBlocks
            let idBlocksOffset = Format.align(end)
            var index = ByteWriter()
            var data: [UInt8] = []
            for (i, s) in stored.enumerated() {
                BlockEntry(offset: UInt64(data.count), stored: UInt32(s.count), raw: UInt32(rawBlocks[i].count),
                           crc: crc32c(s)).encode(into: &index)
                data += s
            }
            try out.write(data, at: idBlocksOffset)
            try out.write(index.bytes, at: idIndexOffset)
            let byID = (0..<n).sorted { ids[$0].utf8.lexicographicallyPrecedes(ids[$1].utf8) }
            var order = ByteWriter()
            for position in byID { order.u32(UInt32(position)) }
            try out.write(order.bytes, at: idOrderOffset)
            sections.append(SectionEntry(.idOrder, offset: idOrderOffset, length: order.bytes.count, crc: crc32c(order.bytes)))
            sections.append(SectionEntry(.idIndex, offset: idIndexOffset, length: index.bytes.count, crc: crc32c(index.bytes)))
            sections.append(SectionEntry(.idBlocks, codec: codec, offset: idBlocksOffset, length: data.count, crc: crc32c(data)))
            end = idBlocksOffset + data.count
        }

        if let partitionStarts, let rowNumbers {
            var offsets = ByteWriter(), numbers = ByteWriter(), positions = ByteWriter()
            for start in partitionStarts { offsets.u32(UInt32(start)) }
            var inverse = [Int](repeating: 0, count: n)
            for (position, local) in rowNumbers.enumerated() { numbers.u32(UInt32(local)); inverse[local] = position }
            for position in inverse { positions.u32(UInt32(position)) }
            for (kind, at, w) in [(SectionKind.partitionOffsets, partitionOffsetsOffset, offsets),
                                  (.rowNumbers, rowNumbersOffset, numbers), (.positions, positionsOffset, positions)] {
                try out.write(w.bytes, at: at)
                sections.append(SectionEntry(kind, offset: at, length: w.bytes.count, crc: crc32c(w.bytes)))
            }
        }

        if let attributes, !attributes.schema.isEmpty {
            precondition(attributes.count == n)
            let bytes = AttributeColumns.encode(attributes, zoneStarts: partitionStarts ?? [0, n])
            let at = Format.align(end)
            try out.write(bytes, at: at)
            sections.append(SectionEntry(.attributes, offset: at, length: bytes.count, crc: crc32c(bytes)))
            end = at + bytes.count
        }

        // Header last: it records every section's place and checksum, in file order.
        sections.sort { $0.offset < $1.offset }
        let header = ShardHeader(rows: UInt64(n), firstRow: UInt64(layout.firstRow), dimension: UInt32(layout.dimension),
                                 bits: UInt32(layout.bits), rowsPerBlock: UInt32(layout.rowsPerBlock),
                                 vectorType: layout.vectorType.rawValue, fileSize: UInt64(end), sections: sections)
        let (headerBytes, headerCRC) = header.encoded()
        precondition(headerBytes.count == headerSize)
        try out.write(headerBytes, at: 0)
        try out.syncAndClose()
        return ShardRecord(fileName: fileName, firstRow: UInt64(layout.firstRow), rows: UInt64(n),
                           fileSize: UInt64(end), headerCRC: headerCRC)
    }
}

import CHashIdxKernels
