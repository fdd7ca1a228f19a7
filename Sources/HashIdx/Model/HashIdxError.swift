#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Every error that HashIdx reports.
///
/// Each case carries what a user needs to act on it: the file, the row or the value at
/// fault. ``description`` is one line suitable for a command-line error message, and
/// `localizedDescription` (``errorDescription``) is the same line.
///
/// Places in text files are 1-based lines; places in values given in memory (an array of
/// ids, an ``AttributeTable`` built from rows, an array of ``IndexItem``s) are 0-based rows.
public enum HashIdxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file could not be opened, read or written.
    case io(path: String, reason: String)
    /// The input file's extension is not one that HashIdx reads.
    case unknownFormat(path: String, reason: String)
    /// A vectors or ids file is malformed: bad header, unsupported dtype, size mismatch.
    case malformedInput(path: String, reason: String)
    /// The input holds no rows.
    case emptyInput(path: String)
    /// A vector to index contains NaN or an infinite value.
    case nonFiniteValue(source: String, row: Int)
    /// A query vector contains NaN or an infinite value. `row`: the query's 0-based row in a
    /// batch of queries; `nil` for a single query.
    case nonFiniteQuery(source: String, row: Int?)
    /// A vector is all zeros, so its cosine similarity is undefined.
    case zeroVector(source: String, row: Int)
    /// A vector's length differs from the index's dimension.
    case dimensionMismatch(expected: Int, actual: Int, source: String)
    /// The ids file does not have exactly one id per row.
    case idCountMismatch(path: String, ids: Int, rows: Int)
    /// The same id appears on two lines of an ids file (1-based lines).
    case duplicateID(path: String, id: String, firstLine: Int, secondLine: Int)
    /// The same id appears twice among ids given in memory (an array of ids or of
    /// ``IndexItem``s), at two 0-based rows.
    case duplicateIDInMemory(source: String, id: String, firstRow: Int, secondRow: Int)
    /// An added item's id is already an item's in the index: upsert replaces an item, or
    /// delete it first.
    case idExists(id: String)
    /// An id is empty, too long, holds a control character or is not valid UTF-8. `line` is
    /// 1-based in an ids file; 0 for ids given in memory, whose `reason` then begins with the
    /// 0-based row.
    case invalidID(path: String, line: Int, reason: String)
    /// An option has a value HashIdx cannot use.
    case invalidArgument(name: String, reason: String)
    /// The id asked for is not in the index.
    case unknownID(String)
    /// The path does not hold a HashIdx index.
    case notAnIndex(path: String, reason: String)
    /// The index's bytes do not match their checksums or recorded sizes.
    case corruptIndex(path: String, reason: String)
    /// The index was written in a format version this hashidx does not read: an older one
    /// (rebuild the index) or a newer one (upgrade hashidx). `supported` is the version
    /// this hashidx reads and writes.
    case unsupportedVersion(path: String, version: Int, supported: Int)
    /// An attributes file (or attribute values given in code) is invalid: bad JSON, a value of
    /// the wrong type for its key, or a row count that does not match the vectors. `line` is
    /// 1-based; 0 when the values did not come from a file, and then `reason` begins with
    /// the 0-based row when there is one.
    case invalidAttributes(path: String, line: Int, reason: String)
    /// A filter expression is invalid: it does not parse, names an attribute the index does
    /// not have, or compares an attribute with a value of another type. `offset` is the
    /// 0-based character offset in `expression` where the problem is.
    case invalidFilter(expression: String, offset: Int, reason: String)

    /// One line naming the file, row or value at fault and what to do about it, as the
    /// command line prints it after `hashidx: error: `.
    public var description: String {
        switch self {
        case let .io(path, reason):
            return "\(path): \(reason)"
        case let .unknownFormat(path, reason):
            return "\(path): \(reason)"
        case let .malformedInput(path, reason):
            return "\(path): \(reason)"
        case let .emptyInput(path):
            return "\(path): the input holds no vectors"
        case let .nonFiniteValue(source, row):
            return "\(source): row \(row) contains NaN or an infinite value; clean the input before indexing"
        case let .nonFiniteQuery(source, nil):
            return "\(source): the query contains NaN or an infinite value; clean the query before searching"
        case let .nonFiniteQuery(source, row?):
            return "\(source): query row \(row) contains NaN or an infinite value; clean the queries before searching"
        case let .zeroVector(source, row):
            return "\(source): row \(row) is all zeros, so its cosine similarity is undefined; drop it or give it a direction"
        case let .dimensionMismatch(expected, actual, source):
            return "\(source): vector has dimension \(actual) but the index has dimension \(expected)"
        case let .idCountMismatch(path, ids, rows):
            return "\(path): holds \(ids) ids but the vectors file has \(rows) rows; give exactly one id per row"
        case let .duplicateID(path, id, first, second):
            return "\(path): id \"\(id)\" appears on line \(first) and again on line \(second); ids must be unique"
        case let .duplicateIDInMemory(source, id, first, second):
            return "\(source): id \"\(id)\" is at row \(first) and again at row \(second) (rows count from 0); ids must be unique"
        case let .idExists(id):
            return "id \"\(id)\" is already in the index; use upsert to replace it, or delete it first"
        case let .invalidID(path, line, reason):
            return line > 0 ? "\(path): line \(line): \(reason)" : "\(path): \(reason)"
        case let .invalidArgument(name, reason):
            return "\(name): \(reason)"
        case let .unknownID(id):
            return "id \"\(id)\" is not in the index"
        case let .notAnIndex(path, reason):
            return "\(path): not a hashidx index (\(reason))"
        case let .corruptIndex(path, reason):
            return "\(path): index is corrupt (\(reason)); rebuild it or restore it from a copy"
        case let .invalidAttributes(path, line, reason):
            return line > 0 ? "\(path): line \(line): \(reason)" : "\(path): \(reason)"
        case let .invalidFilter(expression, offset, reason):
            let (text, column) = Self.excerpt(of: expression, around: offset)
            return "filter: \(reason) at character \(min(max(0, offset), expression.count) + 1):\n  \(text)\n  \(String(repeating: " ", count: column))^"
        case let .unsupportedVersion(path, version, supported) where version < supported:
            return "\(path): index format version \(version) was written by an older hashidx; this one reads version \(supported): rebuild the index with `hashidx build`"
        case let .unsupportedVersion(path, version, supported):
            return "\(path): index format version \(version) is newer than this hashidx reads (version \(supported)); upgrade hashidx"
        }
    }
}

extension HashIdxError: LocalizedError {
    /// The same line as ``description``, so that `error.localizedDescription` says what is
    /// wrong and what to do rather than "The operation could not be completed".
    public var errorDescription: String? { description }
}

extension HashIdxError {
    /// At most `width` characters of `expression` around character `offset`, with `…` where
    /// text was cut, and the column of `offset` in that excerpt: a message about a long filter
    /// (up to ``Filter/maximumLength``) quotes the place, not the whole text.
    package static func excerpt(of expression: String, around offset: Int, width: Int = 120) -> (text: String, column: Int) {
        let chars = Array(expression)
        let at = min(max(0, offset), chars.count)
        guard chars.count > width else { return (expression, at) }
        let start = max(0, min(at - width / 2, chars.count - width))
        let end = min(chars.count, start + width)
        let head = start > 0 ? "…" : ""
        let tail = end < chars.count ? "…" : ""
        return (head + String(chars[start..<end]) + tail, at - start + head.count)
    }
}
