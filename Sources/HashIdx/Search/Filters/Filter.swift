/// A condition on items' attributes that every search result must meet, such as
///
///     category = "dress" and price < 50 and in_stock
///
/// Build one from that text syntax with ``init(_:)-(String)``, or in Swift from ``Node`` values, and
/// pass it in ``SearchOptions/filter``. A search with a filter returns only items that satisfy
/// it, and keeps its recall: the filter is applied inside the candidate scan, and a filter
/// that few items meet is answered from exactly those items (see `docs/FILTERS.md`).
///
/// The syntax (keywords in any case):
///
/// | form | meaning |
/// |---|---|
/// | `a = v`, `a != v` | equal / not equal (strings, numbers, booleans) |
/// | `a < v`, `a <= v`, `a > v`, `a >= v` | numeric comparison |
/// | `a in (v1, v2, …)`, `a not in (…)` | one of the values (for tags: has any of them) |
/// | `tags contains "x"` | a list-of-strings attribute holds `"x"` |
/// | `a is null`, `a is not null` | the item lacks / has the attribute |
/// | `a` | shorthand for `a = true` |
/// | `not f`, `f and g`, `f or g`, `( f )` | logic; `not` binds tightest, then `and`, then `or` |
///
/// Strings are double-quoted JSON strings; numbers are JSON numbers. An item that lacks an
/// attribute fails every comparison on it, so `not (price < 50)` includes items without a
/// price, and `a != v` is `not (a = v)`.
public struct Filter: Sendable, Hashable, CustomStringConvertible {
    /// A comparison operator.
    public enum Comparison: String, Sendable, Hashable, CaseIterable {
        /// `=` (also written `==`): equal; for a boolean, the value.
        case equal = "="
        /// `!=`: not equal, `not (a = v)`: includes items without the attribute.
        case notEqual = "!="
        /// `<` (numbers).
        case less = "<"
        /// `<=` (numbers).
        case lessOrEqual = "<="
        /// `>` (numbers).
        case greater = ">"
        /// `>=` (numbers).
        case greaterOrEqual = ">="
    }

    /// One node of a filter's expression tree.
    public indirect enum Node: Sendable, Hashable {
        /// `attribute op value`.
        case compare(String, Comparison, AttributeValue)
        /// `attribute in (values)`: equal to one of them; for tags, holds one of them.
        case isIn(String, [AttributeValue])
        /// `attribute contains "tag"`: a tags attribute holds the string.
        case contains(String, String)
        /// `attribute is null`: the item lacks the attribute.
        case isNull(String)
        /// All of the nodes.
        case and([Node])
        /// Any of the nodes.
        case or([Node])
        /// Not the node.
        case not(Node)
    }

    /// The longest filter text ``init(_:)-(String)`` reads, in UTF-8 bytes (1 MiB): room for an
    /// `in` list of tens of thousands of values.
    public static let maximumLength = 1 << 20
    /// The deepest nesting of `not` and parentheses ``init(_:)-(String)`` reads. A deeper text
    /// is an error (``HashIdxError/invalidFilter(expression:offset:reason:)``), never a stack
    /// overflow: filters come from outside.
    public static let maximumDepth = 64

    /// The expression tree.
    public let node: Node
    /// The text form: the text it was parsed from, or the canonical rendering of ``node``.
    public let description: String
    /// The character offset in ``description`` of each leaf, in the tree's left-to-right
    /// order (errors point at them).
    let leafOffsets: [Int]

    /// Parses `text`. Throws ``HashIdxError/invalidFilter(expression:offset:reason:)``
    /// pointing at the first character it cannot read.
    public init(_ text: String) throws(HashIdxError) {
        var parser = FilterParser(text)
        (node, leafOffsets) = try parser.parse()
        description = text
    }

    /// A filter from an expression tree built in Swift.
    ///
    /// The tree is taken as it is: a program that builds trees from its own users' input
    /// should bound their depth as ``init(_:)-(String)`` does (``maximumDepth``), since
    /// rendering, comparing and compiling a tree walk it recursively.
    public init(_ node: Node) {
        var offsets: [Int] = []
        var text = ""
        Self.render(node, into: &text, offsets: &offsets, parenthesise: false)
        self.node = node
        description = text
        leafOffsets = offsets
    }

    /// `a = value`, `a < value`, …: one comparison.
    public static func compare(_ attribute: String, _ op: Comparison, _ value: AttributeValue) -> Filter {
        Filter(.compare(attribute, op, value))
    }

    /// Filters are equal when their trees are (whatever text they were parsed from).
    public static func == (a: Filter, b: Filter) -> Bool { a.node == b.node }
    /// Hashes the tree.
    public func hash(into h: inout Hasher) { h.combine(node) }

    /// `v` as filter text that parses back to `v`: a float keeps its fraction (`12.0`, not the
    /// `12` of its JSON form, which would parse back as an integer).
    private static func literal(_ v: AttributeValue) -> String {
        if case let .float(x) = v, x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) + ".0" }
        return v.description
    }

    private static func render(_ node: Node, into s: inout String, offsets: inout [Int], parenthesise: Bool) {
        switch node {
        case let .compare(a, op, v):
            offsets.append(s.count); s += "\(a) \(op.rawValue) \(literal(v))"
        case let .isIn(a, vs):
            offsets.append(s.count); s += "\(a) in (" + vs.map(literal).joined(separator: ", ") + ")"
        case let .contains(a, t):
            offsets.append(s.count); s += "\(a) contains \(JSONText.quoted(t))"
        case let .isNull(a):
            offsets.append(s.count); s += "\(a) is null"
        case let .not(n):
            s += "not "
            render(n, into: &s, offsets: &offsets, parenthesise: true)
        case let .and(ns), let .or(ns):
            let word: String
            if case .and = node { word = " and " } else { word = " or " }
            if parenthesise { s += "(" }
            for (i, n) in ns.enumerated() {
                if i > 0 { s += word }
                render(n, into: &s, offsets: &offsets, parenthesise: true)
            }
            if ns.isEmpty { s += word == " and " ? "true" : "false" }
            if parenthesise { s += ")" }
        }
    }
}
