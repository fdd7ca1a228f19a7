/// Reads an ids file: one UTF-8 id per line, one line per row of the vectors file.
///
/// A final newline is optional and a trailing carriage return (Windows line ends) is
/// dropped. Empty ids, ids over ``maximumIDLength`` bytes, ids holding a control character
/// (a line break, a tab, NUL, …), invalid UTF-8 and duplicates are errors naming the line.
///
/// Ids are compared as their UTF-8 bytes everywhere: `"café"` in NFC and in
/// NFD are two ids.
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
        try validate(ids, path: path, lines: true)
        return ids
    }

    /// The longest id, in UTF-8 bytes.
    public static let maximumIDLength = 4096

    /// Why `id` cannot name an item, or `nil` when it can: an id is 1…``maximumIDLength``
    /// bytes of UTF-8 without control characters (U+0000–U+001F, U+007F), so that it stays one
    /// line in every text form (ids files, JSON lines, logs).
    public static func check(_ id: String) -> String? {
        guard !id.isEmpty else { return "empty id; every item needs a non-empty id" }
        guard id.utf8.count <= maximumIDLength else {
            return "id is \(id.utf8.count) bytes; ids may be at most \(maximumIDLength) bytes (keep long text elsewhere, keyed by the id)"
        }
        if let c = id.utf8.first(where: { $0 < 0x20 || $0 == 0x7F }) {
            return "id holds the control character U+\(String(format4: c)); ids are one line of printable text"
        }
        return nil
    }

    /// Checks that every id given in memory is valid (``check(_:)``) and unique, byte for
    /// byte. Errors name 0-based rows of `ids` (`path` names the ids, e.g. `"ids"`):
    /// ``HashIdxError/duplicateIDInMemory(source:id:firstRow:secondRow:)``, and
    /// ``HashIdxError/invalidID(path:line:reason:)`` with line 0 and the row in the reason.
    static func validate(_ ids: [String], path: String) throws(HashIdxError) {
        try validate(ids, path: path, lines: false)
    }

    /// Checks that every id is valid and unique; with `lines`, id `i` is on line `i + 1` of
    /// the file `path` and errors name lines, else they name 0-based rows.
    private static func validate(_ ids: [String], path: String, lines: Bool) throws(HashIdxError) {
        var seen: [IDKey: Int] = [:]
        seen.reserveCapacity(ids.count)
        for (i, id) in ids.enumerated() {
            if let reason = check(id) {
                throw lines ? .invalidID(path: path, line: i + 1, reason: reason) : .invalidID(path: path, line: 0, reason: "row \(i): \(reason)")
            }
            if let first = seen.updateValue(i, forKey: IDKey(id)) {
                throw lines ? .duplicateID(path: path, id: id, firstLine: first + 1, secondLine: i + 1)
                    : .duplicateIDInMemory(source: path, id: id, firstRow: first, secondRow: i)
            }
        }
    }
}

private extension String {
    /// `c` as four upper-case hex digits.
    init(format4 c: UInt8) {
        let hex = String(c, radix: 16, uppercase: true)
        self = String(repeating: "0", count: 4 - hex.count) + hex
    }
}
