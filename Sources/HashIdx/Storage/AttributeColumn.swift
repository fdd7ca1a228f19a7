import CHashIdxKernels

/// What a filter asks of one attribute column, answered by the column for any range of
/// positions (``AttributeColumns/Column/evaluate(_:range:into:scratch:)``), one position at a
/// time (``AttributeColumns/Column/test(_:position:)``), or estimated from its statistics.
enum ColumnPredicate {
    /// The item has a value (`is null` is its negation).
    case present
    /// A boolean column's value is true.
    case isTrue
    /// A number in `lo…hi` (an end excluded where strict).
    case range(lo: Double, hi: Double, loStrict: Bool, hiStrict: Bool)
    /// A string equal to one of these dictionary codes, or tags holding one of them.
    case anyOf([Int])
}

extension AttributeColumns {
    /// One column of the section: its values in place in the memory map, and the predicates
    /// it answers. Its addresses are private to this file (copying a column is copying
    /// pointers and counts: no reference counting in the filter's inner loops).
    struct Column {
        /// The values of one column, by type (each address in the section, checked on open).
        enum Values {
            /// Bit per position, set for true (clear where absent); positions whose value is true.
            case boolean(truths: UnsafePointer<UInt64>, trueCount: Int)
            /// One `f64` per position (0 where absent); per partition (one zone without
            /// partitions) min and max of its present values (+∞, −∞ when none);
            /// ``AttributeColumns/quantileCount`` ascending values (0 when none is present).
            case numbers(UnsafePointer<Double>, zones: UnsafePointer<Double>, quantiles: UnsafePointer<Double>)
            /// The dictionary code per position (0 where absent); value `c`'s positions are
            /// `postings[starts[c] ..< starts[c+1]]`, ascending.
            case strings(AttributeDictionary, codes: UnsafePointer<UInt32>, postingStarts: UnsafePointer<UInt32>,
                         postings: UnsafePointer<UInt32>)
            /// Row `p`'s codes are `codes[starts[p] ..< starts[p+1]]`, ascending; postings as
            /// for strings.
            case tags(AttributeDictionary, starts: UnsafePointer<UInt32>, codes: UnsafePointer<UInt32>,
                      postingStarts: UnsafePointer<UInt32>, postings: UnsafePointer<UInt32>)
        }

        let type: AttributeType
        /// The column's number in its section (names in order): tells columns of one shard apart.
        let index: Int
        /// Positions with a value.
        let present: Int
        /// Bit per position: the item has a value.
        private let presence: UnsafePointer<UInt64>
        private let values: Values

        /// A column read from a section (``AttributeColumns/decode(_:rows:zones:path:)`` checked it).
        init(type: AttributeType, index: Int, presence: UnsafePointer<UInt64>, present: Int, values: Values) {
            self.type = type
            self.index = index
            self.presence = presence
            self.present = present
            self.values = values
        }

        @inline(__always) private static func bit(_ words: UnsafePointer<UInt64>, _ p: Int) -> Bool {
            words[p >> 6] & (1 << UInt64(p & 63)) != 0
        }

        /// The value at position `p`, or `nil`.
        func value(at p: Int) -> AttributeValue? {
            guard Self.bit(presence, p) else { return nil }
            switch values {
            case let .boolean(truths, _): return .boolean(Self.bit(truths, p))
            case let .numbers(numbers, _, _): return type == .integer ? .integer(Int64(numbers[p])) : .float(numbers[p])
            case let .strings(dictionary, codes, _, _): return .string(dictionary.string(Int(codes[p])))
            case let .tags(dictionary, starts, codes, _, _):
                return .tags((Int(starts[p])..<Int(starts[p + 1])).map { dictionary.string(Int(codes[$0])) })
            }
        }

        /// The dictionary code of `s` in a string or tags column, or `nil` (no item has it,
        /// or the column holds no strings).
        func code(of s: String) -> Int? {
            switch values {
            case let .strings(dictionary, _, _, _), let .tags(dictionary, _, _, _, _): dictionary.code(of: s)
            default: nil
            }
        }

        /// The positions holding dictionary value `code`, ascending (none in a column
        /// without a dictionary).
        private func positions(of code: Int) -> UnsafeBufferPointer<UInt32> {
            switch values {
            case let .strings(_, _, starts, postings), let .tags(_, _, _, starts, postings):
                let lo = Int(starts[code]), hi = Int(starts[code + 1])
                return UnsafeBufferPointer(start: postings + lo, count: hi - lo)
            default:
                return UnsafeBufferPointer(start: nil, count: 0)
            }
        }

        // MARK: Predicates

        /// Writes the bitmap of the positions in `range` that satisfy `predicate` to `out`
        /// (``Bitmap/words(_:)`` words of `range.count` bits: bit `i` is position
        /// `range.lowerBound + i`; bits past the range are zero). `scratch` holds at least as
        /// many words. A predicate of another type than the column's matches nothing.
        func evaluate(_ predicate: ColumnPredicate, range: Range<Int>, into out: UnsafeMutablePointer<UInt64>,
                      scratch: UnsafeMutablePointer<UInt64>) {
            let n = range.count, w = Bitmap.words(n)
            switch (predicate, values) {
            case (.present, _):
                Bitmap.copy(presence, from: range.lowerBound, count: n, into: out)
            case let (.isTrue, .boolean(truths, _)):
                Bitmap.copy(truths, from: range.lowerBound, count: n, into: out)
            case let (.range(lo, hi, loStrict, hiStrict), .numbers(numbers, _, _)):
                hidx_bits_f64_range(numbers + range.lowerBound, n, lo, hi, loStrict ? 1 : 0, hiStrict ? 1 : 0, out)
                Bitmap.copy(presence, from: range.lowerBound, count: n, into: scratch)
                for i in 0..<w { out[i] &= scratch[i] }
            case let (.anyOf(codes), _):
                out.update(repeating: 0, count: w)
                for code in codes {
                    let list = positions(of: code)
                    // First listed position in the range (binary search), then set bits until past it.
                    var lo = 0, hi = list.count
                    while lo < hi {
                        let mid = (lo + hi) / 2
                        if Int(list[mid]) < range.lowerBound { lo = mid + 1 } else { hi = mid }
                    }
                    var i = lo
                    while i < list.count {
                        let p = Int(list[i]) - range.lowerBound
                        if p >= n { break }
                        out[p >> 6] |= 1 << UInt64(p & 63)
                        i += 1
                    }
                }
            default:
                out.update(repeating: 0, count: w)
            }
        }

        /// Whether the item at position `p` satisfies `predicate` (one row at a time: for the
        /// rows a selective part of an `and` left).
        func test(_ predicate: ColumnPredicate, position p: Int) -> Bool {
            switch (predicate, values) {
            case (.present, _):
                return Self.bit(presence, p)
            case let (.isTrue, .boolean(truths, _)):
                return Self.bit(truths, p)
            case let (.range(lo, hi, loStrict, hiStrict), .numbers(numbers, _, _)):
                guard Self.bit(presence, p) else { return false }
                let v = numbers[p]
                return (loStrict ? v > lo : v >= lo) && (hiStrict ? v < hi : v <= hi)
            case let (.anyOf(list), .strings(_, codes, _, _)):
                guard Self.bit(presence, p) else { return false }
                return list.contains(Int(codes[p]))
            case let (.anyOf(list), .tags(_, starts, codes, _, _)):
                guard Self.bit(presence, p) else { return false }
                for i in Int(starts[p])..<Int(starts[p + 1]) where list.contains(Int(codes[i])) { return true }
                return false
            default:
                return false
            }
        }

        /// The expected fraction of a shard's `rows` rows that satisfy `predicate`: exact for
        /// presence, booleans and dictionary values (posting-list lengths), from the quantiles
        /// for ranges.
        func estimatedFraction(_ predicate: ColumnPredicate, rows: Int) -> Double {
            guard rows > 0 else { return 0 }
            switch (predicate, values) {
            case (.present, _):
                return Double(present) / Double(rows)
            case let (.isTrue, .boolean(_, trueCount)):
                return Double(trueCount) / Double(rows)
            case let (.range(lo, hi, loStrict, hiStrict), .numbers(_, _, quantiles)):
                return Double(present) / Double(rows) * Self.quantileFraction(quantiles, lo: lo, hi: hi, loStrict: loStrict, hiStrict: hiStrict)
            case let (.anyOf(codes), _):
                let n = codes.reduce(0) { $0 + positions(of: $1).count }
                return min(1, Double(n) / Double(rows))
            default:
                return 0
            }
        }

        /// The fraction of a column's present values in the range, read off its quantiles
        /// (linear between them).
        private static func quantileFraction(_ q: UnsafePointer<Double>, lo: Double, hi: Double, loStrict: Bool, hiStrict: Bool) -> Double {
            let n = AttributeColumns.quantileCount
            func below(_ x: Double) -> Double {   // fraction of values < x (about)
                if x <= q[0] { return 0 }
                if x > q[n - 1] { return 1 }
                var i = 0
                while i + 1 < n && q[i + 1] < x { i += 1 }
                let span = q[i + 1] - q[i]
                let within = span > 0 ? (x - q[i]) / span : 1
                return (Double(i) + min(1, max(0, within))) / Double(n - 1)
            }
            if lo == hi {   // equality: about one quantile step when the value occurs
                return lo >= q[0] && lo <= q[n - 1] ? 1.0 / Double(n - 1) : 0
            }
            return max(0, below(hi) - below(lo))
        }
    }
}
