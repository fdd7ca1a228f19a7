// `Attributes(encoding:)`: an item's attributes from the application's own `Encodable`
// type, through a small `Encoder` (the standard library's Codable; no Foundation) that takes
// flat scalar fields only.

extension Dictionary where Key == String, Value == AttributeValue {
    /// The attributes of `value`, a flat `Encodable` struct, class or `[String: …]`
    /// dictionary: each encoded field becomes one attribute, named by its coding key.
    ///
    /// ```swift
    /// struct Product: Encodable {
    ///     var category: String
    ///     var price: Double
    ///     var inStock: Bool
    ///     var tags: [String]
    ///     var discontinued: Date?      // nil: no attribute
    /// }
    /// let attributes = try Attributes(encoding: product)
    /// // ["category": "dress", "price": 49.5, "inStock": true, "tags": ["linen"]]
    /// ```
    ///
    /// Strings become ``AttributeValue/string(_:)``, whole numbers (`Int`, `Int32`, `UInt8`,
    /// …) ``AttributeValue/integer(_:)``, `Double` and `Float` ``AttributeValue/float(_:)``,
    /// `Bool` ``AttributeValue/boolean(_:)``, lists of strings ``AttributeValue/tags(_:)``;
    /// a type that encodes as one of those (a `String` or `Int` raw-value enum, a property
    /// wrapper, an ``AttributeValue``) becomes that value. A `nil` optional is no attribute
    /// (attributes have no null). Rename keys with the type's `CodingKeys`.
    ///
    /// - Throws: ``HashIdxError/invalidAttributes(path:line:reason:)`` naming the type and the
    ///   field for a nested value (a struct, a dictionary, a list of anything but strings), a
    ///   value that is not keyed fields, a number beyond ±2⁵³ or not finite, or a name that
    ///   cannot name an attribute (the rules of ``AttributeTable``).
    public init(encoding value: some Encodable) throws(HashIdxError) {
        let state = AttributesEncoder.State(source: String(describing: type(of: value)))
        do {
            try value.encode(to: AttributesEncoder(state: state))
        } catch {
            // The encoder's own failures are recorded first; anything else came from the
            // type's own `encode(to:)`.
            throw state.failure ?? .invalidAttributes(path: state.source, line: 0, reason: "\(error)")
        }
        if let failure = state.failure { throw failure }
        self = state.attributes
    }
}

/// The encoder behind `Attributes(encoding:)`: a keyed container at the top, one attribute
/// per key.
struct AttributesEncoder: Encoder {
    /// What an encoding collects, shared by its containers.
    final class State {
        /// The encoded type's name, as errors name it.
        let source: String
        var attributes: Attributes = [:]
        /// The first thing that cannot be an attribute.
        var failure: HashIdxError?

        init(source: String) { self.source = source }

        /// Records `reason` (the first failure wins) and returns the failure to throw.
        @discardableResult
        func fail(_ reason: String) -> HashIdxError {
            if failure == nil { failure = .invalidAttributes(path: source, line: 0, reason: reason) }
            return failure!
        }

        /// Stores `value` under `key` once it passes the attribute rules.
        func store(_ value: AttributeValue, key: String) throws(HashIdxError) {
            do {
                try AttributeTable.check(key: key, value: value, at: .line(0), source: source)
            } catch {
                if failure == nil { failure = error }
                throw error
            }
            attributes[key] = value
        }

        /// The message for a nested value under `key`.
        func nested(_ key: String) -> String {
            "\"\(key)\" holds a nested value; attributes are strings, numbers, booleans and lists of strings (flatten it into fields of their own)"
        }
    }

    let state: State
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<K: CodingKey>(keyedBy type: K.Type) -> KeyedEncodingContainer<K> {
        KeyedEncodingContainer(FieldsContainer<K>(state: state))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let failure = state.fail("encodes as a list; attributes come from a struct's fields or a [String: …] dictionary")
        return RejectingContainer<AnyKey>(failure: failure)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        let failure = state.fail("encodes as a single value; attributes come from a struct's fields or a [String: …] dictionary")
        return RejectingContainer<AnyKey>(failure: failure)
    }
}

/// The top-level fields: each becomes an attribute.
private struct FieldsContainer<K: CodingKey>: KeyedEncodingContainerProtocol {
    let state: AttributesEncoder.State
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: K) throws {}     // null: no attribute
    mutating func encode(_ value: Bool, forKey key: K) throws { try state.store(.boolean(value), key: key.stringValue) }
    mutating func encode(_ value: String, forKey key: K) throws { try state.store(.string(value), key: key.stringValue) }
    mutating func encode(_ value: Double, forKey key: K) throws { try state.store(.float(value), key: key.stringValue) }
    mutating func encode(_ value: Float, forKey key: K) throws { try state.store(.float(Double(value)), key: key.stringValue) }
    mutating func encode(_ value: Int, forKey key: K) throws { try whole(value, key) }
    mutating func encode(_ value: Int8, forKey key: K) throws { try whole(value, key) }
    mutating func encode(_ value: Int16, forKey key: K) throws { try whole(value, key) }
    mutating func encode(_ value: Int32, forKey key: K) throws { try whole(value, key) }
    mutating func encode(_ value: Int64, forKey key: K) throws { try whole(value, key) }
    mutating func encode(_ value: UInt, forKey key: K) throws { try whole(value, key) }
    mutating func encode(_ value: UInt8, forKey key: K) throws { try whole(value, key) }
    mutating func encode(_ value: UInt16, forKey key: K) throws { try whole(value, key) }
    mutating func encode(_ value: UInt32, forKey key: K) throws { try whole(value, key) }
    mutating func encode(_ value: UInt64, forKey key: K) throws { try whole(value, key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: K) throws {
        let name = key.stringValue
        let slot = ValueSlot(state: state, key: name)
        try value.encode(to: ValueEncoder(slot: slot))
        if let v = slot.value { try state.store(v, key: name) }
    }

    mutating func nestedContainer<N: CodingKey>(keyedBy keyType: N.Type, forKey key: K) -> KeyedEncodingContainer<N> {
        KeyedEncodingContainer(RejectingContainer<N>(failure: state.fail(state.nested(key.stringValue))))
    }

    mutating func nestedUnkeyedContainer(forKey key: K) -> any UnkeyedEncodingContainer {
        TagsContainer(slot: ValueSlot(state: state, key: key.stringValue), storing: true)
    }

    /// A superclass's fields join the subclass's.
    mutating func superEncoder() -> any Encoder { AttributesEncoder(state: state) }

    mutating func superEncoder(forKey key: K) -> any Encoder {
        ValueEncoder(slot: ValueSlot(state: state, key: key.stringValue), failure: state.fail(state.nested(key.stringValue)))
    }

    private func whole(_ value: some BinaryInteger, _ key: K) throws(HashIdxError) {
        guard let v = Int64(exactly: value) else {
            throw state.fail("\"\(key.stringValue)\": \(value) is beyond ±2^53; store it as a string")
        }
        try state.store(.integer(v), key: key.stringValue)
    }
}

/// The value of one field, as encoding it produces it.
private final class ValueSlot {
    let state: AttributesEncoder.State
    let key: String
    var value: AttributeValue?

    init(state: AttributesEncoder.State, key: String) {
        self.state = state
        self.key = key
    }

    /// Records `v` (a second value for one field is a list, which only strings may form).
    func set(_ v: AttributeValue) throws(HashIdxError) {
        guard value == nil else { throw state.fail(state.nested(key)) }
        value = v
    }
}

/// Encodes one field's value into its slot: a single value, or a list of strings (tags).
private struct ValueEncoder: Encoder, SingleValueEncodingContainer {
    let slot: ValueSlot
    /// Set when this value cannot be an attribute whatever it encodes.
    var failure: HashIdxError? = nil
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<K: CodingKey>(keyedBy type: K.Type) -> KeyedEncodingContainer<K> {
        KeyedEncodingContainer(RejectingContainer<K>(failure: slot.state.fail(slot.state.nested(slot.key))))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if let failure { return RejectingContainer<AnyKey>(failure: failure) }
        return TagsContainer(slot: slot, storing: false)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        if let failure { return RejectingContainer<AnyKey>(failure: failure) }
        return self
    }

    mutating func encodeNil() throws {}     // null: no attribute
    mutating func encode(_ value: Bool) throws { try slot.set(.boolean(value)) }
    mutating func encode(_ value: String) throws { try slot.set(.string(value)) }
    mutating func encode(_ value: Double) throws { try slot.set(.float(value)) }
    mutating func encode(_ value: Float) throws { try slot.set(.float(Double(value))) }
    mutating func encode(_ value: Int) throws { try whole(value) }
    mutating func encode(_ value: Int8) throws { try whole(value) }
    mutating func encode(_ value: Int16) throws { try whole(value) }
    mutating func encode(_ value: Int32) throws { try whole(value) }
    mutating func encode(_ value: Int64) throws { try whole(value) }
    mutating func encode(_ value: UInt) throws { try whole(value) }
    mutating func encode(_ value: UInt8) throws { try whole(value) }
    mutating func encode(_ value: UInt16) throws { try whole(value) }
    mutating func encode(_ value: UInt32) throws { try whole(value) }
    mutating func encode(_ value: UInt64) throws { try whole(value) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        if let v = value as? AttributeValue { return try slot.set(v) }
        try value.encode(to: self)
    }

    private func whole(_ value: some BinaryInteger) throws(HashIdxError) {
        guard let v = Int64(exactly: value) else {
            throw slot.state.fail("\"\(slot.key)\": \(value) is beyond ±2^53; store it as a string")
        }
        try slot.set(.integer(v))
    }
}

/// A list under one field: strings only, which become ``AttributeValue/tags(_:)``.
private struct TagsContainer: UnkeyedEncodingContainer {
    let slot: ValueSlot
    /// Whether each string also goes straight into the attributes (a container asked for
    /// with `nestedUnkeyedContainer(forKey:)`, whose caller keeps no slot).
    let storing: Bool
    private let tags = TagList()
    var codingPath: [any CodingKey] { [] }
    var count: Int { tags.items.count }

    init(slot: ValueSlot, storing: Bool) {
        self.slot = slot
        self.storing = storing
        slot.value = .tags([])
        if storing { _ = try? slot.state.store(.tags([]), key: slot.key) }
    }

    mutating func encode(_ value: String) throws {
        tags.items.append(value)
        slot.value = .tags(tags.items)
        if storing { try slot.state.store(.tags(tags.items), key: slot.key) }
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        // A type that encodes as a string (a String raw-value enum) is a tag too.
        let inner = ValueSlot(state: slot.state, key: slot.key)
        try value.encode(to: ValueEncoder(slot: inner))
        guard case let .string(s)? = inner.value else { throw notTag() }
        try encode(s)
    }

    mutating func encodeNil() throws { throw notTag() }
    mutating func encode(_ value: Bool) throws { throw notTag() }
    mutating func encode(_ value: Double) throws { throw notTag() }
    mutating func encode(_ value: Float) throws { throw notTag() }
    mutating func encode(_ value: Int) throws { throw notTag() }
    mutating func encode(_ value: Int8) throws { throw notTag() }
    mutating func encode(_ value: Int16) throws { throw notTag() }
    mutating func encode(_ value: Int32) throws { throw notTag() }
    mutating func encode(_ value: Int64) throws { throw notTag() }
    mutating func encode(_ value: UInt) throws { throw notTag() }
    mutating func encode(_ value: UInt8) throws { throw notTag() }
    mutating func encode(_ value: UInt16) throws { throw notTag() }
    mutating func encode(_ value: UInt32) throws { throw notTag() }
    mutating func encode(_ value: UInt64) throws { throw notTag() }

    mutating func nestedContainer<N: CodingKey>(keyedBy keyType: N.Type) -> KeyedEncodingContainer<N> {
        KeyedEncodingContainer(RejectingContainer<N>(failure: notTag()))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { RejectingContainer<AnyKey>(failure: notTag()) }

    mutating func superEncoder() -> any Encoder {
        ValueEncoder(slot: ValueSlot(state: slot.state, key: slot.key), failure: notTag())
    }

    private func notTag() -> HashIdxError {
        slot.state.fail("\"\(slot.key)\": a list may hold only strings (tags)")
    }

    /// The strings so far (containers are values; the list is shared).
    private final class TagList { var items: [String] = [] }
}

/// A container for what cannot be an attribute: every encode throws `failure` (already
/// recorded, so that a container left empty still fails the encoding).
private struct RejectingContainer<K: CodingKey>: KeyedEncodingContainerProtocol, UnkeyedEncodingContainer,
    SingleValueEncodingContainer {
    let failure: HashIdxError
    var codingPath: [any CodingKey] { [] }
    var count: Int { 0 }

    mutating func encodeNil(forKey key: K) throws { throw failure }
    mutating func encode<T: Encodable>(_ value: T, forKey key: K) throws { throw failure }
    mutating func nestedContainer<N: CodingKey>(keyedBy keyType: N.Type, forKey key: K) -> KeyedEncodingContainer<N> {
        KeyedEncodingContainer(RejectingContainer<N>(failure: failure))
    }
    mutating func nestedUnkeyedContainer(forKey key: K) -> any UnkeyedEncodingContainer { self }
    mutating func superEncoder() -> any Encoder { RejectingEncoder(failure: failure) }
    mutating func superEncoder(forKey key: K) -> any Encoder { RejectingEncoder(failure: failure) }

    mutating func encodeNil() throws { throw failure }
    mutating func encode<T: Encodable>(_ value: T) throws { throw failure }
    mutating func nestedContainer<N: CodingKey>(keyedBy keyType: N.Type) -> KeyedEncodingContainer<N> {
        KeyedEncodingContainer(RejectingContainer<N>(failure: failure))
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { self }
}

/// An encoder whose every container rejects.
private struct RejectingEncoder: Encoder {
    let failure: HashIdxError
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    func container<K: CodingKey>(keyedBy type: K.Type) -> KeyedEncodingContainer<K> {
        KeyedEncodingContainer(RejectingContainer<K>(failure: failure))
    }
    func unkeyedContainer() -> any UnkeyedEncodingContainer { RejectingContainer<AnyKey>(failure: failure) }
    func singleValueContainer() -> any SingleValueEncodingContainer { RejectingContainer<AnyKey>(failure: failure) }
}

/// A coding key for containers that need one and never use it.
private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) { self.stringValue = String(intValue); self.intValue = intValue }
}
