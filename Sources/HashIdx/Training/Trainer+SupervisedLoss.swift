import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The supervised head's losses — labels, pairs, the geometry of the unsupervised codes —
/// as gradients over a batch, and the optimiser that follows them.
extension Trainer {
    /// Adds the labels term's gradient in `u` for the labelled batch rows `rows` (their
    /// label sets in `sets`): the pairwise likelihood over every pair of them, `S` = shares
    /// a label, plus the quantisation term.
    static func labelsGradient(u: [Float], rows: [Int], sets: [ArraySlice<Int32>], bits: Int, weight: Float,
                               settings: HeadSettings, into du: inout [Float]) {
        let l = rows.count
        guard l > 0 else { return }
        var ul = [Float](repeating: 0, count: l * bits)
        for (i, row) in rows.enumerated() { for j in 0..<bits { ul[i * bits + j] = u[row * bits + j] } }
        let kappa = settings.pairScale / Float(bits)
        // D = σ(Θ) − S (Θ = κ U Uᵀ), symmetric: dL/dU = 2 κ D U / l². Rows with one label
        // compare it. Row chunks on all cores.
        let single = sets.map { $0.count == 1 ? $0.first! : -1 }
        var theta = [Float](repeating: 0, count: l * l)
        var grad = [Float](repeating: 0, count: l * bits)
        ul.withUnsafeBufferPointer { ub in
            theta.withUnsafeMutableBufferPointer { tb in
                grad.withUnsafeMutableBufferPointer { gb in
                    let (up, tp, gp) = (SharedPointer(ub.baseAddress!), SharedMutablePointer(tb.baseAddress!),
                                        SharedMutablePointer(gb.baseAddress!))
                    parallelChunks(rows: l) { _, range in
                        let n = range.count
                        guard n > 0 else { return }
                        let t = tp.base + range.lowerBound * l
                        LinearAlgebra.multiplyF(up.base + range.lowerBound * bits, up.base, into: t, m: n, k: bits, n: l, transposeB: true)
                        for i in range {
                            let row = tp.base + i * l
                            for j in 0..<l {
                                let same = i == j || (single[i] >= 0 && single[j] >= 0 ? single[i] == single[j] : shareLabel(sets[i], sets[j]))
                                row[j] = 1 / (1 + expf(-kappa * row[j])) - (same ? 1 : 0)
                            }
                        }
                        LinearAlgebra.multiplyF(t, up.base, into: gp.base + range.lowerBound * bits, m: n, k: l, n: bits)
                    }
                }
            }
        }
        let scale = weight * 2 * kappa / Float(l * l)
        let q = weight * 2 * settings.quantisation / Float(l * bits)
        for (i, row) in rows.enumerated() {
            for j in 0..<bits {
                let value = ul[i * bits + j]
                du[row * bits + j] += scale * grad[i * bits + j] + q * (abs(value) - 1) * (value >= 0 ? 1 : -1)
            }
        }
    }

    /// Whether two sorted label sets intersect.
    static func shareLabel(_ a: ArraySlice<Int32>, _ b: ArraySlice<Int32>) -> Bool {
        var i = a.startIndex, j = b.startIndex
        while i < a.endIndex && j < b.endIndex {
            if a[i] == b[j] { return true }
            if a[i] < b[j] { i += 1 } else { j += 1 }
        }
        return false
    }

    /// Adds the pairs term's gradient in `u`, whose rows `k` and `k + pairs` form pair `k`.
    static func pairsGradient(u: [Float], pairs: Int, similar: [Bool], bits: Int, weight: Float, settings: HeadSettings,
                              into du: inout [Float]) {
        let kappa = settings.pairScale / Float(bits)
        let q = weight * 2 * settings.quantisation / Float(2 * pairs * bits)
        for k in 0..<pairs {
            var dot: Float = 0
            for j in 0..<bits { dot += u[k * bits + j] * u[(k + pairs) * bits + j] }
            let d = weight * kappa * (1 / (1 + expf(-kappa * dot)) - (similar[k] ? 1 : 0)) / Float(pairs)
            for j in 0..<bits {
                let ua = u[k * bits + j], ub = u[(k + pairs) * bits + j]
                du[k * bits + j] += d * ub + q * (abs(ua) - 1) * (ua >= 0 ? 1 : -1)
                du[(k + pairs) * bits + j] += d * ua + q * (abs(ub) - 1) * (ub >= 0 ? 1 : -1)
            }
        }
    }

    /// Adds to `du` the gradient of `weight · mean_{i≠j} (⟨uᵢ, uⱼ⟩ / bits − (1 − 2θᵢⱼ/π))²`
    /// over the first `m` rows, `θᵢⱼ` the angle between rows `i` and `j` of `z` (`· × d`).
    static func geometryGradient(z: [Float], u: [Float], m: Int, d: Int, bits: Int, weight: Float, into du: inout [Float]) {
        let norms = (0..<m).map { i in
            var sum: Float = 0
            for k in 0..<d { sum += z[i * d + k] * z[i * d + k] }
            return max(sum, 1e-24).squareRoot()
        }
        // E = (S/bits − T) off the diagonal, scaled so that dL/dU = E U. Row chunks on all cores.
        let scale = weight * 4 / Float(m * (m - 1)) / Float(bits)
        var cosines = [Float](repeating: 0, count: m * m)
        var similarity = [Float](repeating: 0, count: m * m)
        z.withUnsafeBufferPointer { zb in u.withUnsafeBufferPointer { ub in du.withUnsafeMutableBufferPointer { db in
            cosines.withUnsafeMutableBufferPointer { cb in similarity.withUnsafeMutableBufferPointer { sb in
                let (zp, up, dp) = (SharedPointer(zb.baseAddress!), SharedPointer(ub.baseAddress!), SharedMutablePointer(db.baseAddress!))
                let (cp, sp) = (SharedMutablePointer(cb.baseAddress!), SharedMutablePointer(sb.baseAddress!))
                parallelChunks(rows: m) { _, range in
                    let n = range.count
                    guard n > 0 else { return }
                    let c = cp.base + range.lowerBound * m, e = sp.base + range.lowerBound * m
                    LinearAlgebra.multiplyF(zp.base + range.lowerBound * d, zp.base, into: c, m: n, k: d, n: m, transposeB: true)
                    LinearAlgebra.multiplyF(up.base + range.lowerBound * bits, up.base, into: e, m: n, k: bits, n: m, transposeB: true)
                    for i in range {
                        let crow = cp.base + i * m, erow = sp.base + i * m
                        for j in 0..<m {
                            if i == j { erow[j] = 0; continue }
                            let cosine = min(1, max(-1, crow[j] / (norms[i] * norms[j])))
                            erow[j] = scale * (erow[j] / Float(bits) - (1 - 2 * acosf(cosine) / Float.pi))
                        }
                    }
                    // du[range] += E[range] U (beta 1: added to what is there).
                    LinearAlgebra.multiplyF(e, up.base, into: dp.base + range.lowerBound * bits, m: n, k: m, n: bits, accumulate: true)
                }
            } }
        } } }
    }
}

/// Adam (Kingma & Ba 2015) on a flat parameter array.
struct Adam {
    var beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8
    private var m: [Float], v: [Float]
    private var t = 0

    init(count: Int) {
        m = [Float](repeating: 0, count: count)
        v = [Float](repeating: 0, count: count)
    }

    /// One step of size `rate` along `gradient`.
    mutating func step(_ w: inout [Float], gradient g: [Float], rate: Float) {
        t += 1
        let c1 = 1 - powf(beta1, Float(t)), c2 = 1 - powf(beta2, Float(t))
        let step = rate * c2.squareRoot() / c1
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        let n = w.count
        m.withUnsafeMutableBufferPointer { m in
            v.withUnsafeMutableBufferPointer { v in
                w.withUnsafeMutableBufferPointer { w in
                    g.withUnsafeBufferPointer { g in
                        let (mp, vp, wp, gp) = (UnsafeMutableRawPointer(m.baseAddress!), UnsafeMutableRawPointer(v.baseAddress!),
                                                UnsafeMutableRawPointer(w.baseAddress!), UnsafeRawPointer(g.baseAddress!))
                        var i = 0
                        while i + 8 <= n {
                            let at = 4 * i
                            let gi = gp.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self)
                            let mi = b1 * mp.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self) + (1 - b1) * gi
                            let vi = b2 * vp.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self) + (1 - b2) * gi * gi
                            mp.storeBytes(of: mi, toByteOffset: at, as: SIMD8<Float>.self)
                            vp.storeBytes(of: vi, toByteOffset: at, as: SIMD8<Float>.self)
                            let wi = wp.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self) - step * mi / (vi.squareRoot() + eps)
                            wp.storeBytes(of: wi, toByteOffset: at, as: SIMD8<Float>.self)
                            i += 8
                        }
                        while i < n {
                            m[i] = b1 * m[i] + (1 - b1) * g[i]
                            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                            w[i] -= step * m[i] / (v[i].squareRoot() + eps)
                            i += 1
                        }
                    }
                }
            }
        }
    }
}
