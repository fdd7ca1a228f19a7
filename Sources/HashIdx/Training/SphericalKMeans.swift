/// Spherical k-means: the partitions (inverted lists) of an index, and the clusters of a
/// whole catalog (`Analysis/Clustering`). One implementation for both.
///
/// Rows and centroids are unit vectors; a row belongs to the centroid with the highest dot
/// product. The run assigns every row to its nearest centroid (the scores are one BLAS matrix
/// product per block of rows, ``assign(_:n:to:into:scores:)``), then repeats rounds of
/// *update* (each centroid becomes the normalised, optionally weighted, sum of its rows:
/// ``means(_:n:d:weights:assignment:k:threads:)``) and *assign*, until no row changes cluster
/// or the rounds run out, in which case a last update makes the centroids the means of the
/// last assignment.
///
/// A cluster left empty is refilled by one of two ``EmptyClusters`` policies: the rows that
/// fit their clusters worst (clustering), or a random row (partition training, whose
/// partitions only need to cover the data).
///
/// Every result is the same for the same input, start and generator state, whatever the
/// thread count: each centroid's sum is taken by one thread in row order, and every other
/// sum in a fixed order of fixed chunks (and, through BLAS, for a CPU family).
enum SphericalKMeans {
    /// What becomes of a cluster that no row chose (or whose rows cancel out).
    enum EmptyClusters {
        /// Before each update, it takes the row that fits its own cluster worst, from a
        /// cluster that keeps at least one row (as scikit-learn does); a cluster whose rows
        /// cancel takes its first row.
        case worstFittingRows
        /// At each update, its centroid becomes a random row (drawn from the run's generator,
        /// clusters in order).
        case randomRows
    }

    /// A finished run.
    struct Result {
        /// `k × d` unit centroids, row-major: the normalised (weighted) mean of each cluster.
        var centroids: [Float]
        /// Each row's cluster.
        var assignment: [Int]
        /// Each row's cosine to its cluster's centroid.
        var similarity: [Float]
        /// Update rounds run after the first assignment (not counting the last update when
        /// the rounds ran out).
        var rounds: Int
        /// Whether the last round moved no row.
        var converged: Bool
    }

    /// Runs at most `rounds` rounds from the `k` unit centroids `start` on the `n` unit rows
    /// `x` (`d` floats each). With `weights`, a centroid is the normalised sum of its rows
    /// times their weights. `onRound` hears each round's number as it ends.
    static func run(_ x: UnsafePointer<Float>, n: Int, d: Int, weights: UnsafePointer<Float>? = nil,
                    start: [Float], k: Int, rounds: Int, emptyClusters: EmptyClusters = .worstFittingRows,
                    rng: inout SplitMix64, threads: Int, onRound: (Int) -> Void = { _ in }) -> Result {
        precondition(k >= 1 && k <= n && start.count == k * d)
        var centroids = start
        var assignment = [Int](repeating: 0, count: n)
        var similarity = [Float](repeating: 0, count: n)
        assign(x, n: n, d: d, centroids: centroids, k: k, into: &assignment, similarity: &similarity)
        var round = 0, converged = false
        var next = [Int](repeating: 0, count: n)
        var nextSimilarity = [Float](repeating: 0, count: n)
        /// One update: the centroids from the assignment; whether a cluster was refilled at random.
        func update() -> Bool {
            if emptyClusters == .worstFittingRows { fillEmpty(&assignment, similarity: &similarity, k: k) }
            let (sums, vanished) = means(x, n: n, d: d, weights: weights, assignment: assignment, k: k, threads: threads)
            centroids = sums
            guard emptyClusters == .randomRows, !vanished.isEmpty else { return false }
            for j in vanished {
                let r = Int(rng.next() % UInt64(n))
                for i in 0..<d { centroids[j * d + i] = x[r * d + i] }
            }
            return true
        }
        while round < rounds {
            round += 1
            let refilled = update()
            assign(x, n: n, d: d, centroids: centroids, k: k, into: &next, similarity: &nextSimilarity)
            let moved = zip(assignment, next).reduce(0) { $0 + ($1.0 != $1.1 ? 1 : 0) }
            swap(&assignment, &next)
            swap(&similarity, &nextSimilarity)
            onRound(round)
            // A random refill changes its centroid on every update: not a fixed point.
            if moved == 0 && !refilled { converged = true; break }
        }
        if !converged {
            // Out of rounds: the centroids become the means of the last assignment, and each
            // row's similarity is to its own cluster's centroid.
            _ = update()
            centroids.withUnsafeBufferPointer { c in
                for r in 0..<n { similarity[r] = Vectors.dot(x + r * d, c.baseAddress! + assignment[r] * d, count: d) }
            }
        }
        return Result(centroids: centroids, assignment: assignment, similarity: similarity, rounds: round, converged: converged)
    }

    /// Trains `k` partition centroids on the unit rows `x` (`n × d`, row-major) with
    /// `iterations` updates, starting from `k` distinct random rows; an empty partition
    /// restarts at a random row. Deterministic for a generator state (and, through BLAS, a
    /// CPU family).
    static func train(_ x: [Float], n: Int, d: Int, k: Int, iterations: Int, threads: Int = 1,
                      rng: inout SplitMix64) -> Centroids {
        precondition(k >= 1 && k <= n)
        let first = Trainer.sampleRows(count: n, sample: k, rng: &rng)
        var start = [Float](repeating: 0, count: k * d)
        for (j, r) in first.enumerated() { for i in 0..<d { start[j * d + i] = x[r * d + i] } }
        guard iterations > 0 else { return Centroids(rows: start, count: k, dimension: d) }
        // `iterations` updates: the first assignment, `iterations − 1` rounds, the last update.
        let result = x.withUnsafeBufferPointer { xb in
            run(xb.baseAddress!, n: n, d: d, start: start, k: k, rounds: iterations - 1, emptyClusters: .randomRows,
                rng: &rng, threads: threads)
        }
        return Centroids(rows: result.centroids, count: k, dimension: d)
    }
}
