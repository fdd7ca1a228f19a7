/// The value of one attribute of one item: what a catalog filters on ("in stock", "under 50",
/// "a dress") and returns beside the results.
///
/// A key an item does not have is *null*: it is simply absent from the item's ``Attributes``.
public enum AttributeValue: Sendable, Hashable, CustomStringConvertible {
    /// A string, such as a category or a brand (stored dictionary-encoded).
    case string(String)
    /// A set of strings, such as tags; order and repeats do not matter.
    case tags([String])
    /// A whole number within ±2⁵³ (so that it is exact as a `Double`).
    case integer(Int64)
    /// A finite number.
    case float(Double)
    /// True or false.
    case boolean(Bool)

    /// The type of this value.
    public var type: AttributeType {
        switch self {
        case .string: .string
        case .tags: .tags
        case .integer: .integer
        case .float: .float
        case .boolean: .boolean
        }
    }

    /// The value as JSON text.
    public var description: String {
        switch self {
        case let .string(s): JSONText.quoted(s)
        case let .tags(t): "[" + t.map(JSONText.quoted).joined(separator: ", ") + "]"
        case let .integer(v): String(v)
        case let .float(v): JSONText.number(v)
        case let .boolean(b): b ? "true" : "false"
        }
    }

    /// The largest magnitude of an ``integer(_:)``: 2⁵³, where `Double` stops being exact.
    public static let integerLimit: Int64 = 1 << 53
}

// Literals: `["category": "dress", "price": 49.5, "stock": 3, "in_stock": true,
// "tags": ["summer", "linen"]]` is an ``Attributes`` value.

extension AttributeValue: ExpressibleByStringLiteral {
    /// A ``string(_:)``: `"dress"`.
    public init(stringLiteral value: String) { self = .string(value) }
}

extension AttributeValue: ExpressibleByIntegerLiteral {
    /// An ``integer(_:)``: `3`.
    public init(integerLiteral value: Int64) { self = .integer(value) }
}

extension AttributeValue: ExpressibleByFloatLiteral {
    /// A ``float(_:)``: `49.5`.
    public init(floatLiteral value: Double) { self = .float(value) }
}

extension AttributeValue: ExpressibleByBooleanLiteral {
    /// A ``boolean(_:)``: `true`.
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
}

extension AttributeValue: ExpressibleByArrayLiteral {
    /// ``tags(_:)``: `["summer", "linen"]`.
    public init(arrayLiteral elements: String...) { self = .tags(elements) }
}

/// The attributes of one item: attribute name → value. Absent keys are null (there is no
/// null value: leave the key out).
///
/// Values can be written as literals, and a flat `Encodable` struct converts with
/// `Attributes(encoding:)`:
///
/// ```swift
/// let attributes: Attributes = ["category": "dress", "price": 49.5, "in_stock": true, "tags": ["linen"]]
/// ```
public typealias Attributes = [String: AttributeValue]

/// The type of an attribute. Every item that has a key has a value of the key's type; the
/// type of a key is fixed by the first build (integers widen to floats if both appear there)
/// and later adds must match it.
public enum AttributeType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    /// ``AttributeValue/string(_:)``.
    case string = 0
    /// ``AttributeValue/tags(_:)``.
    case tags = 1
    /// ``AttributeValue/integer(_:)``.
    case integer = 2
    /// ``AttributeValue/float(_:)``.
    case float = 3
    /// ``AttributeValue/boolean(_:)``.
    case boolean = 4

    /// The type's name, as errors and `hashidx info` print it.
    public var description: String {
        switch self {
        case .string: "string"
        case .tags: "list of strings"
        case .integer: "integer"
        case .float: "float"
        case .boolean: "boolean"
        }
    }

    /// The name with its article ("an integer", "a string").
    var withArticle: String { self == .integer ? "an integer" : "a \(self)" }

    /// Whether a value of type `other` may be stored under a key of this type (an integer
    /// fits a float key).
    func accepts(_ other: AttributeType) -> Bool { self == other || (self == .float && other == .integer) }
}

/// JSON text of strings and numbers, as the CLI prints attributes.
package enum JSONText {
    /// `s` as a JSON string literal.
    package static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// `v` as a JSON number (integral values without a fraction).
    package static func number(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}
