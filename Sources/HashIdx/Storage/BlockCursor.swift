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

/// One reader's view of the last block it decoded, so that reading several positions of the
/// same block (a re-rank goes through candidates in position order) decodes it once. A value
/// kept on the reading thread's stack; what a read returns stays valid until the next read
/// through the same cursor (or another use of its buffer).
struct BlockCursor {
    /// Where LZ4 blocks are decoded.
    let buffer: BlockBuffer
    private var shard: ObjectIdentifier?
    private var holdsIDs = false
    private var block = -1
    private(set) var bytes = UnsafeRawBufferPointer(start: nil, count: 0)

    /// A cursor decoding into `buffer` (a fresh one by default), holding no block yet.
    init(buffer: BlockBuffer = BlockBuffer()) {
        self.buffer = buffer
    }

    /// Whether the cursor holds block `block` of `shard`'s vector (`ids == false`) or id blocks.
    @inline(__always)
    func holds(_ shard: Shard, block: Int, ids: Bool) -> Bool {
        self.block == block && holdsIDs == ids && self.shard == ObjectIdentifier(shard)
    }

    /// Records that `bytes` are block `block` of `shard`.
    mutating func hold(_ bytes: UnsafeRawBufferPointer, of shard: Shard, block: Int, ids: Bool) {
        self.shard = ObjectIdentifier(shard)
        self.block = block
        holdsIDs = ids
        self.bytes = bytes
    }
}
