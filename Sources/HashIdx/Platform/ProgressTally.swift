/// Work counted on many threads, reported as running totals that only grow: each `add`
/// reports the new total under a lock, so the callback hears the totals in order and the
/// last report is the full count (an atomic counter would let a thread that added earlier
/// report its smaller total last).
final class ProgressTally: Sendable {
    private let done = Locked<Int>(0)
    private let report: @Sendable (Int) -> Void

    init(_ report: @escaping @Sendable (Int) -> Void) { self.report = report }

    /// Adds `count` finished units and reports the total.
    func add(_ count: Int) {
        done.withLock { total in
            total += count
            report(total)
        }
    }
}
