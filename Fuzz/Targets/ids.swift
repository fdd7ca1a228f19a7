// Fuzz target: the ids-file reader (IDList).
@testable import HashIdx

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let path = scratchDirectory + "/input.txt"
    writeInput(data, size, to: path)
    guard let ids = try? IDList.read(path: path) else { return 0 }
    precondition(ids.allSatisfy { !$0.isEmpty } && Set(ids).count == ids.count, "accepted empty or duplicate ids")
    return 0
}
