import Dispatch
import Synchronization

/// The steps of a round: assignment, cluster members, means, refilling empty clusters.
extension SphericalKMeans {
    /// Each row's nearest centroid and its cosine (``SphericalKMeans/assign(_:n:to:into:scores:)``).
    static func assign(_ x: UnsafePointer<Float>, n: Int, d: Int, centroids: [Float], k: Int,
                       into assignment: inout [Int], similarity: inout [Float]) {
        let c = Centroids(rows: centroids, count: k, dimension: d)
        assignment.withUnsafeMutableBufferPointer { a in
            similarity.withUnsafeMutableBufferPointer { s in
                assign(x, n: n, to: c, into: a.baseAddress!, scores: s.baseAddress!)
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
    /// `threads` threads, summed in `Double` in row order, and the clusters (ascending) that
    /// have no rows or whose sum vanishes (opposite rows cancel): such a cluster with rows
    /// takes its first row, one without keeps zeros (the caller refills it).
    static func means(_ x: UnsafePointer<Float>, n: Int, d: Int, weights: UnsafePointer<Float>?,
                      assignment: [Int], k: Int, threads: Int) -> (centroids: [Float], vanished: [Int]) {
        let (starts, order) = members(assignment, k: k)
        var out = [Float](repeating: 0, count: k * d)
        let next = Atomic<Int>(0)
        let xp = SharedPointer(x), wp = weights.map(SharedPointer.init)
        var zeroSum = [Bool](repeating: false, count: k)
        out.withUnsafeMutableBufferPointer { ob in
          zeroSum.withUnsafeMutableBufferPointer { zb in
            let op = SharedMutablePointer(ob.baseAddress!), zp = SharedMutablePointer(zb.baseAddress!)
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
                    } else {
                        zp.base[j] = true
                        if starts[j] < starts[j + 1] { c.update(from: xp.base + order[starts[j]] * d, count: d) }
                    }
                }
            }
          }
        }
        return (out, (0..<k).filter { zeroSum[$0] })
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
}
