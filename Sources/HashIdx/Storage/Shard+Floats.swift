import CHashIdxKernels

extension Shard {
    /// Writes the stored unit vector at `position` to `out` as ``dimension`` floats
    /// (float16 storage converted), reading its block through `cursor` (each block is
    /// decoded once while the cursor holds it).
    func unitVector(at position: Int, into out: UnsafeMutablePointer<Float>, cursor: inout BlockCursor) throws(HashIdxError) {
        let v = try vector(at: position, cursor: &cursor)
        switch vectorType {
        case .float32:
            for j in 0..<dimension {
                out[j] = Float(bitPattern: UInt32(littleEndian: v.loadUnaligned(fromByteOffset: 4 * j, as: UInt32.self)))
            }
        case .float16:
            hidx_half_to_float(v.assumingMemoryBound(to: UInt16.self), out, dimension)
        }
    }

    /// The partition holding `position` (`nil` when the index has no partitions): a binary
    /// search of the partition offsets.
    func partition(ofPosition position: Int) -> Int? {
        guard let offsets = partitionOffsets else { return nil }
        var lo = 0, hi = offsets.count - 2
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if offsets[mid] <= position { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }
}
