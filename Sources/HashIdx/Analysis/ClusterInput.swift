/// The items a clustering groups, read out of one generation of an index: every live item
/// (with a filter, every live item that satisfies it), in row order, with its unit vector,
/// id and partition.
///
/// Read through ``LiveRows``, the walk compaction uses too.
struct ClusterInput {
    /// Floats per vector.
    let dimension: Int
    /// The items' stored vectors, normalised again (float16 storage rounds), row-major.
    var unit: [Float]
    /// Each item's global row, ascending.
    var rows: [Int]
    /// Each item's id.
    var ids: [String]
    /// Each item's partition (`nil` when the index has no partitions).
    var partitions: [Int32]?

    /// Items read.
    var count: Int { rows.count }

    /// The live items of `index` that satisfy `filter` (all live items without one), read on
    /// `threads` threads.
    ///
    /// - Throws: ``HashIdxError/invalidFilter(expression:offset:reason:)`` for a filter that
    ///   does not fit the index's attributes; ``HashIdxError/corruptIndex(path:reason:)`` for
    ///   a block whose checksum fails.
    static func read(_ index: Index, filter: Filter?, threads: Int,
                     progress: (@Sendable (Int) -> Void)? = nil) throws(HashIdxError) -> ClusterInput {
        let compiled = try filter.map { (f) throws(HashIdxError) in
            try CompiledFilter(f, schema: index.attributeSchema, shards: index.shards)
        }
        let live = LiveRows(index, keeping: compiled)
        let d = index.dimension, total = live.count
        let partitioned = index.partitionCount > 0
        guard total > 0 else { return ClusterInput(dimension: d, unit: [], rows: [], ids: [], partitions: partitioned ? [] : nil) }
        var unit = [Float](repeating: 0, count: total * d)
        var rows = [Int](repeating: 0, count: total)
        var ids = [String](repeating: "", count: total)
        var partitions = [Int32](repeating: 0, count: partitioned ? total : 0)
        try unit.withUnsafeMutableBufferPointer { (ub) throws(HashIdxError) in
            try rows.withUnsafeMutableBufferPointer { (rb) throws(HashIdxError) in
                try ids.withUnsafeMutableBufferPointer { (ib) throws(HashIdxError) in
                    try partitions.withUnsafeMutableBufferPointer { (pb) throws(HashIdxError) in
                        let up = SharedMutablePointer(ub.baseAddress!), rp = SharedMutablePointer(rb.baseAddress!)
                        let ip = SharedMutablePointer(ib.baseAddress!)
                        let pp = partitioned ? SharedMutablePointer(pb.baseAddress!) : nil
                        try live.forEach(threads: threads, progress: progress) { (i, item, reader) throws(HashIdxError) in
                            let out = up.base + i * d
                            try reader.unitVector(of: item, into: out)
                            _ = try Vectors.normalize(UnsafeMutableBufferPointer(start: out, count: d), source: item.shard.path, row: item.row)
                            rp.base[i] = item.row
                            ip.base[i] = try reader.id(of: item)
                            if let pp, let part = item.partition { pp.base[i] = Int32(part) }
                        }
                    }
                }
            }
        }
        return ClusterInput(dimension: d, unit: unit, rows: rows, ids: ids, partitions: partitioned ? partitions : nil)
    }
}
