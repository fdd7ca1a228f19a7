/// How the builder picks a section's codec.
public enum CodecChoice: String, Sendable, CaseIterable {
    /// LZ4 where it saves at least ``ShardWriter/minimumSaving`` of the section's bytes
    /// (measured on the section's first blocks), otherwise stored as is.
    case auto
    /// Always LZ4 (blocks that LZ4 would grow are still stored LZ4-encoded).
    case lz4
    /// Never compressed.
    case none
}

/// What the manifest records about one shard.
struct ShardRecord: Equatable {
    var fileName: String
    var firstRow: UInt64
    var rows: UInt64
    var fileSize: UInt64
    var headerCRC: UInt32
}

/// Writes one shard file. The layout is in `docs/FORMAT.md`.
struct ShardWriter {
    /// LZ4 must save at least this fraction of a section for `auto` to pick it.
    static let minimumSaving = 0.10
    /// Blocks measured by `auto` before it decides.
    static let probeBlocks = 16

    let model: HashModel
    let rowsPerBlock: Int
    let vectorCodec: CodecChoice
    let idCodec: CodecChoice
    let vectorType: VectorType
    /// Threads for normalising and encoding.
    var threads: Int = 1

    /// Writes rows `rows` of `source` (with `ids`, one per row of the range, or `nil` for
    /// row-number ids) to `path`. `progress` is called with the number of rows done.
    ///
    /// With `partitions` (the partition of each row of the range, `0..<partitionCount`), rows
    /// are laid out grouped by partition, in row order within a partition, and the shard gets
    /// the partition offsets and both row-number maps.
    func write(source: any VectorSource, rows: Range<Int>, ids: ArraySlice<String>?, partitions: ArraySlice<Int>? = nil,
               partitionCount: Int = 0, path: String,
               fileName: String, progress: (Int) -> Void) throws(HashIdxError) -> ShardRecord {
        let n = rows.count
        let d = model.dimension
        let words = model.words
        let blocks = (n + rowsPerBlock - 1) / rowsPerBlock
        let hasIDs = ids != nil

        // Fixed-size sections first, at offsets known before any row is read.
        // Position → shard-local row: grouped by partition (a stable counting sort).
        var order = Array(0..<n)
        var partitionStarts: [Int] = []
        if let partitions {
            var counts = [Int](repeating: 0, count: partitionCount + 1)
            for p in partitions { counts[p + 1] += 1 }
            for p in 0..<partitionCount { counts[p + 1] += counts[p] }
            partitionStarts = counts
            var next = counts
            for (local, p) in partitions.enumerated() { order[next[p]] = local; next[p] += 1 }
        }
        let partitioned = partitions != nil
        var kinds: [SectionKind] = [.codes, .norms, .vectorIndex, .vectorBlocks]
        if hasIDs { kinds += [.idOrder, .idIndex, .idBlocks] }
        if partitioned { kinds += [.partitionOffsets, .rowNumbers, .positions] }
        let headerSize = align(Format.shardHeaderFixedSize + kinds.count * Format.sectionEntrySize + 4)
        var offset = headerSize
        func place(_ length: Int) -> Int { let o = offset; offset = align(offset + length); return o }
        let codesOffset = place(n * words * 8)
        let normsOffset = place(n * 4)
        let vectorIndexOffset = place(blocks * Format.blockEntrySize)
        let idOrderOffset = hasIDs ? place(n * 4) : 0
        let idIndexOffset = hasIDs ? place(blocks * Format.blockEntrySize) : 0
        let partitionOffsetsOffset = partitioned ? place((partitionCount + 1) * 4) : 0
        let rowNumbersOffset = partitioned ? place(n * 4) : 0
        let positionsOffset = partitioned ? place(n * 4) : 0
        let vectorBlocksOffset = offset

        let out = try OutputFile(creating: path)
        var codes = [UInt64](repeating: 0, count: n * words)
        var norms = [Float](repeating: 0, count: n)
        var vectorIndex = ByteWriter()
        var vectorCRC: UInt32 = 0
        var vectorBytes = 0
        var block = [Float](repeating: 0, count: rowsPerBlock * d)
        var chosen: SectionCodec = vectorCodec == .lz4 ? .lz4 : .none
        var probeRaw = 0, probeCompressed = 0
        var pendingProbe: [[UInt8]] = []   // raw probe blocks kept until `auto` decides

        func emit(_ stored: [UInt8], rawLength: Int) throws(HashIdxError) {
            try out.write(stored, at: vectorBlocksOffset + vectorBytes)
            vectorIndex.u64(UInt64(vectorBytes))
            vectorIndex.u32(UInt32(stored.count))
            vectorIndex.u32(UInt32(rawLength))
            vectorIndex.u32(crc32c(stored))
            vectorIndex.u32(0)
            vectorCRC = stored.withUnsafeBytes { hidx_crc32c(vectorCRC, $0.baseAddress, $0.count) }
            vectorBytes += stored.count
        }
        func store(_ raw: [UInt8], codec: SectionCodec) throws(HashIdxError) {
            switch codec {
            case .none: try emit(raw, rawLength: raw.count)
            case .lz4:
                let c = raw.withUnsafeBytes { LZ4.compress($0) } ?? LZ4.compressAlways(raw)
                try emit(c, rawLength: raw.count)
            }
        }
        var deciding = vectorCodec == .auto

        // Rows are normalised and encoded in parallel, a group of blocks at a time; blocks are
        // then compressed and written in order.
        let groupBlocks = max(1, 16_384 / rowsPerBlock)
        var unit = [Float](repeating: 0, count: min(n, groupBlocks * rowsPerBlock) * d)
        for b in 0..<blocks {
            let lo = b * rowsPerBlock, hi = min(n, lo + rowsPerBlock)
            if b % groupBlocks == 0 {
                let groupHi = min(n, lo + groupBlocks * rowsPerBlock)
                try encodeGroup(source: source, rows: rows, order: order, range: lo..<groupHi,
                                unit: &unit, norms: &norms, codes: &codes)
            }
            let groupLo = (b / groupBlocks) * groupBlocks * rowsPerBlock
            for j in 0..<((hi - lo) * d) { block[j] = unit[(lo - groupLo) * d + j] }
            let raw: [UInt8]
            switch vectorType {
            case .float32:
                raw = block.withUnsafeBytes { Array($0[0..<((hi - lo) * d * 4)]) }
            case .float16:
                var halves = [UInt16](repeating: 0, count: (hi - lo) * d)
                hidx_float_to_half(block, &halves, halves.count)
                raw = halves.withUnsafeBytes { Array($0) }
            }
            if deciding {
                pendingProbe.append(raw)
                probeRaw += raw.count
                probeCompressed += raw.withUnsafeBytes { LZ4.compress($0)?.count } ?? raw.count
                if pendingProbe.count == Self.probeBlocks || b == blocks - 1 {
                    deciding = false
                    chosen = Double(probeCompressed) <= Double(probeRaw) * (1 - Self.minimumSaving) ? .lz4 : .none
                    for p in pendingProbe { try store(p, codec: chosen) }
                    pendingProbe = []
                }
            } else {
                try store(raw, codec: chosen)
            }
            progress(hi)
        }

        var sections: [(SectionKind, SectionCodec, Int, Int, UInt32)] = []
        let codeBytes = codes.withUnsafeBytes { Array($0) }
        try out.write(codeBytes, at: codesOffset)
        let codesCRC = crc32c(codeBytes)
        sections.append((.codes, .none, codesOffset, n * words * 8, codesCRC))
        let normBytes = norms.withUnsafeBytes { Array($0) }
        try out.write(normBytes, at: normsOffset)
        sections.append((.norms, .none, normsOffset, normBytes.count, crc32c(normBytes)))
        try out.write(vectorIndex.bytes, at: vectorIndexOffset)
        sections.append((.vectorIndex, .none, vectorIndexOffset, vectorIndex.bytes.count, crc32c(vectorIndex.bytes)))
        sections.append((.vectorBlocks, chosen, vectorBlocksOffset, vectorBytes, vectorCRC))
        var end = vectorBlocksOffset + vectorBytes

        // Ids: blocks of `rowsPerBlock` ids, each `uint32` lengths then UTF-8 bytes.
        if let ids {
            let idArray = Array(ids)
            var rawBlocks: [[UInt8]] = []
            for b in 0..<blocks {
                var w = ByteWriter()
                let lo = b * rowsPerBlock, hi = min(n, lo + rowsPerBlock)
                for r in lo..<hi { w.u32(UInt32(idArray[order[r]].utf8.count)) }
                for r in lo..<hi { w.raw(Array(idArray[order[r]].utf8)) }
                rawBlocks.append(w.bytes)
            }
            let compressed = rawBlocks.map { b in b.withUnsafeBytes { LZ4.compress($0) } ?? LZ4.compressAlways(b) }
            let rawTotal = rawBlocks.reduce(0) { $0 + $1.count }
            let lz4Total = compressed.reduce(0) { $0 + $1.count }
            let idCodecChosen: SectionCodec
            switch idCodec {
            case .lz4: idCodecChosen = .lz4
            case .none: idCodecChosen = .none
            case .auto: idCodecChosen = Double(lz4Total) <= Double(rawTotal) * (1 - Self.minimumSaving) ? .lz4 : .none
            }
            let stored = idCodecChosen == .lz4 ? compressed : rawBlocks
            let idBlocksOffset = align(end)
            var index = ByteWriter()
            var data: [UInt8] = []
            for (i, s) in stored.enumerated() {
                index.u64(UInt64(data.count))
                index.u32(UInt32(s.count))
                index.u32(UInt32(rawBlocks[i].count))
                index.u32(crc32c(s))
                index.u32(0)
                data += s
            }
            try out.write(data, at: idBlocksOffset)
            try out.write(index.bytes, at: idIndexOffset)
            let byID = (0..<n).sorted { idArray[order[$0]].utf8.lexicographicallyPrecedes(idArray[order[$1]].utf8) }
            var ow = ByteWriter()
            for position in byID { ow.u32(UInt32(position)) }
            try out.write(ow.bytes, at: idOrderOffset)
            sections.append((.idOrder, .none, idOrderOffset, ow.bytes.count, crc32c(ow.bytes)))
            sections.append((.idIndex, .none, idIndexOffset, index.bytes.count, crc32c(index.bytes)))
            sections.append((.idBlocks, idCodecChosen, idBlocksOffset, data.count, crc32c(data)))
            end = idBlocksOffset + data.count
        }

        if partitioned {
            var offsets = ByteWriter(), rowNumbers = ByteWriter(), positions = ByteWriter()
            for start in partitionStarts { offsets.u32(UInt32(start)) }
            var inverse = [Int](repeating: 0, count: n)
            for (position, local) in order.enumerated() { rowNumbers.u32(UInt32(local)); inverse[local] = position }
            for position in inverse { positions.u32(UInt32(position)) }
            for (kind, at, w) in [(SectionKind.partitionOffsets, partitionOffsetsOffset, offsets),
                                  (.rowNumbers, rowNumbersOffset, rowNumbers), (.positions, positionsOffset, positions)] {
                try out.write(w.bytes, at: at)
                sections.append((kind, .none, at, w.bytes.count, crc32c(w.bytes)))
            }
        }

        // Header last: it records every section's place and checksum, in file order.
        sections.sort { $0.2 < $1.2 }
        var h = ByteWriter()
        h.raw(Format.shardMagic)
        h.u32(Format.version)
        h.u32(UInt32(headerSize))
        h.u64(UInt64(n))
        h.u64(UInt64(rows.lowerBound))
        h.u32(UInt32(d))
        h.u32(UInt32(model.bits))
        h.u32(UInt32(rowsPerBlock))
        h.u32(vectorType.rawValue)
        h.u32(UInt32(sections.count))
        h.u32(0)
        h.u64(UInt64(end))
        for (kind, codec, off, len, crc) in sections {
            h.u32(kind.rawValue); h.u32(codec.rawValue); h.u64(UInt64(off)); h.u64(UInt64(len)); h.u32(crc); h.u32(0)
        }
        let headerCRC = crc32c(h.bytes)
        h.u32(headerCRC)
        h.pad(to: Format.sectionAlignment)
        precondition(h.bytes.count == headerSize)
        try out.write(h.bytes, at: 0)
        try out.syncAndClose()
        return ShardRecord(fileName: fileName, firstRow: UInt64(rows.lowerBound), rows: UInt64(n),
                           fileSize: UInt64(end), headerCRC: headerCRC)
    }
}

extension ShardWriter {
    /// Normalises and encodes positions `range` (unit vectors into `unit` from index 0,
    /// norms and codes at their positions) on `threads` threads. Throws the error of the
    /// first bad row in position order.
    func encodeGroup(source: any VectorSource, rows: Range<Int>, order: [Int], range: Range<Int>,
                     unit: inout [Float], norms: inout [Float], codes: inout [UInt64]) throws(HashIdxError) {
        let d = model.dimension, words = model.words
        let chunk = 256
        let chunks = (range.count + chunk - 1) / chunk
        let workers = max(1, min(threads, chunks))
        let firstError = Locked<(Int, HashIdxError)?>(nil)
        unit.withUnsafeMutableBufferPointer { u in
            norms.withUnsafeMutableBufferPointer { nb in
                codes.withUnsafeMutableBufferPointer { cb in
                    let up = SharedMutablePointer(u.baseAddress!), np = SharedMutablePointer(nb.baseAddress!)
                    let cp = SharedMutablePointer(cb.baseAddress!)
                    DispatchQueue.concurrentPerform(iterations: workers) { worker in
                        var ch = worker
                        while ch < chunks {
                            let lo = range.lowerBound + ch * chunk, hi = min(range.upperBound, lo + chunk)
                            for position in lo..<hi {
                                let row = rows.lowerBound + order[position]
                                let buffer = UnsafeMutableBufferPointer(start: up.base + (position - range.lowerBound) * d, count: d)
                                source.copyRow(row, into: buffer)
                                do throws(HashIdxError) {
                                    np.base[position] = try Vectors.normalize(buffer, source: source.name, row: row)
                                } catch {
                                    firstError.withLock { if $0 == nil || $0!.0 > position { $0 = (position, error) } }
                                    return
                                }
                                model.encode(UnsafeBufferPointer(buffer),
                                             into: UnsafeMutableBufferPointer(start: cp.base + position * words, count: words))
                            }
                            ch += workers
                        }
                    }
                }
            }
        }
        if let (_, e) = firstError.withLock({ $0 }) { throw e }
    }
}

/// `v` rounded up to the section alignment.
func align(_ v: Int) -> Int {
    (v + Format.sectionAlignment - 1) / Format.sectionAlignment * Format.sectionAlignment
}

extension LZ4 {
    /// `source` LZ4-encoded even when that does not make it smaller.
    static func compressAlways(_ source: [UInt8]) -> [UInt8] {
        source.withUnsafeBytes { src -> [UInt8] in
            let bound = Int(LZ4_compressBound(Int32(src.count)))
            var out = [UInt8](repeating: 0, count: max(bound, 1))
            let written = out.withUnsafeMutableBytes { dst in
                LZ4_compress_default(src.baseAddress?.assumingMemoryBound(to: CChar.self),
                                     dst.baseAddress!.assumingMemoryBound(to: CChar.self),
                                     Int32(src.count), Int32(bound))
            }
            out.removeLast(out.count - Int(written))
            return out
        }
    }
}

import CHashIdxKernels
import CLZ4
import Dispatch
