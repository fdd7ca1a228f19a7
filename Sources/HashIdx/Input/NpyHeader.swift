/// The fields of a `.npy` header that HashIdx needs, and where the data starts.
struct NpyHeader {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]
    /// Offset of the array data in the file.
    var dataOffset = 0

    /// Reads the magic, version and header dictionary of the `.npy` file `file`.
    init(file: MappedFile) throws(HashIdxError) {
        let b = file.bytes
        let path = file.path
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] // \x93NUMPY
        guard b.count >= 10, (0..<6).allSatisfy({ b[$0] == magic[$0] }) else {
            throw .malformedInput(path: path, reason: "not a NumPy .npy file (bad magic)")
        }
        let headerLength: Int
        let headerStart: Int
        switch b[6] {
        case 1:
            headerLength = Int(b.le(UInt16.self, at: 8)); headerStart = 10
        case 2, 3:
            guard b.count >= 12 else { throw .malformedInput(path: path, reason: "truncated .npy header") }
            headerLength = Int(b.le(UInt32.self, at: 8)); headerStart = 12
        default:
            throw .malformedInput(path: path, reason: "unsupported .npy format version \(b[6])")
        }
        guard headerLength <= b.count - headerStart else {
            throw .malformedInput(path: path, reason: "truncated .npy header: it claims \(headerLength) bytes, the file has \(b.count - headerStart) left")
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: b[headerStart..<(headerStart + headerLength)])
        guard let text = String(validating: headerBytes, as: UTF8.self) else {
            throw .malformedInput(path: path, reason: "the .npy header is not text")
        }
        try self.init(text: text, path: path)
        dataOffset = headerStart + headerLength
    }

    /// Checks that the array is a C-order matrix (`what` names its axes) whose data of
    /// `itemSize`-byte elements fills the rest of the file exactly.
    func checkMatrix(itemSize: Int, fileSize: Int, path: String, what: String) throws(HashIdxError) {
        if fortranOrder {
            throw .malformedInput(path: path, reason: "Fortran-order array; save it C-ordered (numpy.ascontiguousarray)")
        }
        guard shape.count == 2 else {
            throw .malformedInput(path: path, reason: "array has \(shape.count) dimensions, expected 2 (\(what))")
        }
        let (cells, o1) = shape[0].multipliedReportingOverflow(by: shape[1])
        let (bytes, o2) = cells.multipliedReportingOverflow(by: itemSize)
        guard !o1, !o2, bytes == fileSize - dataOffset else {
            throw .malformedInput(path: path, reason: "file size \(fileSize) does not match its header: shape (\(shape[0]), \(shape[1])) of \(itemSize)-byte elements needs \(dataOffset) + \(o1 || o2 ? "too many" : String(bytes)) bytes")
        }
    }

    /// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
    init(text: String, path: String) throws(HashIdxError) {
        func bad(_ why: String) -> HashIdxError { .malformedInput(path: path, reason: "malformed .npy header: \(why)") }
        func value(after key: String) -> Substring? {
            guard let end = text.endOfFirst("'\(key)'") ?? text.endOfFirst("\"\(key)\"") else { return nil }
            var rest = text[end...].drop(while: { $0 == " " })
            guard rest.first == ":" else { return nil }
            rest = rest.dropFirst().drop(while: { $0 == " " })
            return rest
        }
        guard let d = value(after: "descr"), let q = d.first, q == "'" || q == "\"" else { throw bad("no 'descr'") }
        let afterQuote = d.dropFirst()
        guard let end = afterQuote.firstIndex(of: q) else { throw bad("unterminated 'descr'") }
        descr = String(afterQuote[..<end])
        guard let f = value(after: "fortran_order") else { throw bad("no 'fortran_order'") }
        if f.hasPrefix("False") { fortranOrder = false } else if f.hasPrefix("True") { fortranOrder = true } else {
            throw bad("'fortran_order' is neither True nor False")
        }
        guard let s = value(after: "shape"), s.first == "(" else { throw bad("no 'shape' tuple") }
        guard let close = s.firstIndex(of: ")") else { throw bad("unterminated 'shape'") }
        var dims: [Int] = []
        for part in s[s.index(after: s.startIndex)..<close].split(separator: ",") {
            let t = part.trimmingCharacters(in: " \t\n")
            if t.isEmpty { continue }
            guard let v = Int(t), v >= 0, v < 1 << 40 else { throw bad("shape entry '\(t)' is not a non-negative integer") }
            dims.append(v)
        }
        shape = dims
    }
}

extension String {
    /// The index just past the first occurrence of `needle`, if any.
    func endOfFirst(_ needle: String) -> String.Index? {
        let n = Array(needle.unicodeScalars)
        var i = unicodeScalars.startIndex
        while i != unicodeScalars.endIndex {
            var j = i, k = 0
            while k < n.count, j != unicodeScalars.endIndex, unicodeScalars[j] == n[k] {
                j = unicodeScalars.index(after: j); k += 1
            }
            if k == n.count { return j }
            i = unicodeScalars.index(after: i)
        }
        return nil
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
