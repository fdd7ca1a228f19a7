import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The machine's cores and a monotonic clock.
package enum System {
    /// The number of online cores (at least 1): the default thread count everywhere.
    package static var processorCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Seconds on a monotonic clock.
    package static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

/// A read-only pointer shared by worker threads that only read through it while its owner
/// keeps the memory alive.
struct SharedPointer<T>: @unchecked Sendable {
    let base: UnsafePointer<T>
    init(_ base: UnsafePointer<T>) { self.base = base }
}

/// A pointer that worker threads write through at disjoint indices.
struct SharedMutablePointer<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T>
    init(_ base: UnsafeMutablePointer<T>) { self.base = base }
}

/// The error of the lowest-numbered item that failed, among items processed on several
/// threads in any order: what a single-threaded loop would have thrown first.
final class FirstError: Sendable {
    private let first = Locked<(item: Int, error: HashIdxError)?>(nil)

    init() {}

    /// Records that item `item` failed with `error`.
    func record(_ error: HashIdxError, at item: Int) {
        first.withLock { if $0 == nil || $0!.item > item { $0 = (item, error) } }
    }

    /// Throws the recorded error, if any.
    func throwIfAny() throws(HashIdxError) {
        if let (_, error) = first.withLock({ $0 }) { throw error }
    }
}
