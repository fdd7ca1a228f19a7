import Dispatch

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
/// The head reads the centred unit vector through the top `r` principal directions `P`
/// (`z = P (x − μ)`; the identity for a random frame) and is either
/// - linear: `h = A z`, stored as the projection `A P`; or
/// - two-layer (the default): `h = A relu(V z + c)`, stored as a ``HiddenLayer`` `V P`, `c`
///   and the projection `A`. It starts as exactly the unsupervised model: `V = [I; −I]`,
///   `c = 0`, `A = [A₀, −A₀]` with `A₀ = W₀ Pᵀ`, because `z = relu(z) − relu(−z)`.
///
/// Training relaxes the sign to `u = tanh(h)` and minimises `L = s · L_sup + (1 − s) · L_geo`:
/// - `L_sup`, a pairwise likelihood (DPSH, Li et al. 2016): for two rows with similarity
///   `S ∈ {0, 1}` (they share a label, or the pair says so), `Θ = κ ⟨uᵢ, uⱼ⟩ / bits` and the
///   loss `log(1 + e^Θ) − S Θ`; with labels, over every pair of labelled rows in the batch.
///   Plus a quantisation term `λ (|u| − 1)²`. Measured on Fashion-MNIST this beat central
///   similarity (CSQ) hash centres (Benchmarks/supervised).
/// - `L_geo` keeps the codes faithful to the cosine geometry, so that unlabelled rows and
///   classes never seen in training still hash sensibly: over pairs of the batch's first
///   ``HeadSettings/geometryRows`` rows, `⟨uᵢ, uⱼ⟩ / bits` is pulled towards `1 − 2θᵢⱼ/π`,
///   the value sign hashing of vectors at angle `θᵢⱼ` has in expectation.
///
/// Deterministic for a seed: batches come from ``SplitMix64``, products from OpenBLAS (whose
/// threads split outputs, never a sum).
extension Trainer {
    /// Settings of the head's optimisation, chosen by measurement on Fashion-MNIST
    /// (Benchmarks/supervised).
    struct HeadSettings {
        /// Rows (labels) or pairs per mini-batch.
        var batch = 256
        /// Adam's initial step size, decayed to 0 along a half cosine over all steps.
        var learningRate: Float = 1e-2
        /// Weight of the quantisation term (0.1 saturated the codes and cost both mAP and
        /// recall on Fashion-MNIST; 0.01 keeps margins informative).
        var quantisation: Float = 0.01
        /// Scale of the pairwise logit: `Θ = κ ⟨uᵢ, uⱼ⟩ / bits`.
        var pairScale: Float = 8
        /// Rows of each batch in the geometry term.
        var geometryRows = 128
    }

    /// The trained head in input coordinates.
    struct Head {
        /// `V P` (`units × d`) and `c`, for a two-layer head.
        var hidden: HiddenLayer?
        /// `A P` (`bits × d`), or `A` (`bits × units`) for a two-layer head.
        var projection: [Float]
    }

    /// Trains a head on the centred unit rows `x` (`n × d`; row `i` is row `rows[i]` of the
    /// build's input), starting from the unsupervised projection `w0` (`bits × d`) and
    /// reading through `basis` (`r × d`, orthonormal rows spanning `w0`'s rows).
    static func trainHead(x: [Float], rows: [Int], d: Int, bits: Int, w0: [Float], basis: [Float], r: Int,
                          supervision: Supervision, weight: Float, epochs: Int, twoLayer: Bool,
                          settings: HeadSettings = HeadSettings(), rng: inout SplitMix64) -> Head {
        let n = rows.count
        // z = X Pᵀ (n × r), A₀ = W₀ Pᵀ (bits × r), scaled so that margins start with unit RMS
        // (the codes do not change; tanh is then neither linear nor saturated).
        var z = [Float](repeating: 0, count: n * r)
        LinearAlgebra.multiplyF(x, basis, into: &z, m: n, k: d, n: r, transposeB: true)
        var a0 = [Float](repeating: 0, count: bits * r)
        LinearAlgebra.multiplyF(w0, basis, into: &a0, m: bits, k: d, n: r, transposeB: true)
        let probe = min(n, 4096)
        var h0 = [Float](repeating: 0, count: probe * bits)
        LinearAlgebra.multiplyF(z, a0, into: &h0, m: probe, k: r, n: bits, transposeB: true)
        let rms = (h0.reduce(Float(0)) { $0 + $1 * $1 } / Float(max(1, h0.count))).squareRoot()
        if rms > 0 { for i in a0.indices { a0[i] /= rms } }

        // Parameters: V (units × r), c (units), A (bits × inputs).
        let units = twoLayer ? (2 * r + 63) / 64 * 64 : 0
        let inputs = twoLayer ? units : r
        var v = [Float](repeating: 0, count: units * r)
        var c = [Float](repeating: 0, count: units)
        var a = [Float](repeating: 0, count: bits * inputs)
        if twoLayer {
            for i in 0..<r { v[i * r + i] = 1; v[(r + i) * r + i] = -1 }
            for j in 0..<bits { for i in 0..<r { a[j * inputs + i] = a0[j * r + i]; a[j * inputs + r + i] = -a0[j * r + i] } }
        } else {
            a = a0
        }
        var adamV = Adam(count: v.count), adamC = Adam(count: c.count), adamA = Adam(count: a.count)

        // Examples: rows (labels) or pairs.
        var labelSets: [ArraySlice<Int32>] = []
        var pairs: (a: [Int], b: [Int], s: [Bool]) = ([], [], [])
        switch supervision {
        case .labels(let labels):
            labelSets = rows.map { labels.labels(ofRow: $0) }
        case .pairs(let list):
            var position: [Int: Int] = [:]
            for (i, row) in rows.enumerated() { position[row] = i }
            for p in 0..<list.count {
                if let i = position[list.first[p]], let j = position[list.second[p]] {
                    pairs.a.append(i); pairs.b.append(j); pairs.s.append(list.similar[p])
                }
            }
        }
        let byLabels = !labelSets.isEmpty
        let examples = byLabels ? n : pairs.a.count
        guard examples > 0 else { return assemble(v: v, c: c, a: a, basis: basis, r: r, d: d, bits: bits, units: units) }
        let perBatch = byLabels ? settings.batch : max(1, settings.batch / 2)
        // An epoch visits every labelled row, or as many pairs as there are rows they name
        // (a fresh shuffle each epoch): training time follows the rows, not the pair count.
        let perEpoch = byLabels ? examples : min(examples, max(perBatch, n))
        let totalSteps = epochs * ((perEpoch + perBatch - 1) / perBatch)
        var step = 0
        var order = Array(0..<examples)
        let maxRows = byLabels ? perBatch : 2 * perBatch
        var zb = [Float](repeating: 0, count: maxRows * r)
        var g = [Float](repeating: 0, count: maxRows * max(units, 1))     // V z + c, then relu
        var u = [Float](repeating: 0, count: maxRows * bits)             // tanh(h)
        var du = u
        var dg = g
        var gradA = a, gradV = v, gradC = c
        // Per-chunk gradients, summed in chunk order: the result does not depend on how many
        // threads ran the chunks.
        let chunks = headChunks
        var partA = [Float](repeating: 0, count: chunks * a.count)
        var partV = [Float](repeating: 0, count: chunks * v.count)
        var partC = [Float](repeating: 0, count: chunks * c.count)
        let shape = Shape(r: r, units: units, bits: bits)
        // Each thread calls single-threaded BLAS on its own chunk.
        let blasThreads = LinearAlgebra.blasThreads
        LinearAlgebra.blasThreads = 1
        defer { LinearAlgebra.blasThreads = blasThreads }
        for _ in 0..<epochs {
            for i in stride(from: examples - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            var lo = 0
            while lo < perEpoch {
                let hi = min(perEpoch, lo + perBatch)
                let batch: [Int] = byLabels ? Array(order[lo..<hi]) : order[lo..<hi].map { pairs.a[$0] } + order[lo..<hi].map { pairs.b[$0] }
                let m = batch.count
                z.withUnsafeBufferPointer { zs in
                    zb.withUnsafeMutableBufferPointer { zbb in
                        for (i, row) in batch.enumerated() { (zbb.baseAddress! + i * r).update(from: zs.baseAddress! + row * r, count: r) }
                    }
                }
                // Forward, chunk by chunk: g = relu(Z Vᵀ + c), h = g Aᵀ (or Z Aᵀ), u = tanh(h).
                withPointers(&zb, &g, &u, &du, &dg, v, c, a) { p in
                    parallelChunks(rows: m) { _, range in forward(p, rows: range, shape: shape) }
                }
                // dL/du of the supervised term.
                if weight > 0 {
                    if byLabels {
                        let labelled = batch.indices.filter { !labelSets[batch[$0]].isEmpty }
                        labelsGradient(u: u, rows: labelled, sets: labelled.map { labelSets[batch[$0]] }, bits: bits,
                                       weight: weight, settings: settings, into: &du)
                    } else {
                        pairsGradient(u: u, pairs: m / 2, similar: order[lo..<hi].map { pairs.s[$0] }, bits: bits,
                                      weight: weight, settings: settings, into: &du)
                    }
                }
                // dL/du of the geometry term.
                let geometryRows = min(m, settings.geometryRows)
                if weight < 1 && geometryRows > 1 {
                    geometryGradient(z: zb, u: u, m: geometryRows, d: r, bits: bits, weight: 1 - weight, into: &du)
                }
                // Backward, chunk by chunk: dh = du (1 − u²); dA = dhᵀ g; dg = dh A ⊙ [g > 0];
                // dV = dgᵀ Z; dc = Σ dg. Then the chunks' sums, in order.
                withPointers(&zb, &g, &u, &du, &dg, v, c, a) { p in
                    partA.withUnsafeMutableBufferPointer { pa in
                        partV.withUnsafeMutableBufferPointer { pv in
                            partC.withUnsafeMutableBufferPointer { pc in
                                let out = (SharedMutablePointer(pa.baseAddress!), SharedMutablePointer(pv.baseAddress!),
                                           SharedMutablePointer(pc.baseAddress!))
                                parallelChunks(rows: m) { k, range in
                                    backward(p, rows: range, shape: shape, gradA: out.0.base + k * shape.aCount,
                                             gradV: out.1.base + k * shape.vCount, gradC: out.2.base + k * shape.units)
                                }
                            }
                        }
                    }
                }
                sumChunks(partA, into: &gradA)
                if twoLayer {
                    sumChunks(partV, into: &gradV)
                    sumChunks(partC, into: &gradC)
                }
                // Adam, the step size on a half cosine from the initial rate down to 0.
                let rate = settings.learningRate * 0.5 * (1 + cosf(Float.pi * Float(step) / Float(max(1, totalSteps))))
                adamA.step(&a, gradient: gradA, rate: rate)
                if twoLayer {
                    adamV.step(&v, gradient: gradV, rate: rate)
                    adamC.step(&c, gradient: gradC, rate: rate)
                }
                step += 1
                lo = hi
            }
        }
        return assemble(v: v, c: c, a: a, basis: basis, r: r, d: d, bits: bits, units: units)
    }

    /// The rows of a mini-batch are split into this many chunks, run on as many threads as
    /// there are cores; the chunks (not the threads) fix the order of every sum.
    static let headChunks = 4

    /// The sizes of the head's parameters.
    struct Shape: Sendable {
        let r: Int, units: Int, bits: Int
        var inputs: Int { units > 0 ? units : r }
        var aCount: Int { bits * inputs }
        var vCount: Int { units * r }
    }

    /// The batch buffers and parameters of one step, shared by the chunk threads (each
    /// writes only its own rows).
    struct StepPointers: Sendable {
        let zb: SharedMutablePointer<Float>, g: SharedMutablePointer<Float>, u: SharedMutablePointer<Float>
        let du: SharedMutablePointer<Float>, dg: SharedMutablePointer<Float>
        let v: SharedPointer<Float>, c: SharedPointer<Float>, a: SharedPointer<Float>
    }

    /// Runs `body` with pointers to the step's buffers.
    private static func withPointers(_ zb: inout [Float], _ g: inout [Float], _ u: inout [Float], _ du: inout [Float],
                                     _ dg: inout [Float], _ v: [Float], _ c: [Float], _ a: [Float],
                                     _ body: (StepPointers) -> Void) {
        zb.withUnsafeMutableBufferPointer { zb in g.withUnsafeMutableBufferPointer { g in u.withUnsafeMutableBufferPointer { u in
            du.withUnsafeMutableBufferPointer { du in dg.withUnsafeMutableBufferPointer { dg in
                v.withUnsafeBufferPointer { v in c.withUnsafeBufferPointer { c in a.withUnsafeBufferPointer { a in
                    // (Empty parameter arrays of a linear head still need an address.)
                    let one = UnsafeMutablePointer<Float>.allocate(capacity: 1)
                    defer { one.deallocate() }
                    body(StepPointers(zb: SharedMutablePointer(zb.baseAddress!), g: SharedMutablePointer(g.baseAddress!),
                                      u: SharedMutablePointer(u.baseAddress!), du: SharedMutablePointer(du.baseAddress!),
                                      dg: SharedMutablePointer(dg.baseAddress!), v: SharedPointer(v.baseAddress ?? UnsafePointer(one)),
                                      c: SharedPointer(c.baseAddress ?? UnsafePointer(one)), a: SharedPointer(a.baseAddress!)))
                } } }
            } }
        } } }
    }

    /// The `headChunks` row ranges of a batch of `rows` rows.
    static func chunkRanges(rows: Int) -> [Range<Int>] {
        (0..<headChunks).map { k in (rows * k / headChunks)..<(rows * (k + 1) / headChunks) }
    }

    /// Runs `body` with the number and rows of every chunk of a batch of `rows` rows, on all
    /// cores.
    static func parallelChunks(rows: Int, _ body: @Sendable (_ chunk: Int, _ rows: Range<Int>) -> Void) {
        let ranges = chunkRanges(rows: rows)
        DispatchQueue.concurrentPerform(iterations: ranges.count) { body($0, ranges[$0]) }
    }

    /// `total = Σ_k parts[k]`, over the `headChunks` equal parts of `parts`, in order.
    static func sumChunks(_ parts: [Float], into total: inout [Float]) {
        let n = total.count
        parts.withUnsafeBufferPointer { p in
            total.withUnsafeMutableBufferPointer { t in
                for i in 0..<n { t[i] = p[i] }
                for k in 1..<headChunks { for i in 0..<n { t[i] += p[k * n + i] } }
            }
        }
    }

    /// The forward pass of rows `rows`: g = relu(Z Vᵀ + c), u = tanh(g Aᵀ) (or tanh(Z Aᵀ)),
    /// du = 0.
    static func forward(_ p: StepPointers, rows: Range<Int>, shape s: Shape) {
        let n = rows.count
        guard n > 0 else { return }
        let z = p.zb.base + rows.lowerBound * s.r, u = p.u.base + rows.lowerBound * s.bits
        if s.units > 0 {
            let g = p.g.base + rows.lowerBound * s.units
            LinearAlgebra.multiplyF(z, p.v.base, into: g, m: n, k: s.r, n: s.units, transposeB: true)
            for i in 0..<n {
                let row = g + i * s.units
                for k in 0..<s.units { row[k] = max(0, row[k] + p.c.base[k]) }
            }
            LinearAlgebra.multiplyF(g, p.a.base, into: u, m: n, k: s.units, n: s.bits, transposeB: true)
        } else {
            LinearAlgebra.multiplyF(z, p.a.base, into: u, m: n, k: s.r, n: s.bits, transposeB: true)
        }
        let du = p.du.base + rows.lowerBound * s.bits
        for i in 0..<(n * s.bits) { u[i] = tanhf(u[i]); du[i] = 0 }
    }

    /// The backward pass of rows `rows`, their gradients written to `gradA`, `gradV`, `gradC`.
    static func backward(_ p: StepPointers, rows: Range<Int>, shape s: Shape, gradA: UnsafeMutablePointer<Float>,
                         gradV: UnsafeMutablePointer<Float>, gradC: UnsafeMutablePointer<Float>) {
        let n = rows.count
        guard n > 0 else {
            gradA.update(repeating: 0, count: s.aCount)
            gradV.update(repeating: 0, count: s.vCount)
            gradC.update(repeating: 0, count: s.units)
            return
        }
        let z = p.zb.base + rows.lowerBound * s.r, u = p.u.base + rows.lowerBound * s.bits
        let du = p.du.base + rows.lowerBound * s.bits
        for i in 0..<(n * s.bits) { du[i] *= 1 - u[i] * u[i] }
        guard s.units > 0 else {
            LinearAlgebra.multiplyF(du, z, into: gradA, m: s.bits, k: n, n: s.r, transposeA: true)
            return
        }
        let g = p.g.base + rows.lowerBound * s.units, dg = p.dg.base + rows.lowerBound * s.units
        LinearAlgebra.multiplyF(du, g, into: gradA, m: s.bits, k: n, n: s.units, transposeA: true)
        LinearAlgebra.multiplyF(du, p.a.base, into: dg, m: n, k: s.bits, n: s.units)
        gradC.update(repeating: 0, count: s.units)
        for i in 0..<n {
            let grow = g + i * s.units, drow = dg + i * s.units
            for k in 0..<s.units {
                let kept = grow[k] > 0 ? drow[k] : 0
                drow[k] = kept
                gradC[k] += kept
            }
        }
        LinearAlgebra.multiplyF(dg, z, into: gradV, m: s.units, k: n, n: s.r, transposeA: true)
    }

    /// The head in input coordinates: `V P` and `c` with `A`, or `A P`.
    private static func assemble(v: [Float], c: [Float], a: [Float], basis: [Float], r: Int, d: Int, bits: Int,
                                 units: Int) -> Head {
        if units > 0 {
            var first = [Float](repeating: 0, count: units * d)
            LinearAlgebra.multiplyF(v, basis, into: &first, m: units, k: r, n: d)
            return Head(hidden: HiddenLayer(weights: first, bias: c), projection: a)
        }
        var projection = [Float](repeating: 0, count: bits * d)
        LinearAlgebra.multiplyF(a, basis, into: &projection, m: bits, k: r, n: d)
        return Head(hidden: nil, projection: projection)
    }
}
