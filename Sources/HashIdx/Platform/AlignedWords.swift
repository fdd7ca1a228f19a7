#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed number of 64-bit words in memory of its own, 64-byte aligned (a 512-bit load of
/// two 256-bit codes stays in one cache line), on 2 MiB boundaries with transparent huge
/// pages asked for when it is large (a scan that jumps between partitions then misses the
/// TLB less). Written once by its initialiser, read-only after: `Sendable`.
final class AlignedWords: @unchecked Sendable {
    /// Its words.
    let count: Int
    private let base: UnsafeMutablePointer<UInt64>

    /// `count` words, filled by `fill` (which must write all of them).
    init(count: Int, fill: (UnsafeMutablePointer<UInt64>) -> Void) {
        self.count = count
        let bytes = max(1, count) * 8
        let huge = 2 << 20
        let alignment = bytes >= 2 * huge ? huge : 64
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: alignment)
        #if os(Linux)
        if alignment == huge { _ = madvise(raw, bytes / huge * huge, Int32(MADV_HUGEPAGE)) }
        #endif
        base = raw.bindMemory(to: UInt64.self, capacity: max(1, count))
        fill(base)
    }

    deinit { UnsafeMutableRawPointer(base).deallocate() }

    /// The first word.
    @inline(__always)
    var pointer: UnsafePointer<UInt64> { UnsafePointer(base) }
}
