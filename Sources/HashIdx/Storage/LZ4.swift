import CLZ4

/// LZ4 block compression (liblz4), used per block of a shard section.
enum LZ4 {
    /// `source` compressed, or `nil` when compression would not make it smaller.
    static func compress(_ source: UnsafeRawBufferPointer) -> [UInt8]? {
        guard source.count > 0, source.count <= Int(LZ4_MAX_INPUT_SIZE) else { return nil }
        let bound = Int(LZ4_compressBound(Int32(source.count)))
        var out = [UInt8](repeating: 0, count: bound)
        let written = out.withUnsafeMutableBytes { dst in
            LZ4_compress_default(
                source.baseAddress!.assumingMemoryBound(to: CChar.self),
                dst.baseAddress!.assumingMemoryBound(to: CChar.self),
                Int32(source.count), Int32(bound))
        }
        guard written > 0, Int(written) < source.count else { return nil }
        out.removeLast(bound - Int(written))
        return out
    }

    /// Decompresses `source` into `destination`, which must be exactly the original size.
    /// Returns `false` for malformed input or a size mismatch; never reads or writes out
    /// of bounds (`LZ4_decompress_safe`).
    static func decompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Bool {
        guard source.count > 0, source.count <= Int(Int32.max), destination.count <= Int(Int32.max) else {
            return destination.count == 0 && source.count == 0
        }
        let n = LZ4_decompress_safe(
            source.baseAddress!.assumingMemoryBound(to: CChar.self),
            destination.baseAddress?.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(destination.count))
        return Int(n) == destination.count
    }

    /// `source` LZ4-encoded even when that does not make it smaller (the `lz4` codec
    /// stores every block encoded).
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

    /// `source` as stored by `codec`: itself, or one LZ4 block (even when not smaller).
    static func encode(_ source: [UInt8], codec: SectionCodec) -> [UInt8] {
        switch codec {
        case .none: return source
        case .lz4: return source.withUnsafeBytes { compress($0) } ?? compressAlways(source)
        }
    }
}
