extension Index {
    /// The type of every attribute the index's items have (empty without attributes).
    public var attributeSchema: [String: AttributeType] { buffer?.schema ?? searcher.attributeSchema }

    /// Bytes of the attribute columns in the index's shards (dictionaries, posting lists,
    /// values, presence bits).
    public var attributeBytes: Int { searcher.shards.reduce(0) { $0 + $1.attributes.bytes } }

    /// The attributes of the item with id `id` (only `fields` when given; absent ones are
    /// left out).
    ///
    /// - Throws: ``HashIdxError/unknownID(_:)`` when no item has that id;
    ///   ``HashIdxError/invalidArgument(name:reason:)`` for a field the index does not have.
    public func attributes(ofID id: String, fields: [String]? = nil) throws(HashIdxError) -> Attributes {
        guard let row = try row(forID: id) else { throw .unknownID(id) }
        return try attributes(ofRow: row, fields: fields)
    }

    /// The attributes of row `row` (only `fields` when given).
    public func attributes(ofRow row: Int, fields: [String]? = nil) throws(HashIdxError) -> Attributes {
        if let fields { try checkFields(fields) }
        if let buffer, row >= searcher.count { return try buffer.attributes(ofRow: row - searcher.count, fields: fields) }
        let (shard, position) = try searcher.locateLive(row)
        return shard.attributes.attributes(at: position, fields: fields)
    }

    /// Throws ``HashIdxError/invalidArgument(name:reason:)`` for a field name the index has no
    /// attribute of (what a search with ``SearchOptions/fields`` would throw).
    public func checkFields(_ fields: [String]) throws(HashIdxError) {
        let schema = attributeSchema
        for f in fields where schema[f] == nil {
            let known = schema.keys.sorted()
            throw .invalidArgument(name: "fields", reason: "the index has no attribute \"\(f)\"" +
                                   (known.isEmpty ? " (it has no attributes)" : "; it has: \(known.joined(separator: ", "))"))
        }
    }
}
