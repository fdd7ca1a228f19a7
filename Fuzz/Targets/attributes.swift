// Fuzz target: the attributes-file reader (AttributesFile, JSON lines) and the table it
// builds. An accepted file is then checked: one row per line, every value of its key's type.
@testable import HashIdx

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let path = scratchDirectory + "/input.jsonl"
    writeInput(data, size, to: path)
    guard let table = try? AttributesFile.read(path: path) else { return 0 }
    for r in 0..<table.count {
        for (key, value) in table[r] {
            precondition(table.schema[key].map { $0.accepts(value.type) } ?? false, "a value of another type than its key's")
        }
    }
    _ = table.gathering((0..<table.count).reversed())
    return 0
}
