/// A sorted dictionary of strings in an attribute column, in place in the attribute section:
/// value `c` is the UTF-8 bytes `bytes[offsets[c] ..< offsets[c+1]]`. Its addresses are
/// private to this file: callers ask for a value's string or a string's code.
struct AttributeDictionary {
    /// Values in the dictionary.
    let count: Int
    private let offsets: UnsafePointer<UInt32>?
    private let bytes: UnsafePointer<UInt8>?

    /// No values.
    init() {
        count = 0
        offsets = nil
        bytes = nil
    }

    /// The dictionary of `count` values whose `count + 1` offsets and bytes are at `offsets`
    /// and `bytes` (unchecked: ``check(byteCount:_:)`` checks them).
    init(count: Int, offsets: UnsafePointer<UInt32>, bytes: UnsafePointer<UInt8>) {
        self.count = count
        self.offsets = offsets
        self.bytes = bytes
    }

    private func utf8(_ c: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: bytes! + Int(offsets![c]), count: Int(offsets![c + 1] - offsets![c]))
    }

    /// Value `c`.
    func string(_ c: Int) -> String { String(decoding: utf8(c), as: UTF8.self) }

    /// The code of `s`, or `nil` when no item has it (binary search).
    func code(of s: String) -> Int? {
        let key = Array(s.utf8)
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            let v = utf8(mid)
            if v.lexicographicallyPrecedes(key) { lo = mid + 1 } else { hi = mid }
        }
        return lo < count && utf8(lo).elementsEqual(key) ? lo : nil
    }

    /// Checks a dictionary read from a file whose values take `byteCount` bytes: offsets
    /// ascending from 0 to `byteCount` (which keeps each value inside the bytes), every value
    /// UTF-8, values strictly sorted.
    func check(byteCount: Int, _ bad: (String) -> HashIdxError) throws(HashIdxError) {
        guard let offsets else { return }
        guard offsets[0] == 0, Int(offsets[count]) == byteCount else { throw bad("dictionary offsets do not tile its bytes") }
        // Every offset first, then the values.
        for c in 0..<count where offsets[c + 1] < offsets[c] { throw bad("dictionary offsets are not ascending") }
        for c in 0..<count {
            guard String(validating: utf8(c), as: UTF8.self) != nil else { throw bad("dictionary value \(c) is not UTF-8") }
            if c > 0 && !utf8(c - 1).lexicographicallyPrecedes(utf8(c)) { throw bad("dictionary is not sorted") }
        }
    }
}
