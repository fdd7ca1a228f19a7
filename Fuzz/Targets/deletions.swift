// Fuzz target: the deletion-file reader. The input replaces the deletion file of a small
// valid index with deletions (its manifest and shards stay intact); the index is then opened
// and used.
@testable import HashIdx

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    writeSeedsIfAsked([Format.deletionsName(2, 0)], of: referenceIndexWithDeletions)
    _ = referenceIndexWithDeletions
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let dir = scratchDirectory + "/deletions-target.hidx"
    _ = mkdir(dir, 0o700)
    for file in ["CURRENT", Format.manifestName(2), Format.shardName(1, 0), Format.shardName(1, 1)] {
        let bytes = try! FileSystem.readSmallFile(referenceIndexWithDeletions + "/" + file, limit: 1 << 24)
        bytes.withUnsafeBufferPointer { writeInput($0.baseAddress, $0.count, to: dir + "/" + file) }
    }
    writeInput(data, size, to: dir + "/" + Format.deletionsName(2, 0))
    exerciseIndex(at: dir)
    return 0
}
