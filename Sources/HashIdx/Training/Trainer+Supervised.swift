#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The supervised head: the unsupervised projection `W₀` (PCA + ITQ, or the random frame)
/// fine-tuned by mini-batch gradient descent (Adam) so that rows the catalog calls similar
/// get near codes.
///
/// The model stays linear — `code = sign(W (x − μ))` — so encoding, storage and search are
/// unchanged. Training relaxes the sign to `u = tanh(h)`, `h = W (x − μ)`, and minimises
///
///     L = s · L_sup + (1 − s) · L_geo
///
/// - `L_sup` for labels (CSQ, Yuan et al. 2020): each label has a hash centre `c ∈ {±1}^bits`
///   (rows of a Hadamard matrix and their negations, or random balanced vectors when there
///   are more labels than that); a row's target is its label's centre (the majority of its
///   labels' centres). The loss is the binary cross-entropy of `(u + 1)/2` against
///   `(c + 1)/2`, whose gradient in `h` is simply `u − c`, plus a small quantisation term
///   `λ (1 − |u|)²`.
/// - `L_sup` for pairs (DPSH, Li et al. 2016): `Θ = κ ⟨uₐ, u_b⟩ / bits`, the negative
///   log-likelihood `log(1 + e^Θ) − s Θ` of each pair's similarity `s`.
/// - `L_geo` keeps the codes faithful to the cosine geometry, so that unlabelled rows and
///   classes never seen in training still hash sensibly: within each batch, the code
///   similarity `⟨uᵢ, uⱼ⟩ / bits` is pulled towards `1 − 2θᵢⱼ/π`, the value sign hashing of
///   the centred vectors at angle `θᵢⱼ` has in expectation.
///
/// Deterministic for a seed: batches come from ``SplitMix64``, products from OpenBLAS (whose
/// threads split outputs, never a sum).
extension Trainer {
    /// Settings of the head's optimisation, chosen by measurement on Fashion-MNIST
    /// (Benchmarks/supervised).
    struct HeadSettings {
        /// Rows (labels) or pairs per mini-batch.
        var batch = 256
        /// Adam's step size.
        var learningRate: Float = 1e-3
        /// Weight of the quantisation term of the labels loss.
        var quantisation: Float = 0.01
        /// Scale of the pairwise logit: `Θ = κ ⟨uₐ, u_b⟩ / bits`.
        var pairScale: Float = 8
    }

    /// Fine-tunes `w0` (`bits × d`, row-major) on the centred unit rows `x` (`n × d`,
    /// row-major; row `i` is row `rows[i]` of the build's input) and returns the new
    /// projection.
    static func trainHead(x: [Float], rows: [Int], d: Int, bits: Int, w0: [Float], supervision: Supervision,
                          weight: Float, epochs: Int, settings: HeadSettings = HeadSettings(),
                          rng: inout SplitMix64) -> [Float] {
        let n = rows.count
        var w = w0
        var adam = Adam(count: w.count, rate: settings.learningRate)
        // The examples of one epoch: rows (labels) or pairs; each batch is a list of rows of x.
        let targets: [Int8]?   // labels: the centre of each row of x (n × bits), nil when unlabelled
        var labelled: [Bool] = []
        var pairRows: (a: [Int], b: [Int], s: [Bool]) = ([], [], [])
        switch supervision {
        case .labels(let labels):
            let centres = hashCentres(classes: labels.names.count, bits: bits, rng: &rng)
            var t = [Int8](repeating: 0, count: n * bits)
            labelled = [Bool](repeating: false, count: n)
            for (i, r) in rows.enumerated() where labels.isLabelled(r) {
                labelled[i] = true
                let set = labels.labels(ofRow: r)
                for j in 0..<bits {
                    var vote = 0
                    for l in set { vote += Int(centres[Int(l) * bits + j]) }
                    t[i * bits + j] = vote > 0 ? 1 : vote < 0 ? -1 : centres[Int(set.first!) * bits + j]
                }
            }
            targets = t
        case .pairs(let pairs):
            targets = nil
            var position: [Int: Int] = [:]
            for (i, r) in rows.enumerated() { position[r] = i }
            for p in 0..<pairs.count {
                if let a = position[pairs.first[p]], let b = position[pairs.second[p]] {
                    pairRows.a.append(a); pairRows.b.append(b); pairRows.s.append(pairs.similar[p])
                }
            }
        }
        let examples = targets != nil ? n : pairRows.a.count
        guard examples > 0 else { return w }
        let perBatch = targets != nil ? settings.batch : max(1, settings.batch / 2)
        var order = Array(0..<examples)
        var xb = [Float](repeating: 0, count: 2 * perBatch * d)
        var h = [Float](repeating: 0, count: 2 * perBatch * bits)
        var dh = h
        var grad = [Float](repeating: 0, count: bits * d)
        for _ in 0..<epochs {
            // Fisher–Yates with the seeded generator.
            for i in stride(from: examples - 1, to: 0, by: -1) {
                order.swapAt(i, Int(rng.next() % UInt64(i + 1)))
            }
            var lo = 0
            while lo < examples {
                let hi = min(examples, lo + perBatch)
                // The batch's rows of x, and for pairs, which of them pair up.
                var batchRows: [Int] = []
                if targets != nil {
                    batchRows = Array(order[lo..<hi])
                } else {
                    batchRows = order[lo..<hi].map { pairRows.a[$0] } + order[lo..<hi].map { pairRows.b[$0] }
                }
                let m = batchRows.count
                x.withUnsafeBufferPointer { xs in
                    xb.withUnsafeMutableBufferPointer { xbb in
                        for (i, r) in batchRows.enumerated() {
                            (xbb.baseAddress! + i * d).update(from: xs.baseAddress! + r * d, count: d)
                        }
                    }
                }
                // H = X_b Wᵀ (m × bits), U = tanh(H) in place.
                xb.withUnsafeBufferPointer { a in
                    w.withUnsafeBufferPointer { b in
                        h.withUnsafeMutableBufferPointer { c in
                            LinearAlgebra.multiplyF(a.baseAddress!, b.baseAddress!, into: c.baseAddress!, m: m, k: d, n: bits, transposeB: true)
                        }
                    }
                }
                for i in 0..<(m * bits) { h[i] = tanhf(h[i]) }
                for i in 0..<(m * bits) { dh[i] = 0 }
                // Supervised term, as dL/dh.
                if let targets {
                    var count = 0
                    for r in batchRows where labelled[r] { count += 1 }
                    if count > 0 {
                        let scale = weight / Float(count * bits)
                        for (i, r) in batchRows.enumerated() where labelled[r] {
                            for j in 0..<bits {
                                let u = h[i * bits + j]
                                let c = Float(targets[r * bits + j])
                                let a = abs(u)
                                // BCE: u − c. Quantisation: d/dh λ(1 − |u|)² = −2λ(1 − |u|) sign(u) (1 − u²).
                                let q = -2 * settings.quantisation * (1 - a) * (u >= 0 ? 1 : -1) * (1 - u * u)
                                dh[i * bits + j] += scale * (u - c + q)
                            }
                        }
                    }
                } else {
                    let p = m / 2
                    let kappa = settings.pairScale / Float(bits)
                    let scale = weight / Float(p)
                    for k in 0..<p {
                        let pair = order[lo + k]
                        var dot: Float = 0
                        for j in 0..<bits { dot += h[k * bits + j] * h[(k + p) * bits + j] }
                        let theta = kappa * dot
                        let sig = 1 / (1 + expf(-theta))
                        let g = scale * (sig - (pairRows.s[pair] ? 1 : 0)) * kappa
                        for j in 0..<bits {
                            let ua = h[k * bits + j], ub = h[(k + p) * bits + j]
                            dh[k * bits + j] += g * ub * (1 - ua * ua)
                            dh[(k + p) * bits + j] += g * ua * (1 - ub * ub)
                        }
                    }
                }
                // Geometry term.
                if weight < 1 && m > 1 {
                    geometryGradient(xb: xb, u: h, m: m, d: d, bits: bits, weight: 1 - weight, into: &dh)
                }
                // dW = dHᵀ X_b (bits × d), then one Adam step.
                dh.withUnsafeBufferPointer { a in
                    xb.withUnsafeBufferPointer { b in
                        grad.withUnsafeMutableBufferPointer { c in
                            LinearAlgebra.multiplyF(a.baseAddress!, b.baseAddress!, into: c.baseAddress!, m: bits, k: m, n: d, transposeA: true)
                        }
                    }
                }
                adam.step(&w, gradient: grad)
                lo = hi
            }
        }
        return w
    }

    /// Adds to `dh` (`m × bits`) the gradient in `h` of
    /// `weight · mean_{i≠j} (⟨uᵢ, uⱼ⟩ / bits − (1 − 2θᵢⱼ/π))²`, `θᵢⱼ` the angle between the
    /// centred rows `i` and `j` of `xb`, `u` (`m × bits`) the relaxed codes.
    static func geometryGradient(xb: [Float], u: [Float], m: Int, d: Int, bits: Int, weight: Float, into dh: inout [Float]) {
        var cosines = [Float](repeating: 0, count: m * m)
        var similarity = [Float](repeating: 0, count: m * m)
        xb.withUnsafeBufferPointer { a in
            cosines.withUnsafeMutableBufferPointer { c in
                LinearAlgebra.multiplyF(a.baseAddress!, a.baseAddress!, into: c.baseAddress!, m: m, k: d, n: m, transposeB: true)
            }
        }
        u.withUnsafeBufferPointer { a in
            similarity.withUnsafeMutableBufferPointer { c in
                LinearAlgebra.multiplyF(a.baseAddress!, a.baseAddress!, into: c.baseAddress!, m: m, k: bits, n: m, transposeB: true)
            }
        }
        var norms = [Float](repeating: 0, count: m)
        for i in 0..<m { norms[i] = max(cosines[i * m + i], 1e-12).squareRoot() }
        // E = (S/bits − T) off the diagonal, scaled so that dL/dU = E U.
        let scale = weight * 4 / Float(m * (m - 1)) / Float(bits)
        for i in 0..<m {
            for j in 0..<m {
                if i == j { similarity[i * m + j] = 0; continue }
                let c = min(1, max(-1, cosines[i * m + j] / (norms[i] * norms[j])))
                let target = 1 - 2 * acosf(c) / Float.pi
                similarity[i * m + j] = scale * (similarity[i * m + j] / Float(bits) - target)
            }
        }
        var du = [Float](repeating: 0, count: m * bits)
        similarity.withUnsafeBufferPointer { e in
            u.withUnsafeBufferPointer { a in
                du.withUnsafeMutableBufferPointer { c in
                    LinearAlgebra.multiplyF(e.baseAddress!, a.baseAddress!, into: c.baseAddress!, m: m, k: m, n: bits)
                }
            }
        }
        for i in 0..<(m * bits) { dh[i] += du[i] * (1 - u[i] * u[i]) }
    }

    /// One hash centre per class (`classes × bits`, entries ±1): rows 1… of the Sylvester
    /// Hadamard matrix and their negations while they last (any two are `bits/2` or `bits`
    /// apart), then random balanced vectors.
    static func hashCentres(classes: Int, bits: Int, rng: inout SplitMix64) -> [Int8] {
        var centres = [Int8](repeating: 0, count: classes * bits)
        let powerOfTwo = bits & (bits - 1) == 0
        for c in 0..<classes {
            let hadamardRow = c < bits - 1 ? c + 1 : c - (bits - 1) + 1
            if powerOfTwo && c < 2 * (bits - 1) {
                let sign: Int8 = c < bits - 1 ? 1 : -1
                for j in 0..<bits {
                    // Sylvester: H[r][j] = (−1)^popcount(r & j).
                    centres[c * bits + j] = (hadamardRow & j).nonzeroBitCount % 2 == 0 ? sign : -sign
                }
            } else {
                var positions = Array(0..<bits)
                for i in stride(from: bits - 1, to: 0, by: -1) { positions.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
                for (k, j) in positions.enumerated() { centres[c * bits + j] = k < bits / 2 ? 1 : -1 }
            }
        }
        return centres
    }
}

/// Adam (Kingma & Ba 2015) on a flat parameter array.
struct Adam {
    var rate: Float
    var beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8
    private var m: [Float], v: [Float]
    private var t = 0

    init(count: Int, rate: Float) {
        self.rate = rate
        m = [Float](repeating: 0, count: count)
        v = [Float](repeating: 0, count: count)
    }

    mutating func step(_ w: inout [Float], gradient g: [Float]) {
        t += 1
        let c1 = 1 - powf(beta1, Float(t)), c2 = 1 - powf(beta2, Float(t))
        let step = rate * c2.squareRoot() / c1
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        m.withUnsafeMutableBufferPointer { m in
            v.withUnsafeMutableBufferPointer { v in
                w.withUnsafeMutableBufferPointer { w in
                    g.withUnsafeBufferPointer { g in
                        for i in 0..<w.count {
                            m[i] = b1 * m[i] + (1 - b1) * g[i]
                            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                            w[i] -= step * m[i] / (v[i].squareRoot() + eps)
                        }
                    }
                }
            }
        }
    }
}
