import CHashIdxKernels

/// The low-level building blocks of a search, exposed for benchmarks and for callers who
/// assemble their own pipelines. ``Index`` uses exactly these (the C kernels of the
/// `CHashIdxKernels` target, chosen at run time by CPU).
public enum Kernels {
    /// An implementation of the Hamming scan. Every kernel gives identical results.
    public enum HammingKernel: Int32, CaseIterable, Sendable, CustomStringConvertible {
        /// Bit counting in plain integer code: any CPU.
        case portable = 1
        /// The POPCNT instruction (x86-64), or the compiler's popcount elsewhere.
        case popcnt = 2
        /// AVX-512F with VPOPCNTDQ.
        case avx512 = 3
        /// AVX2 with a nibble look-up table (codes of 256, 512, … bits; others use POPCNT).
        case avx2 = 4

        /// Whether this CPU can run the kernel.
        public var isAvailable: Bool { hidx_kernel_available(rawValue) != 0 }

        /// The fastest kernel this CPU can run (what searches use).
        public static var best: HammingKernel { HammingKernel(rawValue: hidx_kernel_best()) ?? .portable }

        /// The kernel's name, as benchmarks print it.
        public var description: String { String(cString: hidx_kernel_name(rawValue)) }
    }

    /// Hamming distances between `query` (`words` words) and `count` codes stored back to back
    /// at `codes`, written to `distances`. An unavailable kernel falls back to the best one.
    public static func hammingDistances(codes: UnsafePointer<UInt64>, count: Int, words: Int,
                                        query: UnsafePointer<UInt64>, into distances: UnsafeMutablePointer<UInt16>,
                                        kernel: HammingKernel = .best) {
        hidx_hamming_distances(kernel.rawValue, codes, count, words, query, distances)
    }

    /// Indices (ascending) of the `want` smallest of `distances` (each ≤ `maxDistance`),
    /// ties broken by lower index: one histogram pass and one collecting pass, no heap.
    public static func smallest(_ distances: [UInt16], want: Int, maxDistance: Int) -> [Int] {
        var histogram = [UInt32](repeating: 0, count: maxDistance + 1)
        return Selection.selectSmallest(distances, count: distances.count, want: want, maxValue: maxDistance, histogram: &histogram)
    }

    /// `bytes` as one LZ4 block. With `onlyIfSmaller` (the default), `nil` when LZ4 would not
    /// make it smaller.
    public static func lz4Compress(_ bytes: [UInt8], onlyIfSmaller: Bool = true) -> [UInt8]? {
        if let c = bytes.withUnsafeBytes({ LZ4.compress($0) }) { return c }
        return onlyIfSmaller || bytes.isEmpty ? nil : LZ4.compressAlways(bytes)
    }

    /// Decodes one LZ4 block into `destination`, which must be exactly the original size.
    /// Returns `false` for malformed input; never reads or writes out of bounds.
    public static func lz4Decompress(_ block: [UInt8], into destination: inout [UInt8]) -> Bool {
        block.withUnsafeBytes { s in destination.withUnsafeMutableBytes { LZ4.decompress(s, into: $0) } }
    }

    /// The dot product of `count` floats at `a` and `b` (SIMD).
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        Vectors.dot(a, b, count: count)
    }

    /// CRC-32C (Castagnoli) of `bytes`, hardware-accelerated where the CPU allows.
    public static func crc32c(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        HashIdx.crc32c(bytes)
    }
}
