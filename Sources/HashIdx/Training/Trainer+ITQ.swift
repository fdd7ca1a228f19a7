extension Trainer {
    /// Rows of `V` whose sign products are summed in `Float` before joining the `Double` total.
    static let itqChunk = 4096

    /// The ITQ rotation `R` (`m × m`, row-major) for the centred rows of `x` projected on
    /// the `m` rows of `basis` (`m × d`): minimises `‖sign(V R) − V R‖` with `V = X basisᵀ`.
    ///
    /// Each iteration fixes the codes `B = sign(V R)` and solves the orthogonal Procrustes
    /// problem `R = polar(Vᵀ B)`; both products are single-precision BLAS, `Vᵀ B` summed in
    /// `Double` over blocks of ``itqChunk`` rows.
    static func itq(x: [Float], rows: Int, d: Int, basis: [Double], m: Int, iterations: Int,
                    rng: inout SplitMix64) -> [Double] {
        // V = X basisᵀ (rows × m).
        let basisF = basis.map { Float($0) }
        var v = [Float](repeating: 0, count: rows * m)
        x.withUnsafeBufferPointer { xb in
            basisF.withUnsafeBufferPointer { bb in
                v.withUnsafeMutableBufferPointer { vb in
                    LinearAlgebra.multiplyF(xb.baseAddress!, bb.baseAddress!, into: vb.baseAddress!,
                                            m: rows, k: d, n: m, transposeB: true)
                }
            }
        }
        var r = LinearAlgebra.randomOrthogonal(n: m, using: &rng)
        if iterations == 0 { return r }
        var rF = [Float](repeating: 0, count: m * m)
        var b = [Float](repeating: 0, count: rows * m)
        var block = [Float](repeating: 0, count: m * m)
        for _ in 0..<iterations {
            for i in 0..<(m * m) { rF[i] = Float(r[i]) }
            var acc = [Double](repeating: 0, count: m * m)
            v.withUnsafeBufferPointer { vb in
                b.withUnsafeMutableBufferPointer { bb in
                    // B = sign(V R).
                    rF.withUnsafeBufferPointer { rb in
                        LinearAlgebra.multiplyF(vb.baseAddress!, rb.baseAddress!, into: bb.baseAddress!, m: rows, k: m, n: m)
                    }
                    for i in 0..<(rows * m) { bb[i] = bb[i] >= 0 ? 1 : -1 }
                    // acc = Bᵀ V, block by block.
                    block.withUnsafeMutableBufferPointer { kb in
                        var lo = 0
                        while lo < rows {
                            let n = min(itqChunk, rows - lo)
                            LinearAlgebra.multiplyF(bb.baseAddress! + lo * m, vb.baseAddress! + lo * m, into: kb.baseAddress!,
                                                    m: m, k: n, n: m, transposeA: true)
                            for i in 0..<(m * m) { acc[i] += Double(kb[i]) }
                            lo += n
                        }
                    }
                }
            }
            // acc = Bᵀ V (m × m). Procrustes: R = argmax tr(Rᵀ Vᵀ B) = polar factor of Vᵀ B.
            r = LinearAlgebra.nearestOrthogonal(LinearAlgebra.transpose(acc, r: m, c: m), n: m)
        }
        return r
    }
}
