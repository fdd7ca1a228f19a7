// Fuzz target: the manifest reader. The input replaces the manifest of a small valid index
// (its shards stay intact); the index is then opened and used.
@testable import HashIdx

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    writeSeedsIfAsked([Format.manifestName(1)])
    _ = referenceIndex
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let dir = copyOfReferenceIndex("manifest-target.hidx")
    writeInput(data, size, to: dir + "/" + Format.manifestName(1))
    exerciseIndex(at: dir)
    return 0
}
