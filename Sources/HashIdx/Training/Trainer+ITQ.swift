extension Trainer {
    /// The ITQ rotation `R` (`m × m`, row-major) for the centred rows of `x` projected on
    /// the `m` rows of `basis` (`m × d`): minimises `‖sign(V R) − V R‖` with `V = X basisᵀ`.
    static func itq(x: [Float], rows: Int, d: Int, basis: [Double], m: Int, iterations: Int,
                    rng: inout SplitMix64) -> [Double] {
        // V = X basisᵀ (rows × m), in Float for speed.
        let basisF = basis.map { Float($0) }
        var v = [Float](repeating: 0, count: rows * m)
        x.withUnsafeBufferPointer { xb in
            basisF.withUnsafeBufferPointer { bb in
                for i in 0..<rows {
                    for j in 0..<m {
                        v[i * m + j] = Vectors.dot(xb.baseAddress! + i * d, bb.baseAddress! + j * d, count: d)
                    }
                }
            }
        }
        var r = LinearAlgebra.randomOrthogonal(n: m, using: &rng)
        if iterations == 0 { return r }
        var rF = [Float](repeating: 0, count: m * m)
        var vr = [Float](repeating: 0, count: m)
        for _ in 0..<iterations {
            for i in 0..<(m * m) { rF[i] = Float(r[i]) }
            // M = Bᵀ V with B = sign(V R): accumulate row by row.
            var acc = [Double](repeating: 0, count: m * m)
            var mRows = [Float](repeating: 0, count: m * m)
            v.withUnsafeBufferPointer { vb in
                rF.withUnsafeBufferPointer { rb in
                    mRows.withUnsafeMutableBufferPointer { mb in
                        var chunk = 0
                        for i in 0..<rows {
                            let vi = vb.baseAddress! + i * m
                            for j in 0..<m { vr[j] = 0 }
                            for t in 0..<m {
                                let a = vi[t]
                                let rt = rb.baseAddress! + t * m
                                for j in 0..<m { vr[j] += a * rt[j] }
                            }
                            // mRows[j][t] += b_j * v_t
                            for j in 0..<m {
                                let sgn: Float = vr[j] >= 0 ? 1 : -1
                                let mj = mb.baseAddress! + j * m
                                for t in 0..<m { mj[t] += sgn * vi[t] }
                            }
                            chunk += 1
                            if chunk == 1024 {
                                for k in 0..<(m * m) { acc[k] += Double(mb[k]); mb[k] = 0 }
                                chunk = 0
                            }
                        }
                        for k in 0..<(m * m) { acc[k] += Double(mb[k]); mb[k] = 0 }
                    }
                }
            }
            // acc = Bᵀ V (m × m). Procrustes: R = argmax tr(Rᵀ Vᵀ B) = polar factor of Vᵀ B.
            r = LinearAlgebra.nearestOrthogonal(LinearAlgebra.transpose(acc, r: m, c: m), n: m)
        }
        return r
    }
}
