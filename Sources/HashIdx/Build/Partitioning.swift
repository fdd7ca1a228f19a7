/// The partitions of an index being built: centroids trained on a sample, then the partition
/// of every input row.
enum Partitioning {
    /// Seed salt of the partition sample, so that it differs from the training sample.
    static let seedSalt: UInt64 = 0x7061_7274_6974_696F

    /// k-means trains on at most this many sampled rows per partition. Measured on
    /// Fashion-MNIST (490 partitions, 2,000 queries, recall@10 at probes 8 / 16, C 100):
    /// all 60,000 rows 0.9432 / 0.9484 in a 13.0 s build, 64 per partition (31,360 rows)
    /// 0.9418 / 0.9487 in 10.3 s, 32 per partition 0.9399 / 0.9475 in 7.3 s.
    static let maximumRowsPerPartition = 64
    /// k-means trains on at least this many sampled rows per partition (where the input has
    /// them), however small the training sample: more partitions than the sample has rows
    /// for get centroids fitted to a handful of rows each.
    static let minimumRowsPerPartition = 32
    /// The k-means sample's bytes stay under this (1 GiB: 2.8 million rows of 96-d), whatever
    /// the partition count asks.
    static let maximumSampleBytes = 1 << 30

    /// The rows k-means trains on for `count` partitions of `rows` rows of dimension `d`: the
    /// training sample (`sampleSize`), at most ``maximumRowsPerPartition`` and at least
    /// ``minimumRowsPerPartition`` a partition, within ``maximumSampleBytes``; at least one a
    /// partition and at most the input.
    static func sampleSize(count: Int, rows: Int, dimension d: Int, sampleSize: Int) -> Int {
        let wanted = max(minimumRowsPerPartition * count, min(sampleSize, maximumRowsPerPartition * count))
        return min(rows, max(count, min(wanted, maximumSampleBytes / (4 * max(1, d)))))
    }

    /// Spherical k-means centroids for `count` partitions, trained on a sample of `source`
    /// (``sampleSize(count:rows:dimension:sampleSize:)`` rows) in
    /// ``BuildOptions/partitionIterations`` rounds.
    static func train(_ source: any VectorSource, count: Int, sampleSize: Int, seed: UInt64) throws(HashIdxError) -> Centroids {
        var rng = SplitMix64(seed: seed ^ seedSalt)
        let sampled = Self.sampleSize(count: count, rows: source.count, dimension: source.dimension, sampleSize: sampleSize)
        let rows = Trainer.sampleRows(count: source.count, sample: sampled, rng: &rng)
        let sample = try source.unitRows(rows)
        source.releaseResidentPages()
        return SphericalKMeans.train(sample, n: rows.count, d: source.dimension, k: count,
                                     iterations: BuildOptions.partitionIterations, rng: &rng)
    }

    /// The partition of every row of `source`. Throws the error of the first bad row (NaN,
    /// ∞, all zeros). Rows are read, normalised and scored a block at a time; the input's
    /// pages are given back every 64 blocks, so reading the whole input does not hold it all
    /// in memory.
    static func assign(_ source: any VectorSource, to centroids: Centroids) throws(HashIdxError) -> [Int] {
        try assignScoring(source, to: centroids).partitions
    }

    /// ``assign(_:to:)``, and each row's cosine to its centroid (the rows' fit, which
    /// `hashidx info`'s drift compares: see ``fit(_:)``).
    static func assignScoring(_ source: any VectorSource, to centroids: Centroids) throws(HashIdxError) -> (partitions: [Int], scores: [Float]) {
        let n = source.count, d = source.dimension
        var out = [Int](repeating: 0, count: n)
        var scores = [Float](repeating: 0, count: n)
        let block = SphericalKMeans.assignBlock
        var rows = [Float](repeating: 0, count: min(n, block) * d)
        var lo = 0, blocks = 0
        while lo < n {
            let count = min(block, n - lo)
            try rows.withUnsafeMutableBufferPointer { (b) throws(HashIdxError) in
                for j in 0..<count {
                    let row = UnsafeMutableBufferPointer(rebasing: b[(j * d)..<((j + 1) * d)])
                    source.copyRow(lo + j, into: row)
                    _ = try Vectors.normalize(row, source: source.name, row: lo + j)
                }
                out.withUnsafeMutableBufferPointer { o in
                    scores.withUnsafeMutableBufferPointer { sc in
                        SphericalKMeans.assign(b.baseAddress!, n: count, to: centroids, into: o.baseAddress! + lo,
                                               scores: sc.baseAddress! + lo)
                    }
                }
            }
            lo += count
            blocks += 1
            if blocks % 64 == 0 { source.releaseResidentPages() }
        }
        source.releaseResidentPages()
        return (out, scores)
    }

    /// The balance of lists holding `rows` rows each: P·Σnₚ²/N², the rows a query probing
    /// one list scans on average (queries distributed as the rows) over the mean list —
    /// 1 when every list is as long, up to P when one list holds every row; 0 for no rows.
    static func balance(_ rows: [Int]) -> Float {
        let n = rows.reduce(0, +)
        guard n > 0 else { return 0 }
        let squares = rows.reduce(0.0) { $0 + Double($1) * Double($1) }
        return Float(Double(rows.count) * squares / (Double(n) * Double(n)))
    }

    /// The mean of `scores` (rows' cosines to their centroids), 0 for none.
    static func fit(_ scores: ArraySlice<Float>) -> Float {
        scores.isEmpty ? 0 : Float(scores.reduce(0.0) { $0 + Double($1) } / Double(scores.count))
    }
}
