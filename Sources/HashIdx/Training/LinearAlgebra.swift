/// Small dense linear algebra for training: symmetric eigendecomposition, products and
/// orthogonalisation, in `Double`, row-major.
enum LinearAlgebra {
    /// Eigenvalues and eigenvectors of the symmetric `n × n` matrix `a` (cyclic Jacobi).
    ///
    /// Returns eigenvalues in descending order and the eigenvectors as the *rows* of
    /// `vectors` (row `i` belongs to `values[i]`). Deterministic for a given input.
    static func symmetricEigen(_ a: [Double], n: Int) -> (values: [Double], vectors: [Double]) {
        var m = a
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        for _ in 0..<100 {
            var off = 0.0
            var diag = 0.0
            for i in 0..<n {
                diag += m[i * n + i] * m[i * n + i]
                for j in (i + 1)..<max(i + 1, n) { off += m[i * n + j] * m[i * n + j] }
            }
            if off <= 1e-30 * max(diag, 1e-300) { break }
            for p in 0..<n {
                for q in (p + 1)..<max(p + 1, n) {
                    let apq = m[p * n + q]
                    if abs(apq) < 1e-300 { continue }
                    let app = m[p * n + p], aqq = m[q * n + q]
                    let theta = (aqq - app) / (2 * apq)
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot()
                    let s = t * c
                    // Rotate rows/columns p and q of m.
                    for k in 0..<n {
                        let mkp = m[k * n + p], mkq = m[k * n + q]
                        m[k * n + p] = c * mkp - s * mkq
                        m[k * n + q] = s * mkp + c * mkq
                    }
                    for k in 0..<n {
                        let mpk = m[p * n + k], mqk = m[q * n + k]
                        m[p * n + k] = c * mpk - s * mqk
                        m[q * n + k] = s * mpk + c * mqk
                    }
                    // Accumulate eigenvectors as rows of v.
                    for k in 0..<n {
                        let vpk = v[p * n + k], vqk = v[q * n + k]
                        v[p * n + k] = c * vpk - s * vqk
                        v[q * n + k] = s * vpk + c * vqk
                    }
                }
            }
        }
        let order = (0..<n).sorted { m[$0 * n + $0] > m[$1 * n + $1] || (m[$0 * n + $0] == m[$1 * n + $1] && $0 < $1) }
        var values = [Double](repeating: 0, count: n)
        var vectors = [Double](repeating: 0, count: n * n)
        for (r, i) in order.enumerated() {
            values[r] = m[i * n + i]
            for k in 0..<n { vectors[r * n + k] = v[i * n + k] }
        }
        return (values, vectors)
    }

    /// `a (r × k) · b (k × c)`.
    static func multiply(_ a: [Double], _ b: [Double], r: Int, k: Int, c: Int) -> [Double] {
        var out = [Double](repeating: 0, count: r * c)
        for i in 0..<r {
            for t in 0..<k {
                let av = a[i * k + t]
                if av == 0 { continue }
                for j in 0..<c { out[i * c + j] += av * b[t * c + j] }
            }
        }
        return out
    }

    /// The transpose of the `r × c` matrix `a`.
    static func transpose(_ a: [Double], r: Int, c: Int) -> [Double] {
        var out = [Double](repeating: 0, count: r * c)
        for i in 0..<r { for j in 0..<c { out[j * r + i] = a[i * c + j] } }
        return out
    }

    /// The orthogonal factor of the polar decomposition of the square matrix `m` (`n × n`):
    /// the orthogonal `Q` nearest to `m`, `Q = U Wᵀ` where `m = U Σ Wᵀ`.
    ///
    /// Computed from the eigendecomposition `mᵀm = W Σ² Wᵀ` as `Q = m W Σ⁻¹ Wᵀ`; directions
    /// with a vanishing singular value are completed by Gram–Schmidt.
    static func nearestOrthogonal(_ m: [Double], n: Int) -> [Double] {
        let mtm = multiply(transpose(m, r: n, c: n), m, r: n, k: n, c: n)
        let (values, wRows) = symmetricEigen(mtm, n: n)   // rows of wRows are eigenvectors
        let w = transpose(wRows, r: n, c: n)                // columns are eigenvectors
        let mw = multiply(m, w, r: n, k: n, c: n)           // = U Σ
        var u = [Double](repeating: 0, count: n * n)         // columns: left singular vectors
        let top = values.first ?? 0
        for j in 0..<n {
            let sigma = max(values[j], 0).squareRoot()
            if sigma > 1e-9 * max(top, 1e-300).squareRoot() {
                for i in 0..<n { u[i * n + j] = mw[i * n + j] / sigma }
            }
        }
        orthonormalizeColumns(&u, n: n)
        return multiply(u, wRows, r: n, k: n, c: n)
    }

    /// Makes the columns of the `n × n` matrix `a` orthonormal (modified Gram–Schmidt),
    /// replacing zero or dependent columns by unit vectors orthogonal to the others.
    static func orthonormalizeColumns(_ a: inout [Double], n: Int) {
        orthonormalizeColumns(&a, rows: n, columns: n)
    }

    /// Makes the columns of the `rows × columns` matrix `a` (`rows ≥ columns`) orthonormal
    /// (modified Gram–Schmidt, twice), replacing degenerate columns by unit vectors
    /// orthogonal to the others.
    static func orthonormalizeColumns(_ a: inout [Double], rows: Int, columns: Int) {
        let n = rows
        let stride = columns
        var basisIndex = 0
        for j in 0..<columns {
            for attempt in 0...n {
                if attempt > 0 {
                    // Replace a degenerate column with the next standard basis vector.
                    for i in 0..<n { a[i * stride + j] = 0 }
                    a[(basisIndex % n) * stride + j] = 1
                    basisIndex += 1
                }
                for _ in 0..<2 {
                    for p in 0..<j {
                        var dot = 0.0
                        for i in 0..<n { dot += a[i * stride + p] * a[i * stride + j] }
                        for i in 0..<n { a[i * stride + j] -= dot * a[i * stride + p] }
                    }
                }
                var norm = 0.0
                for i in 0..<n { norm += a[i * stride + j] * a[i * stride + j] }
                norm = norm.squareRoot()
                if norm > 1e-6 {
                    for i in 0..<n { a[i * stride + j] /= norm }
                    break
                }
            }
        }
    }

    /// A random `n × n` orthogonal matrix (Gram–Schmidt on Gaussian entries), deterministic
    /// for a given generator state.
    static func randomOrthogonal(n: Int, using rng: inout SplitMix64) -> [Double] {
        var a = (0..<(n * n)).map { _ in rng.nextGaussian() }
        orthonormalizeColumns(&a, n: n)
        return a
    }
}
