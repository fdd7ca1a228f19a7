import CHashIdxKernels
import Dispatch
import Synchronization

/// The items a clustering groups, read out of one generation of an index: every live item
/// (with a filter, every live item that satisfies it), in row order, with its unit vector,
/// id and partition.
///
/// Shards are read a block of positions at a time on several threads, each with its own
/// cursor, so that each vector and id block is decoded once.
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
    static func read(_ index: Index, filter: Filter?, threads: Int) throws(HashIdxError) -> ClusterInput {
        let searcher = index.searcher
        let shards = searcher.shards
        let compiled = try filter.map { (f) throws(HashIdxError) in
            try CompiledFilter(f, schema: searcher.attributeSchema, shards: shards)
        }
        // The kept positions of each shard, numbered in row order: slot[position], −1 if not kept.
        var slots: [[Int]] = []
        var total = 0
        for (s, shard) in shards.enumerated() {
            let n = shard.rows
            var keep: [UInt64]?
            if let compiled, n > 0 {
                let words = (n + 63) / 64
                var bits = [UInt64](repeating: 0, count: words)
                var scratch = [UInt64](repeating: 0, count: words * (compiled.depth + 2))
                bits.withUnsafeMutableBufferPointer { b in
                    scratch.withUnsafeMutableBufferPointer { sc in
                        compiled.evaluate(shard: s, range: 0..<n, into: b.baseAddress!, scratch: sc.baseAddress!)
                    }
                }
                keep = bits
            }
            var slot = [Int](repeating: -1, count: n)
            for r in 0..<n {
                let p = shard.position(ofRow: r)
                if shard.isDeleted(position: p) { continue }
                if let keep, keep[p >> 6] & (1 << UInt64(p & 63)) == 0 { continue }
                slot[p] = total
                total += 1
            }
            slots.append(slot)
        }

        let d = index.dimension
        let partitioned = index.partitionCount > 0
        guard total > 0 else { return ClusterInput(dimension: d, unit: [], rows: [], ids: [], partitions: partitioned ? [] : nil) }
        var unit = [Float](repeating: 0, count: total * d)
        var rows = [Int](repeating: 0, count: total)
        var ids = [String](repeating: "", count: total)
        var partitions = [Int32](repeating: 0, count: partitioned ? total : 0)
        // One task per block of positions: the vector and id blocks are decoded once each.
        var tasks: [(shard: Int, range: Range<Int>)] = []
        for (s, shard) in shards.enumerated() {
            var lo = 0
            while lo < shard.rows {
                let hi = min(shard.rows, lo + shard.rowsPerBlock)
                tasks.append((s, lo..<hi))
                lo = hi
            }
        }
        let stringIDs = index.hasStringIDs
        let firstError = FirstError()
        let next = Atomic<Int>(0)
        let workers = max(1, min(threads, tasks.count))
        let allTasks = tasks, allSlots = slots
        unit.withUnsafeMutableBufferPointer { ub in
            rows.withUnsafeMutableBufferPointer { rb in
                ids.withUnsafeMutableBufferPointer { ib in
                    partitions.withUnsafeMutableBufferPointer { pb in
                        let up = SharedMutablePointer(ub.baseAddress!), rp = SharedMutablePointer(rb.baseAddress!)
                        let ip = SharedMutablePointer(ib.baseAddress!)
                        let pp = partitioned ? SharedMutablePointer(pb.baseAddress!) : nil
                        DispatchQueue.concurrentPerform(iterations: workers) { _ in
                            var vectors = BlockCursor(), names = BlockCursor()
                            while true {
                                let t = next.add(1, ordering: .relaxed).oldValue
                                if t >= allTasks.count { break }
                                let (s, range) = allTasks[t]
                                let shard = shards[s], slot = allSlots[s]
                                var part = 0
                                if let offsets = shard.partitionOffsets {
                                    // The partition holding the first position (offsets ascend).
                                    var lo = 0, hi = offsets.count - 2
                                    while lo < hi {
                                        let mid = (lo + hi + 1) / 2
                                        if offsets[mid] <= range.lowerBound { lo = mid } else { hi = mid - 1 }
                                    }
                                    part = lo
                                }
                                do throws(HashIdxError) {
                                    for p in range where slot[p] >= 0 {
                                        let i = slot[p]
                                        let row = shard.firstRow + shard.rowNumber(atPosition: p)
                                        let out = up.base + i * d
                                        let v = try shard.vector(at: p, cursor: &vectors)
                                        switch shard.vectorType {
                                        case .float32:
                                            for j in 0..<d {
                                                out[j] = Float(bitPattern: UInt32(littleEndian: v.loadUnaligned(fromByteOffset: 4 * j, as: UInt32.self)))
                                            }
                                        case .float16:
                                            hidx_half_to_float(v.assumingMemoryBound(to: UInt16.self), out, d)
                                        }
                                        _ = try Vectors.normalize(UnsafeMutableBufferPointer(start: out, count: d), source: shard.path, row: row)
                                        rp.base[i] = row
                                        ip.base[i] = stringIDs ? try shard.id(at: p, cursor: &names) : String(row)
                                        if let pp, let offsets = shard.partitionOffsets {
                                            while p >= offsets[part + 1] { part += 1 }
                                            pp.base[i] = Int32(part)
                                        }
                                    }
                                } catch {
                                    firstError.record(error, at: t)
                                }
                            }
                            withExtendedLifetime(vectors.buffer) {}
                            withExtendedLifetime(names.buffer) {}
                        }
                    }
                }
            }
        }
        try firstError.throwIfAny()
        return ClusterInput(dimension: d, unit: unit, rows: rows, ids: ids, partitions: partitioned ? partitions : nil)
    }
}
