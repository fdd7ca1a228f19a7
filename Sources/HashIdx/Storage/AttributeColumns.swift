/// The attribute section of a shard (docs/FORMAT.md §3.4): one column per attribute name,
/// indexed by position like every per-row section, read in place from the memory map.
///
/// Strings and tags are dictionary-encoded, with a posting list (the ascending positions) per
/// dictionary value, so that `category = "dress"` costs the matches, not the rows; numbers
/// are `f64` with per-partition min/max and 65 quantiles (for the planner's estimates);
/// booleans are bit columns. Every column starts with a presence bitmap (null = bit clear).
///
/// The section's parts, one job per file: this index of columns; ``Column`` (a column's
/// values and the predicates it answers over a range of positions, `AttributeColumn.swift`);
/// ``AttributeDictionary``; writing (`AttributeColumns+Encoding.swift`); reading and
/// checking (`AttributeColumns+Decoding.swift`). Every address into the section is private
/// to the file that reads through it.
struct AttributeColumns: @unchecked Sendable {
    /// Number of quantiles stored per numeric column: min, the 63 inner 64-quantiles, max.
    static let quantileCount = 65

    /// Rows in the shard.
    let rows: Int
    /// Columns by attribute name.
    let columns: [String: Column]
    /// Bytes of the section.
    let bytes: Int

    /// No attributes (a shard without an attribute section).
    init(rows: Int) {
        self.rows = rows
        columns = [:]
        bytes = 0
    }

    /// The columns of a section that ``decode(_:rows:zones:path:)`` read and checked.
    init(rows: Int, columns: [String: Column], bytes: Int) {
        self.rows = rows
        self.columns = columns
        self.bytes = bytes
    }

    /// The attributes at position `p` (only `fields` when given).
    func attributes(at p: Int, fields: [String]? = nil) -> Attributes {
        var out: Attributes = [:]
        if let fields {
            for f in fields { if let c = columns[f], let v = c.value(at: p) { out[f] = v } }
        } else {
            for (name, c) in columns { if let v = c.value(at: p) { out[name] = v } }
        }
        return out
    }
}
