import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a clustering starts: greedy k-means++ seeds.
extension SphericalKMeans {
    /// Rows per chunk of the sums that are split across threads.
    static let chunk = 4096

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
