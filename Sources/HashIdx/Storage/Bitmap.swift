/// Bitmaps over a range of positions, as storage answers them and search combines them:
/// bit `i % 64` of word `i / 64` is the `i`-th position of the range; bits past the range's
/// end are zero.
enum Bitmap {
    /// Words of a bitmap of `count` positions.
    @inline(__always)
    static func words(_ count: Int) -> Int { (count + 63) / 64 }

    /// Clears the bits at `count` and beyond of the last word.
    @inline(__always)
    static func maskTail(_ out: UnsafeMutablePointer<UInt64>, count: Int) {
        if count % 64 != 0 { out[words(count) - 1] &= (1 << UInt64(count % 64)) - 1 }
    }

    /// Copies bits `start ..< start + count` of the bitmap `source` to bits `0 ..< count` of
    /// `out` (bits past `count` zero).
    static func copy(_ source: UnsafePointer<UInt64>, from start: Int, count: Int, into out: UnsafeMutablePointer<UInt64>) {
        let w = words(count)
        let first = start >> 6, shift = UInt64(start & 63)
        let lastSourceWord = (start + count - 1) >> 6
        if count == 0 { return }
        if shift == 0 {
            out.update(from: source + first, count: w)
        } else {
            for i in 0..<w {
                let lo = source[first + i] >> shift
                let hi = first + i + 1 <= lastSourceWord ? source[first + i + 1] << (64 - shift) : 0
                out[i] = lo | hi
            }
        }
        maskTail(out, count: count)
    }

    /// Clears in `out` (a bitmap of `count` positions) every bit whose position is set in
    /// bits `start ..< start + count` of `source`: `out &= ~source[start ..< start + count]`.
    static func clear(_ out: UnsafeMutablePointer<UInt64>, whereSetIn source: UnsafePointer<UInt64>, from start: Int, count: Int) {
        if count == 0 { return }
        let first = start >> 6, shift = UInt64(start & 63)
        let lastSourceWord = (start + count - 1) >> 6
        for i in 0..<words(count) {
            let lo = source[first + i] >> shift
            let hi = shift != 0 && first + i + 1 <= lastSourceWord ? source[first + i + 1] << (64 - shift) : 0
            out[i] &= ~(lo | hi)
        }
        maskTail(out, count: count)
    }
}
