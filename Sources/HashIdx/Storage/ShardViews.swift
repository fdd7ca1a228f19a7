/// Typed views of a shard's bytes for the layers above storage: thin values over the memory
/// map (no copy, no allocation), whose addresses stay private. Only the door to the C
/// kernels (`Search/Kernels.swift`) opens them, through their `withUnsafeStored…` methods;
/// `ArchitectureTests` checks that no other file outside `Storage/` does.

/// A shard's codes, in place in the memory map: `count` codes of `words` little-endian
/// words, position `p`'s code first at word `p × words`, 64-byte aligned.
struct ShardCodes {
    /// Words per code.
    let words: Int
    /// Codes (the shard's positions).
    let count: Int
    private let base: UnsafePointer<UInt64>

    init(base: UnsafePointer<UInt64>, words: Int, count: Int) {
        self.base = base
        self.words = words
        self.count = count
    }

    /// Word `w` of the code at `position`.
    @inline(__always)
    func word(_ w: Int, of position: Int) -> UInt64 { base[position * words + w] }

    /// Copies the code at `position` (``words`` words) to `out`.
    @inline(__always)
    func copy(_ position: Int, into out: UnsafeMutablePointer<UInt64>) {
        let from = base + position * words
        for w in 0..<words { out[w] = from[w] }   // (a few words: no call to memmove)
    }

    /// Copies the codes at `positions` to `out`, back to back.
    @inline(__always)
    func copy(_ positions: Range<Int>, into out: UnsafeMutablePointer<UInt64>) {
        out.update(from: base + positions.lowerBound * words, count: positions.count * words)
    }

    /// The code at `position`, as an array (for tools and tests, not hot loops).
    func code(at position: Int) -> [UInt64] { (0..<words).map { word($0, of: position) } }

    /// Calls `body` with the address of the first code (the kernels' `codes` argument).
    @inline(__always)
    func withUnsafeStoredWords<R>(_ body: (UnsafePointer<UInt64>) -> R) -> R { body(base) }
}

/// One stored unit vector: ``dimension`` elements of ``type``, in the memory map (an
/// uncompressed block) or in the buffer of the cursor that read it, valid until that
/// cursor's next read.
struct StoredVector {
    /// How its elements are stored.
    let type: VectorType
    /// Elements.
    let dimension: Int
    private let start: UnsafeRawPointer

    init(_ start: UnsafeRawPointer, type: VectorType, dimension: Int) {
        self.start = start
        self.type = type
        self.dimension = dimension
    }

    /// Calls `body` with the address of the first element (a kernel's vector argument).
    @inline(__always)
    func withUnsafeStoredBytes<R>(_ body: (UnsafeRawPointer) -> R) -> R { body(start) }
}

extension Shard {
    /// The stored unit vector at `position`, read through `cursor` (each block decoded once
    /// while the cursor holds it).
    @inline(__always)
    func storedVector(at position: Int, cursor: inout BlockCursor) throws(HashIdxError) -> StoredVector {
        StoredVector(try vector(at: position, cursor: &cursor), type: vectorType, dimension: dimension)
    }

    /// Clears in `bits` (bit `i` is position `range.lowerBound + i`) the bits of the deleted
    /// positions of `range`: what is left is live.
    @inline(__always)
    func removeDeleted(from bits: UnsafeMutablePointer<UInt64>, range: Range<Int>) {
        deletions?.removeDeleted(from: bits, range: range)
    }
}
