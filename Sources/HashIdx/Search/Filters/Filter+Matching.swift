extension Filter {
    /// Whether an item with `attributes` satisfies the filter: the same rules as a search
    /// (a missing attribute fails every comparison; integers and floats compare as numbers;
    /// a value of another type than the attribute's never matches). Exact filtered ground
    /// truth and tests use it.
    public func matches(_ attributes: Attributes) -> Bool { Self.matches(node, attributes) }

    private static func matches(_ node: Node, _ a: Attributes) -> Bool {
        func number(_ v: AttributeValue?) -> Double? {
            switch v {
            case let .integer(i)?: Double(i)
            case let .float(x)?: x
            default: nil
            }
        }
        func equal(_ v: AttributeValue?, _ x: AttributeValue) -> Bool {
            guard let v else { return false }
            if let l = number(v), let r = number(x) { return l == r }
            switch (v, x) {
            case let (.string(l), .string(r)): return l == r
            case let (.boolean(l), .boolean(r)): return l == r
            case let (.tags(t), .string(r)): return t.contains(r)
            default: return false
            }
        }
        switch node {
        case let .compare(name, op, x):
            let v = a[name]
            switch op {
            case .equal: return equal(v, x)
            case .notEqual: return !equal(v, x)
            default:
                guard let l = number(v), let r = number(x) else { return false }
                switch op {
                case .less: return l < r
                case .lessOrEqual: return l <= r
                case .greater: return l > r
                default: return l >= r
                }
            }
        case let .isIn(name, values): return values.contains { equal(a[name], $0) }
        case let .contains(name, tag):
            if case let .tags(t)? = a[name] { return t.contains(tag) }
            return false
        case let .isNull(name): return a[name] == nil
        case let .and(nodes): return nodes.allSatisfy { matches($0, a) }
        case let .or(nodes): return nodes.contains { matches($0, a) }
        case let .not(n): return !matches(n, a)
        }
    }

    /// Throws ``HashIdxError/invalidFilter(expression:offset:reason:)`` for an attribute not
    /// in `schema` or compared in a way its type does not allow, pointing at the leaf.
    public func check(against schema: [String: AttributeType]) throws(HashIdxError) {
        var leaf = 0
        try Self.check(node, filter: self, schema: schema, leaf: &leaf)
    }


    static func check(_ node: Filter.Node, filter: Filter, schema: [String: AttributeType], leaf: inout Int) throws(HashIdxError) {
        func fail(_ why: String) -> HashIdxError {
            .invalidFilter(expression: filter.description, offset: leaf < filter.leafOffsets.count ? filter.leafOffsets[leaf] : 0, reason: why)
        }
        func type(of name: String) throws(HashIdxError) -> AttributeType {
            guard let t = schema[name] else {
                let known = schema.keys.sorted()
                throw fail("the index has no attribute \"\(name)\"" +
                           (known.isEmpty ? " (it was built without --attributes)" : "; it has: \(known.joined(separator: ", "))"))
            }
            return t
        }
        func value(_ v: AttributeValue, fits t: AttributeType, name: String) throws(HashIdxError) {
            switch (t, v) {
            case (.integer, .integer), (.integer, .float), (.float, .integer), (.float, .float),
                 (.string, .string), (.tags, .string), (.boolean, .boolean): return
            default: throw fail("\"\(name)\" is \(t.withArticle) attribute and cannot be compared with \(v)")
            }
        }
        switch node {
        case let .compare(name, op, v):
            let t = try type(of: name)
            switch t {
            case .tags: throw fail("\"\(name)\" is a list of strings: use \(name) contains \(v) or \(name) in (…)")
            case .string, .boolean:
                guard op == .equal || op == .notEqual else {
                    throw fail("\"\(name)\" is \(t.withArticle) attribute: it compares only with = and !=")
                }
            case .integer, .float: break
            }
            try value(v, fits: t, name: name)
            leaf += 1
        case let .isIn(name, values):
            let t = try type(of: name)
            for v in values { try value(v, fits: t, name: name) }
            leaf += 1
        case let .contains(name, _):
            guard try type(of: name) == .tags else { throw fail("'contains' needs a list-of-strings attribute; \"\(name)\" is not one") }
            leaf += 1
        case let .isNull(name):
            _ = try type(of: name)
            leaf += 1
        case let .and(nodes), let .or(nodes):
            for n in nodes { try check(n, filter: filter, schema: schema, leaf: &leaf) }
        case let .not(n):
            try check(n, filter: filter, schema: schema, leaf: &leaf)
        }
    }

}
