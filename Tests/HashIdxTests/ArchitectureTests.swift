import Foundation
import XCTest

/// The library's folders are layers (docs/ARCHITECTURE.md): a file may use what its own
/// folder and the layers below declare, never what a layer above (or a sibling layer)
/// declares. This test reads the sources and names every arrow that points the wrong way.
final class ArchitectureTests: XCTestCase {
    /// Layers from the bottom up; folders on the same step are siblings and stay apart.
    static let layers: [[String]] = [
        ["Model"], ["Platform"], ["Input", "Attributes"], ["Training", "Storage"], ["Build", "Search"], ["Catalog"], ["Evaluation", "Analysis"],
    ]

    func testDependenciesPointDownTheLayers() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/HashIdx").standardizedFileURL.path
        let step = Dictionary(uniqueKeysWithValues: Self.layers.enumerated().flatMap { i, folders in folders.map { ($0, i) } })
        // (The DocC catalog, HashIdx.docc, holds no code.)
        let found = try FileManager.default.contentsOfDirectory(atPath: root).filter { !$0.hasPrefix(".") && !$0.hasSuffix(".docc") }
        XCTAssertEqual(Set(found), Set(step.keys), "every folder of Sources/HashIdx has a place in the layers")

        // Every top-level type and function, and the folder that declares it.
        var files: [(folder: String, name: String, code: String)] = []
        var home: [String: String] = [:]
        for folder in step.keys.sorted() {
            for name in try FileManager.default.contentsOfDirectory(atPath: root + "/" + folder).sorted() where name.hasSuffix(".swift") {
                let code = Self.strippingCommentsAndStrings(try String(contentsOfFile: root + "/" + folder + "/" + name, encoding: .utf8))
                files.append((folder, name, code))
                for declared in Self.declarations(in: code) where home[declared] == nil { home[declared] = folder }
            }
        }
        XCTAssertGreaterThan(home.count, 50)
        var wrong: [String] = []
        for file in files {
            let local = Set(Self.declarations(in: file.code, nested: true))
            for token in Self.identifiers(in: file.code) where !local.contains(token) {
                guard let owner = home[token], owner != file.folder else { continue }
                if step[owner]! >= step[file.folder]! { wrong.append("\(file.folder)/\(file.name) uses \(owner).\(token)") }
            }
        }
        XCTAssertEqual(Set(wrong).sorted(), [], "dependencies must point down the layers (docs/ARCHITECTURE.md)")
    }

    /// A shard's section bytes are storage's business: every other layer asks `Shard` for
    /// the code, vector, norm or id of a position.
    func testShardBytesStayInStorage() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/HashIdx").standardizedFileURL.path
        let sectionMembers = ["vectorIndex", "vectorData", "vectorDataCRC", "idOrder", "idIndex", "idData", "idDataCRC", "verified"]
        var outside: [String] = []
        for folder in try FileManager.default.contentsOfDirectory(atPath: root) where folder != "Storage" && !folder.hasPrefix(".") {
            for name in try FileManager.default.contentsOfDirectory(atPath: root + "/" + folder) where name.hasSuffix(".swift") {
                let code = Self.strippingCommentsAndStrings(try String(contentsOfFile: root + "/" + folder + "/" + name, encoding: .utf8))
                for member in sectionMembers where code.contains("." + member) { outside.append("\(folder)/\(name): .\(member)") }
            }
        }
        XCTAssertEqual(outside, [])
    }

    /// Names declared by `struct`, `enum`, `class`, `protocol` or `func`: at the start of a
    /// line (top level), or anywhere with `nested`.
    static func declarations(in code: String, nested: Bool = false) -> [String] {
        var names: [String] = []
        let keywords: Set<Substring> = ["struct", "enum", "class", "protocol", "func"]
        let modifiers: Set<Substring> = ["public", "final", "private", "fileprivate", "internal", "static", "mutating",
                                         "@inline(__always)", "@discardableResult", "indirect"]
        for line in code.split(separator: "\n") {
            if !nested && (line.first == " " || line.first == "\t") { continue }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            var i = 0
            while i < words.count && modifiers.contains(words[i]) { i += 1 }
            guard i + 1 < words.count, keywords.contains(words[i]) else { continue }
            let name = words[i + 1].prefix(while: { $0.isLetter || $0.isNumber || $0 == "_" })
            if !name.isEmpty { names.append(String(name)) }
        }
        return names
    }

    /// Identifiers used in `code`, except members (after a dot) and argument labels.
    static func identifiers(in code: String) -> Set<String> {
        var out: Set<String> = []
        var current = ""
        var previous: Character = " "
        var afterDot = false
        for c in code + " " {
            if c.isLetter || c.isNumber || c == "_" {
                if current.isEmpty { afterDot = previous == "." }
                current.append(c)
            } else {
                if !current.isEmpty, !afterDot, c != ":" { out.insert(current) }
                current = ""
            }
            previous = c
        }
        return out
    }

    /// `code` without `//` comments and without the contents of string literals.
    static func strippingCommentsAndStrings(_ code: String) -> String {
        var out = ""
        for line in code.split(separator: "\n", omittingEmptySubsequences: false) {
            var inString = false
            var previous: Character = " "
            for c in line {
                if !inString && c == "/" && previous == "/" { out.removeLast(); break }
                if c == "\"" && previous != "\\" { inString.toggle(); out.append(c) } else if !inString { out.append(c) }
                previous = c
            }
            out.append("\n")
        }
        return out
    }
}
