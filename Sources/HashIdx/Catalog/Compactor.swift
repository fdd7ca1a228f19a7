/// Rewrites shards of a generation into a new one: the live items of the chosen shards
/// (read back through ``LiveRows``, their stored vectors at their original lengths) become
/// full shards in partition order, hashed with the index's model — or, when retraining, a
/// whole new generation trained on them (``IndexBuilder/writeGeneration``).
struct Compactor {
    /// The generation compacted.
    let base: Index
    /// Writes the new shards.
    let committer: Committer

    /// Writes `generation` with the shards `rewrite` of the base rewritten (with `retrain`,
    /// every shard, retrained with `options`): the manifest to commit. With `centroids`
    /// (partitions fitted again by ``PartitionMaintainer``; `rewrite` must then be every
    /// shard), rows go to the new partitions and the manifest's training reference (trained
    /// rows and fit) becomes the rewritten rows'.
    func write(rewrite: [Int], retrain: Bool, centroids: Centroids? = nil, options: BuildOptions, generation: UInt64,
               written: inout [String], progress: @escaping @Sendable (WorkProgress) -> Void) throws(HashIdxError) -> Manifest {
        let manifest = base.manifest
        // An index whose ids are row numbers gets string ids once rows are dropped.
        let stringIDs = manifest.hasStringIDs || manifest.shards.contains { $0.deleted > 0 }
        if retrain {
            guard manifest.model.scheme != .supervised, options.training.supervision == nil else {
                throw .invalidArgument(name: "retrain", reason: "the hash function was trained from labels or pairs, which the index does not keep, and retraining would drop them; rebuild with `hashidx build --labels/--pairs`, or compact without retraining")
            }
            let total = rewrite.reduce(0) { $0 + Int(manifest.shards[$1].rows - manifest.shards[$1].deleted) }
            let (source, ids, attributes) = try liveItems(of: rewrite, stringIDs: stringIDs) {
                progress(WorkProgress(phase: .reading, done: $0, total: total))
            }
            guard source.count > 0 else {
                throw .invalidArgument(name: "retrain", reason: "the index holds no items to train on")
            }
            return try IndexBuilder.writeGeneration(source: source, ids: ids, attributes: attributes,
                                                    directory: committer.directory, generation: generation,
                                                    options: options, written: &written, progress: progress)
        }
        var next = manifest
        next.formatVersion = Format.version
        next.hasStringIDs = stringIDs
        if let centroids {
            precondition(rewrite == Array(manifest.shards.indices), "new partitions need every shard rewritten")
            next.centroids = centroids
            next.partitionTarget = 0   // (a rebalancing under way is done)
        }
        let rewriting = Set(rewrite)
        next.shards = manifest.shards.indices.filter { !rewriting.contains($0) }.map { manifest.shards[$0] }
        var rowsSoFar: UInt64 = 0
        for i in next.shards.indices { next.shards[i].firstRow = rowsSoFar; rowsSoFar += next.shards[i].rows }
        next.rows = rowsSoFar
        let total = rewrite.reduce(0) { $0 + Int(manifest.shards[$1].rows - manifest.shards[$1].deleted) }
        var encoded = 0
        // Live rows of the rewritten shards, a shard's worth at a time.
        var shardNumber = 0
        var pending: [Int] = []
        // Rows written into each partition (the new centroids' when refitting), for the
        // lists' balance at the fit.
        var lists = [Int](repeating: 0, count: next.centroids?.count ?? 0)
        var pendingRows = 0
        func flush() throws(HashIdxError) {
            guard pendingRows > 0 else { return }
            let before = encoded
            let (source, ids, attributes) = try liveItems(of: pending, stringIDs: stringIDs) {
                progress(WorkProgress(phase: .reading, done: before + $0, total: total))
            }
            var records = try committer.writeShards(source, ids: ids, attributes: attributes, manifest: next, generation: generation,
                                                    firstShardNumber: shardNumber, shardRows: options.shardSize,
                                                    written: &written, countingLists: &lists) { done in
                progress(WorkProgress(phase: .encoding, done: before + done, total: total))
            }
            encoded += source.count
            // Rows added since training: the inputs' counts, scaled by the rows kept.
            var added = 0.0, addedFit = 0.0
            for i in pending {
                let s = manifest.shards[i]
                let kept = Double(s.addedRows) * Double(s.rows - s.deleted) / Double(s.rows)
                added += kept
                addedFit += kept * Double(s.addedFit)
            }
            for i in records.indices where source.count > 0 {
                records[i].addedRows = min(records[i].rows, UInt64((added * Double(records[i].rows) / Double(source.count)).rounded()))
                records[i].addedFit = added > 0 ? Float(addedFit / added) : 0
            }
            shardNumber += records.count
            next.shards += records
            next.rows += UInt64(source.count)
            pending = []; pendingRows = 0
        }
        for i in rewrite {
            let live = Int(manifest.shards[i].rows - manifest.shards[i].deleted)
            if pendingRows + live > options.shardSize { try flush() }
            pending.append(i)
            pendingRows += live
        }
        try flush()
        if centroids != nil {   // every row now sits in partitions fitted to it
            for i in next.shards.indices { next.shards[i].addedRows = 0; next.shards[i].addedFit = 0 }
            next.trainedRows = next.rows
            let rows = next.shards.reduce(0.0) { $0 + Double($1.rows) }
            next.trainingFit = rows > 0 ? Float(next.shards.reduce(0.0) { $0 + Double($1.fit) * Double($1.rows) } / rows) : 0
            next.listBalance = Partitioning.balance(lists)   // (every shard was rewritten)
        }
        return next
    }

    /// The live items of the shards `indices` of the base, in row order: their stored vectors
    /// at their original lengths, their ids (`nil` when not `stringIDs`) and their attributes.
    /// `progress` hears the items read so far (from any thread).
    private func liveItems(of indices: [Int], stringIDs: Bool,
                           progress: @escaping @Sendable (Int) -> Void) throws(HashIdxError) -> (InMemoryVectors, [String]?, AttributeTable) {
        let live = LiveRows(base, shards: indices)
        let d = base.dimension, n = live.count
        var values = [Float](repeating: 0, count: n * d)
        var ids = [String](repeating: "", count: stringIDs ? n : 0)
        var rows = [Attributes](repeating: [:], count: n)
        try values.withUnsafeMutableBufferPointer { (vb) throws(HashIdxError) in
            try ids.withUnsafeMutableBufferPointer { (ib) throws(HashIdxError) in
                try rows.withUnsafeMutableBufferPointer { (ab) throws(HashIdxError) in
                    let vp = SharedMutablePointer(vb.baseAddress!), ap = SharedMutablePointer(ab.baseAddress!)
                    let ip = stringIDs ? SharedMutablePointer(ib.baseAddress!) : nil
                    try live.forEach(threads: committer.threads ?? System.processorCount, progress: progress) { (slot, item, reader) throws(HashIdxError) in
                        let out = vp.base + slot * d
                        try reader.unitVector(of: item, into: out)
                        let norm = reader.norm(of: item)
                        for j in 0..<d { out[j] *= norm }
                        ap.base[slot] = reader.attributes(of: item)
                        if let ip { ip.base[slot] = try reader.id(of: item) }
                    }
                }
            }
        }
        var attributes = AttributeTable()
        for (i, row) in rows.enumerated() {
            try attributes.append(row, line: i + 1, source: "live rows of \(base.path)")
        }
        return (try InMemoryVectors(values: values, dimension: d, name: "live rows"), stringIDs ? ids : nil,
                attributes.conformed(to: base.attributeSchema))
    }
}
