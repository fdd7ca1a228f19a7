import Dispatch

/// The partitions of an index being built: centroids trained on a sample, then the partition
/// of every input row.
enum Partitioning {
    /// Seed salt of the partition sample, so that it differs from the training sample.
    static let seedSalt: UInt64 = 0x7061_7274_6974_696F

    /// Spherical k-means centroids for `count` partitions, trained on a sample of `source`
    /// (`sampleSize` rows, at least one per partition) in ``BuildOptions/partitionIterations``
    /// rounds on `threads` threads.
    static func train(_ source: any VectorSource, count: Int, sampleSize: Int, seed: UInt64,
                      threads: Int) throws(HashIdxError) -> Centroids {
        var rng = SplitMix64(seed: seed ^ seedSalt)
        let rows = Trainer.sampleRows(count: source.count, sample: min(source.count, max(sampleSize, count)), rng: &rng)
        let sample = try source.unitRows(rows)
        source.releaseResidentPages()
        return SphericalKMeans.train(sample, n: rows.count, d: source.dimension, k: count,
                                     iterations: BuildOptions.partitionIterations, threads: threads, rng: &rng)
    }

    /// The partition of every row of `source`, on `threads` threads. Throws the error of the
    /// first bad row (NaN, ∞, all zeros).
    static func assign(_ source: any VectorSource, to scorer: CentroidScorer, threads: Int) throws(HashIdxError) -> [Int] {
        let n = source.count, d = source.dimension
        var out = [Int](repeating: 0, count: n)
        let chunk = 4096
        // Rows are read in passes of 64 chunks; the input's pages are given back after each
        // pass, so reading the whole input does not hold it all in memory.
        let passRows = 64 * chunk
        let firstError = FirstError()
        var passStart = 0
        while passStart < n {
            let first = passStart, passEnd = min(n, passStart + passRows)
            let chunks = (passEnd - first + chunk - 1) / chunk
            let workers = max(1, min(threads, chunks))
            out.withUnsafeMutableBufferPointer { o in
                let op = SharedMutablePointer(o.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    // Rows go to the centroids in batches (the centroids are read once per batch).
                    let batch = CentroidScorer.batch
                    var rows = [Float](repeating: 0, count: batch * d)
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scorer.scratchSize(rows: batch))
                    defer { scratch.deallocate() }
                    var ch = worker
                    outer: while ch < chunks {
                        let lo = first + ch * chunk, hi = min(passEnd, lo + chunk)
                        var r = lo
                        while r < hi {
                            let n = min(batch, hi - r)
                            do throws(HashIdxError) {
                                try rows.withUnsafeMutableBufferPointer { (b) throws(HashIdxError) in
                                    for j in 0..<n {
                                        let row = UnsafeMutableBufferPointer(rebasing: b[(j * d)..<((j + 1) * d)])
                                        source.copyRow(r + j, into: row)
                                        _ = try Vectors.normalize(row, source: source.name, row: r + j)
                                    }
                                    scorer.nearest(UnsafePointer(b.baseAddress!), rows: n, into: op.base + r, scratch: scratch)
                                }
                            } catch {
                                firstError.record(error, at: r)
                                break outer
                            }
                            r += n
                        }
                        ch += workers
                    }
                }
            }
            try firstError.throwIfAny()
            source.releaseResidentPages()
            passStart = passEnd
        }
        return out
    }
}
