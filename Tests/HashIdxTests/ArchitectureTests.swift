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

    /// The repository's root folder.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardizedFileURL.path
    /// The library's sources.
    static let library = repository + "/Sources/HashIdx"

    /// The Swift files under `folder`, recursively, as paths relative to it, sorted; hidden
    /// folders (`.build`) are skipped.
    static func swiftFiles(under folder: String) throws -> [String] {
        var out: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) where !name.hasPrefix(".") {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder + "/" + name, isDirectory: &isFolder) else { continue }
            if isFolder.boolValue {
                out += try swiftFiles(under: folder + "/" + name).map { name + "/" + $0 }
            } else if name.hasSuffix(".swift") {
                out.append(name)
            }
        }
        return out.sorted()
    }

    /// Every Swift file of the library as (layer folder, path under `Sources/HashIdx`, code
    /// without comments and strings): a file in a subfolder belongs to its top folder's layer.
    static func libraryFiles() throws -> [(folder: String, path: String, code: String)] {
        try swiftFiles(under: library).map { path in
            let code = strippingCommentsAndStrings(try String(contentsOfFile: library + "/" + path, encoding: .utf8))
            return (String(path.prefix { $0 != "/" }), path, code)
        }
    }

    func testDependenciesPointDownTheLayers() throws {
        let step = Dictionary(uniqueKeysWithValues: Self.layers.enumerated().flatMap { i, folders in folders.map { ($0, i) } })
        // (The DocC catalog, HashIdx.docc, holds no code.)
        let found = try FileManager.default.contentsOfDirectory(atPath: Self.library).filter { !$0.hasPrefix(".") && !$0.hasSuffix(".docc") }
        XCTAssertEqual(Set(found), Set(step.keys), "every folder of Sources/HashIdx has a place in the layers")

        // Every top-level type and function, and the layer that declares it.
        let files = try Self.libraryFiles()
        XCTAssertTrue(files.contains { $0.path.hasPrefix("Search/Filters/") }, "subfolders are read too")
        var home: [String: String] = [:]
        for file in files where step[file.folder] != nil {
            for declared in Self.declarations(in: file.code) where home[declared] == nil { home[declared] = file.folder }
        }
        XCTAssertGreaterThan(home.count, 50)
        var wrong: [String] = []
        for file in files {
            guard let here = step[file.folder] else { wrong.append("\(file.path) is in no layer"); continue }
            let local = Set(Self.declarations(in: file.code, nested: true))
            for token in Self.identifiers(in: file.code) where !local.contains(token) {
                guard let owner = home[token], owner != file.folder else { continue }
                if step[owner]! >= here { wrong.append("\(file.path) uses \(owner).\(token)") }
            }
        }
        XCTAssertEqual(Set(wrong).sorted(), [], "dependencies must point down the layers (docs/ARCHITECTURE.md)")
    }

    /// A shard's bytes are storage's business: every other layer asks `Shard` and its views
    /// for codes, vectors, norms, ids and attributes, and storage's column predicates for the
    /// rows a filter keeps.
    ///
    /// The compiler keeps most addresses in: the mapping and the norms (`Shard.file`,
    /// `Shard.norms`), the codes' address (`ShardCodes`), every address of the attribute
    /// section (`AttributeColumns.Column`, `AttributeDictionary`) and the deletion bits
    /// (`Deletions`) are `private` to the one storage file that reads through them. The rest
    /// is this test's rule:
    /// 1. the block sections' members, shared by `Shard`'s extensions across storage files,
    ///    and the calls that return a block's or a vector's raw address (`block(_:ids:scratch:)`,
    ///    `cachedBlock(holding:ids:cursor:)`, `vector(at:cursor:)`) are named in no file
    ///    outside `Storage/` (above it: `storedVector(at:cursor:)`, `unitVector(at:…)`);
    /// 2. the openers of storage's views (`withUnsafeStored…`, which hand out an address for
    ///    a C kernel) are called outside `Storage/` only in `Search/Kernels.swift`, the
    ///    search layer's one door to the C kernels;
    /// 3. in `Search/`, only `Kernels.swift` imports `CHashIdxKernels`.
    func testShardBytesStayInStorage() throws {
        let sectionMembers = ["vectorIndex", "vectorData", "vectorDataCRC", "idOrder", "idIndex", "idData", "idDataCRC", "verified",
                              "block(", "cachedBlock(", "vector(at:"]
        let door = "Search/Kernels.swift"
        var outside: [String] = []
        var opened = false
        for file in try Self.libraryFiles() where file.folder != "Storage" {
            for member in sectionMembers where file.code.contains("." + member) { outside.append("\(file.path): .\(member)") }
            if file.code.contains(".withUnsafeStored") {
                if file.path == door { opened = true } else { outside.append("\(file.path): opens a storage view") }
            }
            if file.folder == "Search" && file.path != door && file.code.contains("import CHashIdxKernels") {
                outside.append("\(file.path): imports CHashIdxKernels (call it through Kernels)")
            }
        }
        XCTAssertEqual(outside, [], "storage's bytes stay in Storage/; search reaches C through Kernels (docs/ARCHITECTURE.md)")
        XCTAssertTrue(opened, "the rule still names the file that opens the views")
    }

    /// The most lines a Swift file may have.
    static let maximumLines = 400

    /// No Swift file of the repository (library, tools, tests, server, fuzz targets, examples,
    /// benchmarks) is longer than ``maximumLines``: a longer one holds more than one job.
    func testSwiftFilesAreAtMost400Lines() throws {
        var long: [String] = []
        var checked = 0
        for top in ["Sources", "Tests", "Server", "Fuzz", "Examples", "Benchmarks"] {
            for path in try Self.swiftFiles(under: Self.repository + "/" + top) {
                let name = top + "/" + path
                let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.repository + "/" + name))
                let lines = bytes.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } + (bytes.last.map { $0 == 0x0A ? 0 : 1 } ?? 0)
                checked += 1
                if lines > Self.maximumLines { long.append("\(name): \(lines) lines") }
            }
        }
        XCTAssertGreaterThan(checked, 150)
        XCTAssertEqual(long, [], "split files longer than \(Self.maximumLines) lines into files with one job each")
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
