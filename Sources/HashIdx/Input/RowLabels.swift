/// Labels of rows: each row has a set of labels (classes, product groups, tags), possibly
/// none. Two rows are *similar* for supervised training and for label-based evaluation when
/// they share at least one label.
///
/// Read from a text file (one line per row: label names separated by commas, an empty line
/// for a row without labels) or from a `.npy` array of integers (one label per row; a
/// negative value: no label).
public struct RowLabels: Sendable, Equatable {
    /// The distinct label names, in order of first appearance; a row's labels are indices
    /// into this array.
    public let names: [String]
    /// Row `r`'s labels are `values[offsets[r]..<offsets[r + 1]]`, sorted and distinct.
    let offsets: [Int]
    let values: [Int32]

    /// The number of rows.
    public var count: Int { offsets.count - 1 }

    /// The label indices of row `row` (indices into ``names``), sorted, distinct; empty when
    /// the row has no label.
    public func labels(ofRow row: Int) -> ArraySlice<Int32> { values[offsets[row]..<offsets[row + 1]] }

    /// Whether row `row` has at least one label.
    public func isLabelled(_ row: Int) -> Bool { offsets[row + 1] > offsets[row] }

    /// Rows with at least one label.
    public var labelledCount: Int { (0..<count).reduce(0) { $0 + (isLabelled($1) ? 1 : 0) } }

    /// Label names used by at least one row.
    public var classCount: Int { Set(values).count }

    /// Creates labels from one list of label names per row (an empty list: no label).
    /// Names are trimmed of spaces; empty names are dropped.
    public init(_ rows: [[String]]) {
        var names: [String] = []
        var index: [String: Int32] = [:]
        var offsets = [0]
        var values: [Int32] = []
        offsets.reserveCapacity(rows.count + 1)
        for row in rows {
            var set: [Int32] = []
            for raw in row {
                let name = raw.trimmingSpaces
                guard !name.isEmpty else { continue }
                let i: Int32
                if let known = index[name] { i = known } else {
                    i = Int32(names.count)
                    index[name] = i
                    names.append(name)
                }
                set.append(i)
            }
            values.append(contentsOf: Set(set).sorted())
            offsets.append(values.count)
        }
        self.names = names
        self.offsets = offsets
        self.values = values
    }

    /// Whether row `a` of `self` and row `b` of `other` share a label (by name when the two
    /// were read separately).
    func sharesLabel(_ a: Int, with other: RowLabels, row b: Int, nameMap: [Int32]) -> Bool {
        let x = labels(ofRow: a), y = other.labels(ofRow: b)
        for l in y where l < nameMap.count {
            let mine = nameMap[Int(l)]
            if mine >= 0 && x.contains(mine) { return true }
        }
        return false
    }

    /// For each label of `other`, the index of the same name in `self` (−1 when absent).
    func nameMap(from other: RowLabels) -> [Int32] {
        var index: [String: Int32] = [:]
        for (i, n) in names.enumerated() { index[n] = Int32(i) }
        return other.names.map { index[$0] ?? -1 }
    }

    /// Reads labels for `rows` rows from `path`: a `.npy` integer array, or a text file.
    /// `rows` `nil` accepts any count (checked by the caller).
    public static func read(path: String, rows: Int? = nil) throws(HashIdxError) -> RowLabels {
        let file = try MappedFile(path: path)
        let labels: RowLabels
        if file.bytes.count >= 6 && file.bytes[0] == 0x93 && file.bytes[1] == 0x4E {
            labels = try parseNpy(file)
        } else {
            labels = try parseText(file.bytes, path: path)
        }
        if let rows, labels.count != rows {
            throw .malformedInput(path: path, reason: "has labels for \(labels.count) rows but there are \(rows) vectors; give one line (or one array element) per row, an empty line for a row without labels")
        }
        return labels
    }

    /// One line per row, labels separated by commas; a final newline is optional, `\r\n`
    /// line ends are accepted.
    static func parseText(_ bytes: UnsafeRawBufferPointer, path: String) throws(HashIdxError) -> RowLabels {
        var rows: [[String]] = []
        try TextLines.forEach(in: bytes) { (line, text) throws(HashIdxError) in
            guard let labels = String(validating: text, as: UTF8.self) else {
                throw .malformedInput(path: path, reason: "line \(line) is not valid UTF-8")
            }
            rows.append(labels.split(separator: ",", omittingEmptySubsequences: false).map(String.init))
        }
        return RowLabels(rows)
    }

    /// A 1-D `.npy` array of signed or unsigned integers (or a `rows × 1` matrix): one label
    /// per row, named by its decimal value; negative values mean no label.
    static func parseNpy(_ file: MappedFile) throws(HashIdxError) -> RowLabels {
        let header = try NpyHeader(file: file)
        let path = file.path
        guard !header.fortranOrder || header.shape.count == 1 else {
            throw .malformedInput(path: path, reason: "Fortran-order array; save it C-ordered")
        }
        guard header.shape.count == 1 || (header.shape.count == 2 && header.shape[1] == 1) else {
            throw .malformedInput(path: path, reason: "labels must be a 1-D array (one label per row), got shape \(header.shape)")
        }
        let count = header.shape[0]
        let kinds: [String: (Int, Bool)] = ["<i8": (8, true), "<i4": (4, true), "<i2": (2, true), "|i1": (1, true),
                                            "<u8": (8, false), "<u4": (4, false), "<u2": (2, false), "|u1": (1, false)]
        guard let (size, signed) = kinds[header.descr] else {
            throw .malformedInput(path: path, reason: "labels must be little-endian integers (int8…int64, uint8…uint64), got dtype '\(header.descr)'")
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow, bytes == file.bytes.count - header.dataOffset else {
            throw .malformedInput(path: path, reason: "file size does not match its header's \(count) labels")
        }
        let b = file.bytes
        var rows: [[String]] = []
        rows.reserveCapacity(count)
        for i in 0..<count {
            let at = header.dataOffset + i * size
            let v: Int64
            switch (size, signed) {
            case (8, true): v = b.le(Int64.self, at: at)
            case (4, true): v = Int64(b.le(Int32.self, at: at))
            case (2, true): v = Int64(b.le(Int16.self, at: at))
            case (1, true): v = Int64(Int8(bitPattern: b[at]))
            case (8, false):
                let u = b.le(UInt64.self, at: at)
                guard u <= UInt64(Int64.max) else { throw .malformedInput(path: path, reason: "label \(u) of row \(i) is too large") }
                v = Int64(u)
            case (4, false): v = Int64(b.le(UInt32.self, at: at))
            case (2, false): v = Int64(b.le(UInt16.self, at: at))
            default: v = Int64(b[at])
            }
            rows.append(v < 0 ? [] : [String(v)])
        }
        return RowLabels(rows)
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
