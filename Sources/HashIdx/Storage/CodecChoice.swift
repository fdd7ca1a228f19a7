/// How the shard writer picks a block section's codec.
///
/// A query pays for a codec where it decodes: every re-ranked candidate reads one vector,
/// and an LZ4 vector block must be decoded whole (`rowsPerBlock` vectors) to read it, while
/// ids are decoded only for the `k` results. So `auto` weighs bytes saved against that.
public enum CodecChoice: String, Sendable, CaseIterable {
    /// Vectors: stored as they are when a block holds several rows (decoding a block for each
    /// candidate would cost a query far more than the disk bytes saved; embedding floats
    /// barely compress anyway); with one row per block, LZ4 where it saves at least 10 % on
    /// the first 16 blocks. Ids: LZ4 where it saves at least 10 % of the section.
    case auto
    /// Always LZ4 (blocks that LZ4 would grow are still stored LZ4-encoded): the smallest
    /// files, and for vectors the slowest queries (a whole block is decoded per candidate).
    case lz4
    /// Never compressed.
    case none
}
