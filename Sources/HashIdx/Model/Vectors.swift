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
    static func normalize(_ v: UnsafeMutableBufferPointer<Float>, source: String, row: Int) throws(HashIdxError) -> Float {
        var sum: Double = 0
        for x in v {
            guard x.isFinite else { throw .nonFiniteValue(source: source, row: row) }
            sum += Double(x) * Double(x)
        }
        guard sum > 0 else { throw .zeroVector(source: source, row: row) }
        let norm = sum.squareRoot()
        guard norm.isFinite, Float(norm).isFinite, Float(norm) > 0 else {
            throw .nonFiniteValue(source: source, row: row)
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
