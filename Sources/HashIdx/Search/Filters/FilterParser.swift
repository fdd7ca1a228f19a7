/// Parses the text syntax of ``Filter`` by recursive descent:
///
///     expr      := and ('or' and)*
///     and       := unary ('and' unary)*
///     unary     := 'not' unary | '(' expr ')' | predicate
///     predicate := NAME [ OP literal | ['not'] 'in' '(' literal (',' literal)* ')'
///                        | 'contains' STRING | 'is' ['not'] 'null' ]
///     literal   := STRING | NUMBER | 'true' | 'false'
///
/// Errors carry the offset (in characters) of the token where reading stopped.
///
/// Filters come from outside (a request, a command line), so reading one is bounded: at most
/// ``Filter/maximumLength`` bytes of text and ``Filter/maximumDepth`` levels of `not` and
/// parentheses (the recursion, and every later walk of the tree, stays far from the stack's end).
struct FilterParser {
    /// The language's words (they cannot name an attribute).
    static let keywords = AttributeTable.reservedNames

    private enum Token: Equatable {
        case name(String)
        case keyword(String)
        case string(String)
        case number(String, integral: Bool)
        case symbol(String)
        case end
    }

    private let text: String
    private var tokens: [(token: Token, offset: Int)] = []
    private var at = 0
    private var leafOffsets: [Int] = []
    private var lexError: HashIdxError?
    /// Levels of `not` and `(` open at the current token.
    private var depth = 0

    init(_ text: String) {
        self.text = text
        guard text.utf8.count <= Filter.maximumLength else {
            lexError = .invalidFilter(expression: String(text.prefix(64)) + "…", offset: 0,
                                      reason: "the filter is \(text.utf8.count) bytes; filters are limited to \(Filter.maximumLength) bytes")
            return
        }
        lex()
    }

    mutating func parse() throws(HashIdxError) -> (Filter.Node, [Int]) {
        if let lexError { throw lexError }
        guard tokens.count > 1 else { throw fail("the filter is empty") }
        let node = try orExpression()
        guard current == .end else { throw fail("expected 'and', 'or' or the end of the filter") }
        return (node, leafOffsets)
    }

    // MARK: Grammar

    private mutating func orExpression() throws(HashIdxError) -> Filter.Node {
        var parts = [try andExpression()]
        while take(.keyword("or")) { parts.append(try andExpression()) }
        return parts.count == 1 ? parts[0] : .or(parts)
    }

    private mutating func andExpression() throws(HashIdxError) -> Filter.Node {
        var parts = [try unary()]
        while take(.keyword("and")) { parts.append(try unary()) }
        return parts.count == 1 ? parts[0] : .and(parts)
    }

    private mutating func unary() throws(HashIdxError) -> Filter.Node {
        if current == .keyword("not") || current == .symbol("(") {
            guard depth < Filter.maximumDepth else {
                throw fail("the filter nests 'not' and parentheses deeper than \(Filter.maximumDepth) levels; write it flatter")
            }
            depth += 1
            defer { depth -= 1 }
            if take(.keyword("not")) { return .not(try unary()) }
            _ = take(.symbol("("))
            let inner = try orExpression()
            guard take(.symbol(")")) else { throw fail("expected ')'") }
            return inner
        }
        return try predicate()
    }

    private mutating func predicate() throws(HashIdxError) -> Filter.Node {
        guard case let .name(attribute) = current else {
            if case let .keyword(k) = current { throw fail("expected an attribute name, found the keyword '\(k)'") }
            throw fail("expected an attribute name, 'not' or '('")
        }
        leafOffsets.append(offset)
        at += 1
        if case let .symbol(s) = current, let op = Filter.Comparison(rawValue: s == "==" ? "=" : s) {
            at += 1
            return .compare(attribute, op, try literal())
        }
        if take(.keyword("in")) { return .isIn(attribute, try list()) }
        if current == .keyword("not"), tokens[at + 1].token == .keyword("in") {
            at += 2
            return .not(.isIn(attribute, try list()))
        }
        if take(.keyword("contains")) {
            guard case let .string(s) = current else { throw fail("'contains' takes a quoted string") }
            at += 1
            return .contains(attribute, s)
        }
        if take(.keyword("is")) {
            let negated = take(.keyword("not"))
            guard take(.keyword("null")) else { throw fail("expected 'null' after 'is'") }
            return negated ? .not(.isNull(attribute)) : .isNull(attribute)
        }
        // A bare name: the boolean attribute is true.
        return .compare(attribute, .equal, .boolean(true))
    }

    private mutating func list() throws(HashIdxError) -> [AttributeValue] {
        guard take(.symbol("(")) else { throw fail("expected '(' after 'in'") }
        var values = [try literal()]
        while take(.symbol(",")) { values.append(try literal()) }
        guard take(.symbol(")")) else { throw fail("expected ',' or ')' in the list") }
        return values
    }

    private mutating func literal() throws(HashIdxError) -> AttributeValue {
        let t = current
        switch t {
        case let .string(s): at += 1; return .string(s)
        case .keyword("true"): at += 1; return .boolean(true)
        case .keyword("false"): at += 1; return .boolean(false)
        case let .number(n, integral):
            if integral {
                guard let i = Int64(n), abs(i) <= AttributeValue.integerLimit else { throw fail("\(n) is beyond ±2^53") }
                at += 1
                return .integer(i)
            }
            guard let x = Double(n), x.isFinite else { throw fail("\(n) is not a finite number") }
            at += 1
            return .float(x)
        default:
            throw fail("expected a value: a quoted string, a number, true or false")
        }
    }

    // MARK: Tokens

    private var current: Token { tokens[at].token }
    private var offset: Int { tokens[at].offset }

    private mutating func take(_ t: Token) -> Bool {
        guard current == t else { return false }
        at += 1
        return true
    }

    private func fail(_ reason: String) -> HashIdxError {
        .invalidFilter(expression: text, offset: offset, reason: reason)
    }

    private mutating func lex() {
        let chars = Array(text)
        var i = 0
        func isNameStart(_ c: Character) -> Bool { c == "_" || (c.isASCII && c.isLetter) }
        func isName(_ c: Character) -> Bool { isNameStart(c) || (c.isASCII && c.isNumber) || c == "-" || c == "." }
        while i < chars.count {
            let c = chars[i]
            if c.isWhitespace { i += 1; continue }
            let start = i
            if isNameStart(c) {
                while i < chars.count && isName(chars[i]) { i += 1 }
                let word = String(chars[start..<i])
                let lower = word.lowercased()
                tokens.append((Self.keywords.contains(lower) ? .keyword(lower) : .name(word), start))
            } else if c == "\"" {
                // The JSON string rules, on the literal's UTF-8 bytes.
                var j = i + 1
                while j < chars.count && chars[j] != "\"" { j += chars[j] == "\\" ? 2 : 1 }
                guard j < chars.count else {
                    lexError = .invalidFilter(expression: text, offset: start, reason: "the string is not closed")
                    return
                }
                var scanner = JSONScanner(bytes: ArraySlice(Array(String(chars[i...j]).utf8)))
                guard let s = scanner.string() else {
                    lexError = .invalidFilter(expression: text, offset: start, reason: "invalid string (JSON escapes only)")
                    return
                }
                tokens.append((.string(s), start))
                i = j + 1
            } else if c.isASCII && (c.isNumber || c == "-" || c == ".") {
                while i < chars.count && (chars[i].isASCII && (chars[i].isNumber || "+-.eE".contains(chars[i]))) { i += 1 }
                let n = String(chars[start..<i])
                var scanner = JSONScanner(bytes: ArraySlice(Array(n.utf8)))
                guard let (parsed, integral) = scanner.number(), scanner.atEnd, parsed == n else {
                    lexError = .invalidFilter(expression: text, offset: start, reason: "'\(n)' is not a number")
                    return
                }
                tokens.append((.number(n, integral: integral), start))
            } else {
                let two = i + 1 < chars.count ? String(chars[i...(i + 1)]) : ""
                if ["<=", ">=", "!=", "=="].contains(two) {
                    tokens.append((.symbol(two), start)); i += 2
                } else if "=<>(),".contains(c) {
                    tokens.append((.symbol(String(c)), start)); i += 1
                } else {
                    lexError = .invalidFilter(expression: text, offset: start, reason: "unexpected character '\(c)'")
                    return
                }
            }
        }
        tokens.append((.end, chars.count))
    }
}
