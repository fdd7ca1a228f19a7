// `Codable` attribute values, in the shapes of JSON scalars: a value encodes as what it
// holds (a string, a whole number, a number, a boolean, or a list of strings for tags) and
// decodes from the same. Codable is the standard library's: no Foundation here.

extension AttributeValue: Codable {
    /// Decodes a value from a single value: a boolean, a whole number (``integer(_:)``), any
    /// other number (``float(_:)``), a string, or a list of strings (``tags(_:)``), tried in
    /// that order.
    ///
    /// A null is no value (an absent key is null): decode `[String: AttributeValue?]` and drop
    /// the `nil`s for attributes that may be null.
    ///
    /// - Throws: `DecodingError.typeMismatch` for anything else (an object, a list of
    ///   non-strings, null).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let b = try? container.decode(Bool.self) {
            self = .boolean(b)
        } else if let i = try? container.decode(Int64.self) {
            self = .integer(i)
        } else if let x = try? container.decode(Double.self) {
            self = .float(x)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let t = try? container.decode([String].self) {
            self = .tags(t)
        } else {
            throw DecodingError.typeMismatch(AttributeValue.self, DecodingError.Context(
                codingPath: decoder.codingPath,
                debugDescription: "an attribute value is a string, a number, a boolean or a list of strings"))
        }
    }

    /// Encodes the value as the single value it holds: `"dress"`, `3`, `49.5`, `true`,
    /// `["summer", "linen"]`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .string(s): try container.encode(s)
        case let .tags(t): try container.encode(t)
        case let .integer(i): try container.encode(i)
        case let .float(x): try container.encode(x)
        case let .boolean(b): try container.encode(b)
        }
    }
}
