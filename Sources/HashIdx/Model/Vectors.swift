import CHashIdxKernels

/// Vector arithmetic on raw buffers, written so the compiler vectorises it.
enum Vectors {
    /// The dot product of `a` and `b`, `count` floats each.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc = SIMD8<Float>()
        var i = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while i + 8 <= count {
            let va = ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let vb = rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            acc += va * vb
            i += 8
        }
        var s = acc.sum()
        while i < count {
            s += a[i] * b[i]
            i += 1
        }
        return s
    }

    /// Scales `v` to unit length in place and returns its original norm, or throws when
    /// it holds NaN, an infinity or only zeros. `source` and `row` name it in the error.
    ///
    /// With `storingNorm` (a row of the index, whose norm is stored as a 32-bit float), a
    /// vector whose length is beyond a 32-bit float (components near ±3.4e38) or below its
    /// smallest value is refused too; a query's length does not matter to its cosines, so a
    /// query of any finite, non-zero components is scaled (in double precision) and searched.
    static func normalize(_ v: UnsafeMutableBufferPointer<Float>, source: String, row: Int,
                          storingNorm: Bool = true) throws(HashIdxError) -> Float {
        // In double precision, squares of 32-bit floats neither overflow nor vanish.
        var sum: Double = 0
        for x in v {
            guard x.isFinite else { throw .nonFiniteValue(source: source, row: row) }
            sum += Double(x) * Double(x)
        }
        guard sum > 0 else { throw .zeroVector(source: source, row: row) }
        let norm = sum.squareRoot()
        if storingNorm {
            guard Float(norm).isFinite, Float(norm) > 0 else {
                throw .invalidArgument(name: "\(source) row \(row)",
                                       reason: "its length \(norm) is beyond the range of a 32-bit float, in which the index stores it; scale the vector")
            }
        }
        let inv = 1 / norm
        for i in v.indices { v[i] = Float(Double(v[i]) * inv) }
        return Float(norm)
    }

    /// The dot product of the query `q` with a stored vector of `type` at `v`, `count`
    /// elements each (float16 elements are widened exactly, then multiplied in float32).
    @inline(__always)
    static func dot(_ q: UnsafePointer<Float>, stored v: UnsafeRawPointer, type: VectorType, count: Int) -> Float {
        switch type {
        case .float32: return dot(q, v.assumingMemoryBound(to: Float.self), count: count)
        case .float16: return hidx_dot_f16(q, v.assumingMemoryBound(to: UInt16.self), count)
        }
    }
}
