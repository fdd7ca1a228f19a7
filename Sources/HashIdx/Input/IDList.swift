/// Reads an ids file: one UTF-8 id per line, one line per row of the vectors file.
///
/// A final newline is optional and a trailing carriage return (Windows line ends) is
/// dropped. Empty ids, ids over ``maximumIDLength`` bytes, invalid UTF-8 and duplicates are
/// errors naming the line.
public enum IDList {
    /// The ids in `path`, in file order.
    public static func read(path: String) throws(HashIdxError) -> [String] {
        let file = try MappedFile(path: path)
        return try parse(file.bytes, path: path)
    }

    /// Parses ids from `bytes`; `path` names them in errors.
    static func parse(_ bytes: UnsafeRawBufferPointer, path: String) throws(HashIdxError) -> [String] {
        var ids: [String] = []
        try TextLines.forEach(in: bytes) { (line, text) throws(HashIdxError) in
            guard let id = String(validating: text, as: UTF8.self) else {
                throw .invalidID(path: path, line: line, reason: "not valid UTF-8")
            }
            ids.append(id)
        }
        try validate(ids, path: path)
        return ids
    }

    /// The longest id, in UTF-8 bytes.
    public static let maximumIDLength = 4096

    /// Checks that every id (id `i` on line `i + 1` of `path`) is non-empty, at most
    /// ``maximumIDLength`` bytes and unique.
    static func validate(_ ids: [String], path: String) throws(HashIdxError) {
        var seen: [String: Int] = [:]
        seen.reserveCapacity(ids.count)
        for (i, id) in ids.enumerated() {
            guard !id.isEmpty else { throw .invalidID(path: path, line: i + 1, reason: "empty id; every row needs a non-empty id") }
            guard id.utf8.count <= maximumIDLength else {
                throw .invalidID(path: path, line: i + 1, reason: "id is \(id.utf8.count) bytes; ids may be at most \(maximumIDLength) bytes (keep long text elsewhere, keyed by the id)")
            }
            if let first = seen.updateValue(i + 1, forKey: id) {
                throw .duplicateID(path: path, id: id, firstLine: first, secondLine: i + 1)
            }
        }
    }
}
