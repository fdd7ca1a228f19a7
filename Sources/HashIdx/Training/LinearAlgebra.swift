import COpenBLAS

/// Dense linear algebra for training, on BLAS and LAPACK (OpenBLAS): symmetric eigendecomposition, products, the polar factor, and the two big
/// products of training (covariance, ``multiplyF(_:_:m:k:n:transposeA:transposeB:)``).
/// Matrices are row-major.
///
/// Results are deterministic for a given input, BLAS library and CPU family: OpenBLAS picks
/// its kernels by CPU at run time, so another CPU may round differently (and so train a
/// slightly different model); its threads split the outputs, never a sum, so the thread
/// count does not change a result.
enum LinearAlgebra {
    /// Eigenvalues and eigenvectors of the symmetric `n × n` matrix `a` (LAPACK `dsyevd`).
    ///
    /// Returns eigenvalues in descending order and the eigenvectors as the *rows* of
    /// `vectors` (row `i` belongs to `values[i]`). Deterministic for a given input.
    static func symmetricEigen(_ a: [Double], n: Int) -> (values: [Double], vectors: [Double]) {
        // Column-major and row-major views of a symmetric matrix are the same; LAPACK leaves
        // eigenvector j in column j, which is row j of the row-major view.
        var m = a
        var w = [Double](repeating: 0, count: n)
        var size = Int32(n), lwork: Int32 = -1, liwork: Int32 = -1, info: Int32 = 0
        var workSize = 0.0
        var iworkSize: Int32 = 0
        dsyevd_("V", "U", &size, &m, &size, &w, &workSize, &lwork, &iworkSize, &liwork, &info, 1, 1)
        lwork = Int32(workSize)
        liwork = iworkSize
        var work = [Double](repeating: 0, count: Int(lwork))
        var iwork = [Int32](repeating: 0, count: Int(liwork))
        dsyevd_("V", "U", &size, &m, &size, &w, &work, &lwork, &iwork, &liwork, &info, 1, 1)
        precondition(info == 0, "dsyevd failed: \(info)")
        // Ascending from LAPACK: reverse into descending rows.
        var values = [Double](repeating: 0, count: n)
        var vectors = [Double](repeating: 0, count: n * n)
        for r in 0..<n {
            let i = n - 1 - r
            values[r] = w[i]
            for k in 0..<n { vectors[r * n + k] = m[i * n + k] }
        }
        return (values, vectors)
    }

    /// `a (r × k) · b (k × c)`, in `Double`.
    static func multiply(_ a: [Double], _ b: [Double], r: Int, k: Int, c: Int) -> [Double] {
        var out = [Double](repeating: 0, count: r * c)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(r), Int32(c), Int32(k),
                    1, a, Int32(k), b, Int32(c), 0, &out, Int32(c))
        return out
    }

    /// `op(a) · op(b)` in `Float`, written to `out` (`m × n`): `op(a)` is `m × k` (`a` stored
    /// `k × m` when `transposeA`), `op(b)` is `k × n` (`b` stored `n × k` when `transposeB`).
    /// With `accumulate`, the product is added to what `out` holds.
    static func multiplyF(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                          m: Int, k: Int, n: Int, transposeA: Bool = false, transposeB: Bool = false, accumulate: Bool = false) {
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1, a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n),
                    accumulate ? 1 : 0, out, Int32(n))
    }

    /// ``multiplyF(_:_:into:m:k:n:transposeA:transposeB:)`` on arrays.
    static func multiplyF(_ a: [Float], _ b: [Float], into out: inout [Float],
                          m: Int, k: Int, n: Int, transposeA: Bool = false, transposeB: Bool = false) {
        a.withUnsafeBufferPointer { ab in
            b.withUnsafeBufferPointer { bb in
                out.withUnsafeMutableBufferPointer { ob in
                    multiplyF(ab.baseAddress!, bb.baseAddress!, into: ob.baseAddress!, m: m, k: k, n: n,
                              transposeA: transposeA, transposeB: transposeB)
                }
            }
        }
    }

    /// OpenBLAS's thread count for the products that follow (process-wide). The supervised
    /// head sets it to 1 while its own threads each multiply one chunk of a batch: its
    /// products are too small for OpenBLAS's threads to pay.
    static var blasThreads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }

    /// `xᵀx` of the `rows × d` matrix `x` (`d × d`, full), summed in `Double` over blocks of
    /// 4,096 rows whose products are computed in `Float` (single-precision BLAS).
    static func gram(_ x: [Float], rows: Int, d: Int) -> [Double] {
        var sum = [Double](repeating: 0, count: d * d)
        var block = [Float](repeating: 0, count: d * d)
        let chunk = 4096
        x.withUnsafeBufferPointer { xb in
            var lo = 0
            while lo < rows {
                let n = min(chunk, rows - lo)
                cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(n), 1,
                            xb.baseAddress! + lo * d, Int32(d), 0, &block, Int32(d))
                for a in 0..<d { for b in a..<d { sum[a * d + b] += Double(block[a * d + b]) } }
                lo += n
            }
        }
        for a in 0..<d { for b in 0..<a { sum[a * d + b] = sum[b * d + a] } }
        return sum
    }

    /// The transpose of the `r × c` matrix `a`.
    static func transpose(_ a: [Double], r: Int, c: Int) -> [Double] {
        var out = [Double](repeating: 0, count: r * c)
        for i in 0..<r { for j in 0..<c { out[j * r + i] = a[i * c + j] } }
        return out
    }

    /// The orthogonal factor of the polar decomposition of the square matrix `m` (`n × n`):
    /// the orthogonal `Q` nearest to `m`, `Q = U Wᵀ` where `m = U Σ Wᵀ` (LAPACK `dgesdd`).
    /// Orthogonal even when `m` is singular.
    static func nearestOrthogonal(_ m: [Double], n: Int) -> [Double] {
        // LAPACK reads the row-major `m` as its transpose mᵀ = W Σ Uᵀ, returning W and Uᵀ
        // (column-major). Their column-major product W Uᵀ = (U Wᵀ)ᵀ, read row-major, is U Wᵀ.
        var a = m
        var s = [Double](repeating: 0, count: n)
        var u = [Double](repeating: 0, count: n * n)
        var vt = [Double](repeating: 0, count: n * n)
        var size = Int32(n), lwork: Int32 = -1, info: Int32 = 0
        var workSize = 0.0
        var iwork = [Int32](repeating: 0, count: 8 * n)
        dgesdd_("A", &size, &size, &a, &size, &s, &u, &size, &vt, &size, &workSize, &lwork, &iwork, &info, 1)
        lwork = Int32(workSize)
        var work = [Double](repeating: 0, count: Int(lwork))
        dgesdd_("A", &size, &size, &a, &size, &s, &u, &size, &vt, &size, &work, &lwork, &iwork, &info, 1)
        precondition(info == 0, "dgesdd failed: \(info)")
        var q = [Double](repeating: 0, count: n * n)
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, size, size, size, 1, u, size, vt, size, 0, &q, size)
        return q
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
