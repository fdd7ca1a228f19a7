// Fuzz target: the write-log reader (docs/FORMAT.md §4). The input replaces the write log of a
// small valid index whose writer committed adds (with attributes), an upsert and deletes to
// the log (its manifest and shards stay intact); the index is then opened, its log replayed,
// and used.
@testable import HashIdx

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    writeSeedsIfAsked([Format.logName(1)], of: referenceIndexWithLog)
    _ = referenceIndexWithLog
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let dir = copyOfReferenceIndex("writelog-target.hidx")
    writeInput(data, size, to: dir + "/" + Format.logName(1))
    exerciseIndex(at: dir)
    return 0
}
