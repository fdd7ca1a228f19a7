/// The lines of a text file as raw bytes: split at `\n`, a trailing `\r` dropped (Windows line
/// ends), a final newline optional. The one line splitter of the text inputs (ids, labels,
/// pairs); each checks the UTF-8 of its lines with its own error.
enum TextLines {
    /// Calls `body` with each line's number (from 1) and bytes, in file order.
    static func forEach(in bytes: UnsafeRawBufferPointer,
                        _ body: (_ line: Int, _ text: UnsafeRawBufferPointer) throws(HashIdxError) -> Void) throws(HashIdxError) {
        var start = 0
        var line = 1
        let n = bytes.count
        while start < n {
            var end = start
            while end < n && bytes[end] != 0x0A { end += 1 }
            var stop = end
            if stop > start && bytes[stop - 1] == 0x0D { stop -= 1 }
            try body(line, UnsafeRawBufferPointer(rebasing: bytes[start..<stop]))
            start = end + 1
            line += 1
        }
    }
}
