/// How the shard writer picks a block section's codec.
public enum CodecChoice: String, Sendable, CaseIterable {
    /// LZ4 where it saves at least 10 % of the section's bytes (measured on the section's
    /// first 16 blocks for vectors, on all blocks for ids), otherwise stored as is.
    case auto
    /// Always LZ4 (blocks that LZ4 would grow are still stored LZ4-encoded).
    case lz4
    /// Never compressed.
    case none
}
