/// Builds one shard: lays its rows out by partition, encodes them with a ``RowEncoder`` and
/// streams them to a ``ShardWriter``.
struct ShardBuilder {
    let encoder: RowEncoder
    let rowsPerBlock: Int
    let vectorType: VectorType
    let vectorCodec: CodecChoice
    let idCodec: CodecChoice

    /// Rows encoded per parallel step (whole blocks).
    private var groupRows: Int { max(1, 16_384 / rowsPerBlock) * rowsPerBlock }

    /// Writes rows `rows` of `source` to the shard file `path` (named `fileName` in the
    /// manifest), with `ids` (one per row of the range; `nil` for row-number ids) and
    /// `attributes` (one row per row of the range; `nil` or no keys: no attribute section).
    /// `progress` is called with the number of the shard's rows written so far. The shard's
    /// first global row is `firstRow` (default: `rows.lowerBound`, as in a build).
    ///
    /// With `partitions` (the partition of each row of the range, `0..<partitionCount`), rows
    /// are laid out grouped by partition, in row order within a partition, and the shard gets
    /// the partition offsets and both row-number maps.
    func build(source: any VectorSource, rows: Range<Int>, ids: ArraySlice<String>?, attributes: AttributeTable? = nil,
               partitions: ArraySlice<Int>?,
               partitionCount: Int, path: String, fileName: String, firstRow: Int? = nil,
               progress: (Int) -> Void) throws(HashIdxError) -> ShardRecord {
        let n = rows.count
        // Position → shard-local row: grouped by partition (a stable counting sort).
        var order = Array(0..<n)
        var partitionStarts: [Int]? = nil
        if let partitions {
            var counts = [Int](repeating: 0, count: partitionCount + 1)
            for p in partitions { counts[p + 1] += 1 }
            for p in 0..<partitionCount { counts[p + 1] += counts[p] }
            partitionStarts = counts
            var next = counts
            for (local, p) in partitions.enumerated() { order[next[p]] = local; next[p] += 1 }
        }
        let layout = ShardWriter.Layout(rows: n, firstRow: firstRow ?? rows.lowerBound, dimension: encoder.model.dimension,
                                        bits: encoder.model.bits, rowsPerBlock: rowsPerBlock, vectorType: vectorType,
                                        hasIDs: ids != nil, partitionCount: partitions == nil ? nil : partitionCount,
                                        hasAttributes: !(attributes?.schema.isEmpty ?? true))
        let writer = try ShardWriter(path: path, fileName: fileName, layout: layout,
                                     vectorCodec: vectorCodec, idCodec: idCodec)
        let sourceRows = order.map { rows.lowerBound + $0 }
        var batch = RowEncoder.Batch()
        let d = layout.dimension, words = layout.words
        var lo = 0
        while lo < n {
            let hi = min(n, lo + groupRows)
            try encoder.encode(source, rows: sourceRows[lo..<hi], into: &batch)
            // Handed over a block at a time, so that progress moves with the blocks written.
            var at = 0
            while at < hi - lo {
                let count = min(rowsPerBlock, hi - lo - at)
                try batch.unit.withUnsafeBufferPointer { (u) throws(HashIdxError) in
                    try batch.norms.withUnsafeBufferPointer { (nb) throws(HashIdxError) in
                        try batch.codes.withUnsafeBufferPointer { (cb) throws(HashIdxError) in
                            try writer.append(unit: UnsafeBufferPointer(rebasing: u[(at * d)..<((at + count) * d)]),
                                              norms: UnsafeBufferPointer(rebasing: nb[at..<(at + count)]),
                                              codes: UnsafeBufferPointer(rebasing: cb[(at * words)..<((at + count) * words)]),
                                              count: count)
                        }
                    }
                }
                at += count
                progress(lo + at)
            }
            lo = hi
        }
        let positionIDs = ids.map { list in order.map { list[list.startIndex + $0] } }
        // `attributes` covers the shard's rows (`rows.count` of them), in row order.
        return try writer.finish(ids: positionIDs, partitionStarts: partitionStarts,
                                 rowNumbers: partitions == nil ? nil : order,
                                 attributes: attributes.map { $0.gathering(order) })
    }
}
