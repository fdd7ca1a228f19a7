import CHashIdxKernels

/// The C kernels a query runs (the `CHashIdxKernels` target, each fast path chosen at run
/// time by CPU), exposed for benchmarks and for callers who assemble their own pipelines.
///
/// This is the search layer's one door to the kernels: ``Index``'s queries call them through
/// these functions and no other way, so what is measured here is what a query runs. In the
/// order of a query:
///
/// 1. the Hamming scan of the probed partitions into a histogram
///    (``hammingHistogramSegments(codes:starts:counts:segments:words:query:into:histogram:kernel:)``,
///    with a filter ``hammingHistogramSegments(codes:starts:counts:segments:words:query:keeping:from:into:histogram:kernel:)``),
///    or of listed positions (``hammingHistogramPositions(codes:positions:count:words:query:into:histogram:)``);
/// 2. with a filter, bitmaps turned into counts and positions (``bitCount(_:in:)``,
///    ``bitPositions(_:in:into:)``), numeric attributes compared by
///    ``numbersInRange(_:count:lo:hi:loStrict:hiStrict:into:)``;
/// 3. the selection of the smallest distances (``histogram(_:count:into:)``,
///    ``collectBelow(_:count:threshold:atThreshold:into:)``; ``smallest(_:want:maxDistance:)``
///    is the two together);
/// 4. the asymmetric shortlist (``planeScores(codes:count:words:positive:negative:planes:into:)``,
///    then ``selectLargest(_:count:keep:into:)``);
/// 5. the exact re-rank's dot products (``dot(_:_:count:)`` on float32 vectors,
///    ``dot(_:halves:count:)`` on float16 ones).
///
/// (The centroid scores that pick the partitions, and the numeric comparison of a filter,
/// run in the layers below search, `CentroidScorer` and the attribute columns, on the same
/// C functions.)
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

        /// The fastest kernel this CPU can run for 256-bit codes.
        public static var best: HammingKernel { HammingKernel(rawValue: hidx_kernel_best()) ?? .portable }

        /// The kernel's name, as benchmarks print it.
        public var description: String { String(cString: hidx_kernel_name(rawValue)) }
    }

    /// The kernel a scan runs: `kernel`, or with `nil` the fastest for the code length (what
    /// searches use).
    @inline(__always)
    private static func id(_ kernel: HammingKernel?) -> Int32 { kernel?.rawValue ?? Int32(HIDX_KERNEL_AUTO) }

    // MARK: Hamming scans

    /// Hamming distances between `query` (`words` words) and `count` codes stored back to back
    /// at `codes`, written to `distances`. An unavailable kernel falls back to the best one.
    public static func hammingDistances(codes: UnsafePointer<UInt64>, count: Int, words: Int,
                                        query: UnsafePointer<UInt64>, into distances: UnsafeMutablePointer<UInt16>,
                                        kernel: HammingKernel = .best) {
        hidx_hamming_distances(kernel.rawValue, codes, count, words, query, distances)
    }

    /// The scan of a query's probed partitions: the Hamming distances between `query` and the
    /// codes of `segments` ranges of one array of codes (range `s` is the `counts[s]` codes
    /// from code number `starts[s]`), written one range after the other to `distances` and
    /// each added to `histogram` (at least `words × 64 + 1` counters). `kernel`: `nil` for
    /// the fastest for the code length.
    @inline(__always)
    public static func hammingHistogramSegments(codes: UnsafePointer<UInt64>, starts: UnsafePointer<Int>,
                                                counts: UnsafePointer<Int>, segments: Int, words: Int,
                                                query: UnsafePointer<UInt64>, into distances: UnsafeMutablePointer<UInt16>,
                                                histogram: UnsafeMutablePointer<UInt32>, kernel: HammingKernel? = nil) {
        hidx_hamming_histogram_segments(id(kernel), codes, starts, counts, segments, words, query, distances, histogram)
    }

    /// ``hammingHistogramSegments(codes:starts:counts:segments:words:query:into:histogram:kernel:)``
    /// counting only the rows whose bit in `keep` is set (bit `keepFirst + i` for the `i`-th
    /// row scanned, across the ranges); the others get distance 0xFFFF and stay out of the
    /// histogram. A filtered query's scan of the partitions where matches are dense.
    @inline(__always)
    public static func hammingHistogramSegments(codes: UnsafePointer<UInt64>, starts: UnsafePointer<Int>,
                                                counts: UnsafePointer<Int>, segments: Int, words: Int,
                                                query: UnsafePointer<UInt64>, keeping keep: UnsafePointer<UInt64>,
                                                from keepFirst: Int, into distances: UnsafeMutablePointer<UInt16>,
                                                histogram: UnsafeMutablePointer<UInt32>, kernel: HammingKernel? = nil) {
        hidx_hamming_histogram_segments_kept(id(kernel), codes, starts, counts, segments, words, query, keep, keepFirst,
                                             distances, histogram)
    }

    /// ``hammingHistogramSegments(codes:starts:counts:segments:words:query:into:histogram:kernel:)``
    /// leaving out the codes whose number is set in the bitmap `dropped` (bit `p % 64` of word
    /// `p / 64` is code `p`: a shard's deleted rows): they get distance 0xFFFF and stay out of
    /// the histogram. Returns how many it left out.
    @inline(__always)
    public static func hammingHistogramSegments(codes: UnsafePointer<UInt64>, starts: UnsafePointer<Int>,
                                                counts: UnsafePointer<Int>, segments: Int, words: Int,
                                                query: UnsafePointer<UInt64>, dropping dropped: UnsafePointer<UInt64>,
                                                into distances: UnsafeMutablePointer<UInt16>,
                                                histogram: UnsafeMutablePointer<UInt32>, kernel: HammingKernel? = nil) -> Int {
        hidx_hamming_histogram_segments_dropping(id(kernel), codes, starts, counts, segments, words, query, dropped,
                                                 distances, histogram)
    }

    /// The gather of a filtered query's matching rows: the Hamming distance between `query`
    /// and the code at each of `count` listed `positions` of `codes` (`words` words each),
    /// written to `distances` in list order and added to `histogram`.
    @inline(__always)
    public static func hammingHistogramPositions(codes: UnsafePointer<UInt64>, positions: UnsafePointer<UInt32>, count: Int,
                                                 words: Int, query: UnsafePointer<UInt64>,
                                                 into distances: UnsafeMutablePointer<UInt16>,
                                                 histogram: UnsafeMutablePointer<UInt32>) {
        hidx_hamming_histogram_positions(codes, positions, count, words, query, distances, histogram)
    }

    // MARK: Bitmaps

    /// The set bits of the bitmap `bits` (bit `p % 64` of word `p / 64` is position `p`) among
    /// the positions `range`.
    @inline(__always)
    public static func bitCount(_ bits: UnsafePointer<UInt64>, in range: Range<Int>) -> Int {
        hidx_bits_count(bits, range.lowerBound, range.upperBound)
    }

    /// Writes the set positions of `bits` in `range`, ascending, to `positions` (room for
    /// ``bitCount(_:in:)`` of them); returns how many.
    @discardableResult
    @inline(__always)
    public static func bitPositions(_ bits: UnsafePointer<UInt64>, in range: Range<Int>,
                                    into positions: UnsafeMutablePointer<UInt32>) -> Int {
        hidx_bits_positions(bits, range.lowerBound, range.upperBound, positions)
    }

    /// The bitmap of `values` in `lo…hi` (`<` instead of `≤` on a side that is strict): bit
    /// `i` of `bits` (`⌈count / 64⌉` words, bits past `count` zero) is set when `values[i]`
    /// lies in it. What a numeric attribute column runs for a filter's comparison.
    public static func numbersInRange(_ values: UnsafePointer<Double>, count: Int, lo: Double, hi: Double,
                                      loStrict: Bool, hiStrict: Bool, into bits: UnsafeMutablePointer<UInt64>) {
        hidx_bits_f64_range(values, count, lo, hi, loStrict ? 1 : 0, hiStrict ? 1 : 0, bits)
    }

    // MARK: Selection

    /// Adds one to `histogram[v]` for each of the `count` `values` (the histogram has room
    /// for the largest).
    @inline(__always)
    public static func histogram(_ values: UnsafePointer<UInt16>, count: Int, into histogram: UnsafeMutablePointer<UInt32>) {
        hidx_histogram_u16(values, count, histogram)
    }

    /// Writes to `indices`, ascending, the index of every one of the `count` `values` below
    /// `threshold` and of the first `atThreshold` equal to it; returns how many.
    @discardableResult
    @inline(__always)
    public static func collectBelow(_ values: UnsafePointer<UInt16>, count: Int, threshold: UInt16, atThreshold: Int,
                                    into indices: UnsafeMutablePointer<UInt32>) -> Int {
        hidx_collect_below(values, count, threshold, atThreshold, indices)
    }

    /// Indices (ascending) of the `want` smallest of `distances` (each ≤ `maxDistance`),
    /// ties broken by lower index: one histogram pass and one collecting pass, no heap.
    public static func smallest(_ distances: [UInt16], want: Int, maxDistance: Int) -> [Int] {
        var histogram = [UInt32](repeating: 0, count: maxDistance + 1)
        return Selection.selectSmallest(distances, count: distances.count, want: want, maxValue: maxDistance, histogram: &histogram)
    }

    /// Writes to `indices`, ascending, the indices of the `keep` largest of the `count`
    /// `values` (ties at the cut: the lower indices; −0.0 ranks below +0.0), by a radix
    /// select on the floats' bits; returns how many (`min(keep, count)`).
    @discardableResult
    @inline(__always)
    public static func selectLargest(_ values: UnsafePointer<Float>, count: Int, keep: Int,
                                     into indices: UnsafeMutablePointer<UInt32>) -> Int {
        hidx_select_largest_f32(values, count, keep, indices)
    }

    // MARK: Shortlist and re-rank

    /// Bit planes per query margin in a search's asymmetric shortlist.
    public static var shortlistPlanes: Int { BitPlanes.planeCount }

    /// The asymmetric scores of `count` codes stored back to back at `codes` (`words` words
    /// each) against a query given as `planes` bit planes of its positive and negative
    /// margins (`planes × words` words each): `Σₖ 2ᵏ (popcount(positiveₖ & code) −
    /// popcount(negativeₖ & code))`, higher is more similar, written to `scores`.
    @inline(__always)
    public static func planeScores(codes: UnsafePointer<UInt64>, count: Int, words: Int, positive: UnsafePointer<UInt64>,
                                   negative: UnsafePointer<UInt64>, planes: Int, into scores: UnsafeMutablePointer<Int32>) {
        hidx_plane_scores(codes, count, words, positive, negative, Int32(planes), scores)
    }

    /// The dot product of `count` floats at `a` and `b` (SIMD): the re-rank of float32 vectors.
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        Vectors.dot(a, b, count: count)
    }

    /// The dot product of `count` floats at `a` with `count` IEEE half-precision values at
    /// `halves`, each widened exactly, in single precision (F16C, AVX2 and FMA where the CPU
    /// has them): the re-rank of float16 vectors.
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, halves: UnsafePointer<UInt16>, count: Int) -> Float {
        hidx_dot_f16(a, halves, count)
    }

    // MARK: Storage

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

    /// CRC-32C (Castagnoli) of `bytes`, hardware-accelerated where the CPU allows.
    public static func crc32c(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        HashIdx.crc32c(bytes)
    }
}

// MARK: On a shard's views

/// The kernels on storage's typed views: the only place outside `Storage/` that opens them
/// (`ArchitectureTests`).
extension Kernels {
    /// ``hammingHistogramSegments(codes:starts:counts:segments:words:query:into:histogram:kernel:)``
    /// on a shard's codes, counting only the rows set in `keep` when given (from bit
    /// `keepFirst`), else only the rows `deletions` does not hold. Returns the rows left out.
    @inline(__always)
    static func hammingHistogramSegments(_ codes: ShardCodes, starts: UnsafePointer<Int>, counts: UnsafePointer<Int>,
                                         segments: Int, query: UnsafePointer<UInt64>, keeping keep: UnsafePointer<UInt64>?,
                                         from keepFirst: Int, dropping deletions: Deletions?,
                                         into distances: UnsafeMutablePointer<UInt16>,
                                         histogram: UnsafeMutablePointer<UInt32>) -> Int {
        codes.withUnsafeStoredWords { c in
            if let keep {
                hammingHistogramSegments(codes: c, starts: starts, counts: counts, segments: segments, words: codes.words,
                                         query: query, keeping: keep, from: keepFirst, into: distances, histogram: histogram)
                return 0   // (the caller counts what `keep` leaves out)
            } else if let deletions, deletions.count > 0 {
                return deletions.withUnsafeWords { d in
                    hammingHistogramSegments(codes: c, starts: starts, counts: counts, segments: segments,
                                             words: codes.words, query: query, dropping: d, into: distances,
                                             histogram: histogram)
                }
            } else {
                hammingHistogramSegments(codes: c, starts: starts, counts: counts, segments: segments, words: codes.words,
                                         query: query, into: distances, histogram: histogram)
                return 0
            }
        }
    }

    /// ``hammingHistogramSegments(codes:starts:counts:segments:words:query:into:histogram:kernel:)``
    /// on a partition arena's codes, leaving out the positions set in `dropped` when given.
    /// Returns the rows left out.
    @inline(__always)
    static func hammingHistogramSegments(_ arena: PartitionArena, starts: UnsafePointer<Int>, counts: UnsafePointer<Int>,
                                         segments: Int, query: UnsafePointer<UInt64>, dropping dropped: [UInt64]?,
                                         into distances: UnsafeMutablePointer<UInt16>,
                                         histogram: UnsafeMutablePointer<UInt32>) -> Int {
        arena.withUnsafeCodes { c in
            if let dropped {
                return dropped.withUnsafeBufferPointer { d in
                    hammingHistogramSegments(codes: c, starts: starts, counts: counts, segments: segments,
                                             words: arena.words, query: query, dropping: d.baseAddress!,
                                             into: distances, histogram: histogram)
                }
            }
            hammingHistogramSegments(codes: c, starts: starts, counts: counts, segments: segments, words: arena.words,
                                     query: query, into: distances, histogram: histogram)
            return 0
        }
    }

    /// ``hammingHistogramPositions(codes:positions:count:words:query:into:histogram:)`` on a
    /// shard's codes.
    @inline(__always)
    static func hammingHistogramPositions(_ codes: ShardCodes, positions: UnsafePointer<UInt32>, count: Int,
                                          query: UnsafePointer<UInt64>, into distances: UnsafeMutablePointer<UInt16>,
                                          histogram: UnsafeMutablePointer<UInt32>) {
        codes.withUnsafeStoredWords { c in
            hammingHistogramPositions(codes: c, positions: positions, count: count, words: codes.words, query: query,
                                      into: distances, histogram: histogram)
        }
    }

    /// The dot product of the query `q` with a stored vector (float16 elements widened
    /// exactly, then multiplied in float32).
    @inline(__always)
    static func dot(_ q: UnsafePointer<Float>, _ v: StoredVector) -> Float {
        v.withUnsafeStoredBytes { start in
            switch v.type {
            case .float32: dot(q, start.assumingMemoryBound(to: Float.self), count: v.dimension)
            case .float16: dot(q, halves: start.assumingMemoryBound(to: UInt16.self), count: v.dimension)
            }
        }
    }
}
