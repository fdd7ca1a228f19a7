// Fuzz target: the write-log reader (docs/FORMAT.md §4). The input replaces the write log of a
// small valid index whose writer committed adds (with attributes), an upsert and deletes to
// the log (its manifest and shards stay intact); the index is then opened, its log replayed,
// and used.
@testable import HashIdx

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    if let out = getenv("HASHIDX_FUZZ_WRITE_SEEDS").map({ String(cString: $0) }) {
        _ = mkdir(out, 0o755)
        let name = Format.logName(1)
        let bytes = try! FileSystem.readSmallFile(referenceIndexWithLog + "/" + name, limit: 1 << 24)
        bytes.withUnsafeBufferPointer { writeInput($0.baseAddress, $0.count, to: out + "/" + name) }
        exit(0)
    }
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
