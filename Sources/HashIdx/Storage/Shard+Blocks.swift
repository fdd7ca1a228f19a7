import CHashIdxKernels

extension Shard {
    /// Block `block` of the vector (`ids == false`) or id section, checked and decoded.
    /// `scratch` receives decompressed bytes; the returned buffer points into the mapping
    /// (uncompressed blocks) or into `scratch`. Each block's checksum is checked on its first
    /// read (one bit per block records that, shared by all threads).
    func block(_ block: Int, ids: Bool, scratch: BlockBuffer) throws(HashIdxError) -> UnsafeRawBufferPointer {
        let index = ids ? idIndex! : vectorIndex
        let data = ids ? idData! : vectorData
        let codec = ids ? idCodec! : vectorCodec
        let entry = BlockEntry.decode(index, block)
        let off = Int(entry.offset)
        let bytes = UnsafeRawBufferPointer(rebasing: data[off..<(off + Int(entry.stored))])
        let bit = (ids ? blockCount : 0) + block
        let word = verified + bit / 64
        let mask: UInt64 = 1 << UInt64(bit % 64)
        if hidx_atomic_load_u64(word) & mask == 0 {
            guard checksum(of: bytes, matches: entry.crc) else {
                throw .corruptIndex(path: path, reason: "\(ids ? "id" : "vector") block \(block) checksum mismatch")
            }
            hidx_atomic_or_u64(word, mask)
        }
        switch codec {
        case .none:
            return bytes
        case .lz4:
            let destination = scratch.reserve(Int(entry.raw))
            guard LZ4.decompress(bytes, into: destination) else {
                throw .corruptIndex(path: path, reason: "\(ids ? "id" : "vector") block \(block) does not decompress")
            }
            return UnsafeRawBufferPointer(destination)
        }
    }

    /// The block holding `position` in the vector or id section, through `cursor`.
    @inline(__always)
    func cachedBlock(holding position: Int, ids: Bool, cursor: inout BlockCursor) throws(HashIdxError) -> UnsafeRawBufferPointer {
        let b = position / rowsPerBlock
        if !cursor.holds(self, block: b, ids: ids) {
            cursor.hold(try block(b, ids: ids, scratch: cursor.buffer), of: self, block: b, ids: ids)
        }
        return cursor.bytes
    }

    /// The stored unit vector at `position`: ``dimension`` elements of ``vectorType``, valid
    /// until the next read through `cursor`.
    @inline(__always)
    func vector(at position: Int, cursor: inout BlockCursor) throws(HashIdxError) -> UnsafeRawPointer {
        let block = try cachedBlock(holding: position, ids: false, cursor: &cursor)
        return block.baseAddress! + (position % rowsPerBlock) * vectorBytes
    }

    /// The stored unit vector at `position`, as floats.
    func unitVector(at position: Int) throws(HashIdxError) -> [Float] {
        var cursor = BlockCursor()
        var out = [Float](repeating: 0, count: dimension)
        try out.withUnsafeMutableBufferPointer { (o) throws(HashIdxError) in
            try unitVector(at: position, into: o.baseAddress!, cursor: &cursor)
        }
        withExtendedLifetime(cursor.buffer) {}
        return out
    }

    /// Bytes of the vector blocks as stored.
    var storedVectorBytes: Int { vectorData.count }

    /// Bytes of the id blocks as stored and once decoded (`nil` when ids are row numbers).
    var idBytes: (stored: Int, raw: Int)? {
        guard let idIndex, let idData else { return nil }
        var raw = 0
        for b in 0..<blockCount { raw += Int(BlockEntry.decode(idIndex, b).raw) }
        return (idData.count, raw)
    }

    /// Checks every block's checksum and that it decodes (for `hashidx info --verify`).
    func verifyAll() throws(HashIdxError) {
        let scratch = BlockBuffer()
        guard checksum(of: vectorData, matches: vectorDataCRC) else { throw .corruptIndex(path: path, reason: "vector section checksum mismatch") }
        for b in 0..<blockCount { _ = try block(b, ids: false, scratch: scratch) }
        if let idData {
            guard checksum(of: idData, matches: idDataCRC) else { throw .corruptIndex(path: path, reason: "id section checksum mismatch") }
            var cursor = BlockCursor()
            for p in 0..<rows { _ = try id(at: p, cursor: &cursor) }
        }
    }
}
