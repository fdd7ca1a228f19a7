import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Spherical k-means run to convergence on a whole catalog: the engine's k-means
/// (``SphericalKMeans``, whose assignment step is a BLAS matrix product per block of rows)
/// with what clustering needs beyond training partitions on a sample: a chosen start
/// (greedy k-means++ or given centroids), optional row weights, the update on several
/// threads, empty clusters refilled from the worst-fitting rows, and a stop when no row
/// changes cluster.
///
/// Every result is the same for the same input, start and generator state, whatever the
/// thread count: each centroid's sum is taken by one thread in row order, and every other
/// sum is taken in a fixed order of fixed chunks.
enum SphericalLloyd {
    /// A finished run.
    struct Result {
        /// `k × d` unit centroids, row-major: the normalised (weighted) mean of each cluster.
        var centroids: [Float]
        /// Each row's cluster.
        var assignment: [Int]
        /// Each row's cosine to its cluster's centroid.
        var similarity: [Float]
        /// Update rounds run.
        var rounds: Int
        /// Whether the last round moved no row.
        var converged: Bool
    }

    /// Rows per chunk of the sums that are split across threads.
    static let chunk = 4096

    /// Runs at most `iterations` rounds from the `k` unit centroids `start` on the `n` unit
    /// rows `x` (`d` floats each). With `weights`, a centroid is the normalised sum of its
    /// rows times their weights.
    static func run(_ x: UnsafePointer<Float>, n: Int, d: Int, weights: UnsafePointer<Float>? = nil,
                    start: [Float], k: Int, iterations: Int, threads: Int) -> Result {
        precondition(k >= 1 && k <= n && start.count == k * d)
        var centroids = start
        var assignment = [Int](repeating: 0, count: n)
        var similarity = [Float](repeating: 0, count: n)
        assign(x, n: n, d: d, centroids: centroids, k: k, into: &assignment, similarity: &similarity)
        var rounds = 0, converged = false
        var next = [Int](repeating: 0, count: n)
        var nextSimilarity = [Float](repeating: 0, count: n)
        while rounds < iterations {
            rounds += 1
            fillEmpty(&assignment, similarity: &similarity, k: k)
            centroids = means(x, n: n, d: d, weights: weights, assignment: assignment, k: k, threads: threads)
            assign(x, n: n, d: d, centroids: centroids, k: k, into: &next, similarity: &nextSimilarity)
            let moved = zip(assignment, next).reduce(0) { $0 + ($1.0 != $1.1 ? 1 : 0) }
            swap(&assignment, &next)
            swap(&similarity, &nextSimilarity)
            if moved == 0 { converged = true; break }
        }
        if !converged {
            // Out of rounds: the centroids become the means of the last assignment, and each
            // row's similarity is to its own cluster's centroid.
            fillEmpty(&assignment, similarity: &similarity, k: k)
            centroids = means(x, n: n, d: d, weights: weights, assignment: assignment, k: k, threads: threads)
            centroids.withUnsafeBufferPointer { c in
                for r in 0..<n { similarity[r] = Vectors.dot(x + r * d, c.baseAddress! + assignment[r] * d, count: d) }
            }
        }
        return Result(centroids: centroids, assignment: assignment, similarity: similarity, rounds: rounds, converged: converged)
    }

    /// Each row's nearest centroid and its cosine (``SphericalKMeans/assign(_:n:to:into:scores:)``).
    static func assign(_ x: UnsafePointer<Float>, n: Int, d: Int, centroids: [Float], k: Int,
                       into assignment: inout [Int], similarity: inout [Float]) {
        let c = Centroids(rows: centroids, count: k, dimension: d)
        assignment.withUnsafeMutableBufferPointer { a in
            similarity.withUnsafeMutableBufferPointer { s in
                SphericalKMeans.assign(x, n: n, to: c, into: a.baseAddress!, scores: s.baseAddress!)
            }
        }
    }

    /// Rows of each cluster in ascending order: `order[starts[j] ..< starts[j + 1]]`.
    static func members(_ assignment: [Int], k: Int) -> (starts: [Int], order: [Int]) {
        var starts = [Int](repeating: 0, count: k + 1)
        for a in assignment { starts[a + 1] += 1 }
        for j in 0..<k { starts[j + 1] += starts[j] }
        var fill = Array(starts.dropLast())
        var order = [Int](repeating: 0, count: assignment.count)
        for (r, a) in assignment.enumerated() { order[fill[a]] = r; fill[a] += 1 }
        return (starts, order)
    }

    /// The normalised (weighted) sum of each cluster's rows, one cluster per task on
    /// `threads` threads, summed in `Double` in row order. A cluster whose sum vanishes
    /// (opposite rows cancel) takes its first row.
    static func means(_ x: UnsafePointer<Float>, n: Int, d: Int, weights: UnsafePointer<Float>?,
                      assignment: [Int], k: Int, threads: Int) -> [Float] {
        let (starts, order) = members(assignment, k: k)
        var out = [Float](repeating: 0, count: k * d)
        let next = Atomic<Int>(0)
        let xp = SharedPointer(x), wp = weights.map(SharedPointer.init)
        out.withUnsafeMutableBufferPointer { ob in
            let op = SharedMutablePointer(ob.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: max(1, min(threads, k))) { _ in
                let sum = UnsafeMutablePointer<Double>.allocate(capacity: d)
                defer { sum.deallocate() }
                while true {
                    let j = next.add(1, ordering: .relaxed).oldValue
                    if j >= k { break }
                    sum.initialize(repeating: 0, count: d)
                    for m in starts[j]..<starts[j + 1] {
                        let row = xp.base + order[m] * d
                        if let wp {
                            let w = Double(wp.base[order[m]])
                            for i in 0..<d { sum[i] += w * Double(row[i]) }
                        } else {
                            for i in 0..<d { sum[i] += Double(row[i]) }
                        }
                    }
                    var norm = 0.0
                    for i in 0..<d { norm += sum[i] * sum[i] }
                    norm = norm.squareRoot()
                    let c = op.base + j * d
                    if norm > 0 {
                        for i in 0..<d { c[i] = Float(sum[i] / norm) }
                    } else if starts[j] < starts[j + 1] {
                        c.update(from: xp.base + order[starts[j]] * d, count: d)
                    }
                }
            }
        }
        return out
    }

    /// Gives every empty cluster one row: the rows that fit their clusters worst (lowest
    /// similarity, then lowest row), each taken from a cluster that keeps at least one row
    /// (as scikit-learn does). Needs `k ≤` rows.
    static func fillEmpty(_ assignment: inout [Int], similarity: inout [Float], k: Int) {
        var sizes = [Int](repeating: 0, count: k)
        for a in assignment { sizes[a] += 1 }
        let empty = (0..<k).filter { sizes[$0] == 0 }
        guard !empty.isEmpty else { return }
        let worst = assignment.indices.sorted { similarity[$0] < similarity[$1] || (similarity[$0] == similarity[$1] && $0 < $1) }
        var w = 0
        for j in empty {
            while sizes[assignment[worst[w]]] <= 1 { w += 1 }
            let r = worst[w]
            sizes[assignment[r]] -= 1
            assignment[r] = j
            sizes[j] = 1
            similarity[r] = 1
            w += 1
        }
    }

    /// Greedy k-means++ (as scikit-learn seeds): the first centroid is a row drawn with
    /// probability proportional to its weight; each next one is the best of `2 + ln k` rows
    /// drawn with probability proportional to weight × (1 − cosine to the nearest centroid so
    /// far), the best being the one that lowers the weighted sum of those distances most.
    /// Returns `k × d` unit centroids (rows of `x`).
    static func kMeansPlusPlus(_ x: UnsafePointer<Float>, n: Int, d: Int, weights: UnsafePointer<Float>? = nil,
                               k: Int, rng: inout SplitMix64, threads: Int) -> [Float] {
        precondition(k >= 1 && k <= n)
        let trials = 2 + Int(log(Double(k)))
        func weight(_ r: Int) -> Double { Double(weights?[r] ?? 1) }
        var centroids = [Float](repeating: 0, count: k * d)
        var distance = [Double](repeating: 1, count: n)   // 1 − cosine to the nearest centroid
        var scores = [Float](repeating: 0, count: n * trials)
        var candidates = [Float](repeating: 0, count: trials * d)

        /// A row drawn with probability weight × distance (uniformly when all are zero).
        func draw() -> Int {
            var total = 0.0
            for r in 0..<n { total += weight(r) * distance[r] }
            guard total > 0 else { return Int(rng.next() % UInt64(n)) }
            let u = Double(rng.next() >> 11) * 0x1p-53 * total
            var acc = 0.0
            for r in 0..<n {
                acc += weight(r) * distance[r]
                if acc > u { return r }
            }
            return (0..<n).last { weight($0) * distance[$0] > 0 }!
        }

        for step in 0..<k {
            let t = step == 0 ? 1 : trials
            var chosen: [Int] = []
            for _ in 0..<t { chosen.append(draw()) }
            for (i, r) in chosen.enumerated() {
                for j in 0..<d { candidates[i * d + j] = x[r * d + j] }
            }
            candidates.withUnsafeBufferPointer { cb in
                scores.withUnsafeMutableBufferPointer { sb in
                    LinearAlgebra.multiplyF(x, cb.baseAddress!, into: sb.baseAddress!, m: n, k: d, n: t, transposeB: true)
                }
            }
            // The candidate leaving the smallest weighted sum of distances (chunked sums in a
            // fixed order, on several threads).
            let potentials = chunkedSums(count: n, columns: t, threads: threads) { r, i in
                weight(r) * min(distance[r], max(0, 1 - Double(scores[r * t + i])))
            }
            var best = 0
            for i in 1..<t where potentials[i] < potentials[best] { best = i }
            for j in 0..<d { centroids[step * d + j] = candidates[best * d + j] }
            for r in 0..<n { distance[r] = min(distance[r], max(0, 1 - Double(scores[r * t + best]))) }
        }
        return centroids
    }

    /// For each of `columns` columns, the sum over rows `0..<count` of `term(row, column)`:
    /// per chunk of ``chunk`` rows on `threads` threads, then the chunks added in order.
    static func chunkedSums(count: Int, columns: Int, threads: Int,
                            _ term: (Int, Int) -> Double) -> [Double] {
        let chunks = (count + chunk - 1) / chunk
        var partial = [Double](repeating: 0, count: chunks * columns)
        partial.withUnsafeMutableBufferPointer { pb in
            let pp = SharedMutablePointer(pb.baseAddress!)
            withoutActuallyEscaping(term) { term in
                let box = UncheckedTerm(term: term)
                let next = Atomic<Int>(0)
                DispatchQueue.concurrentPerform(iterations: max(1, min(threads, chunks))) { _ in
                    while true {
                        let c = next.add(1, ordering: .relaxed).oldValue
                        if c >= chunks { break }
                        for i in 0..<columns {
                            var s = 0.0
                            for r in (c * chunk)..<min(count, (c + 1) * chunk) { s += box.term(r, i) }
                            pp.base[c * columns + i] = s
                        }
                    }
                }
            }
        }
        var sums = [Double](repeating: 0, count: columns)
        for c in 0..<chunks { for i in 0..<columns { sums[i] += partial[c * columns + i] } }
        return sums
    }

    /// A read-only closure called from worker threads while its owner waits for them.
    private struct UncheckedTerm: @unchecked Sendable {
        let term: (Int, Int) -> Double
    }
}
