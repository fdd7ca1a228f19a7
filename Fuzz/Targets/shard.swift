// Fuzz target: the shard reader. The input replaces shard 0 of a small valid index; the
// manifest is rewritten to record the input's size and header checksum (a crafted file
// can match its manifest), and the index is opened and used.
@testable import HashIdx

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    writeSeedsIfAsked([Format.shardName(1, 0), Format.shardName(1, 1)])
    _ = referenceIndex
    return 0
}

/// The reference index's manifest.
let referenceManifest: Manifest = {
    let bytes = try! FileSystem.readSmallFile(referenceIndex + "/" + Format.manifestName(1), limit: 1 << 24)
    return try! bytes.withUnsafeBytes { b throws(HashIdxError) in try Manifest.decode(b, path: "reference manifest") }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let dir = copyOfReferenceIndex("shard-target.hidx")
    writeInput(data, size, to: dir + "/" + Format.shardName(1, 0))
    var manifest = referenceManifest
    manifest.shards[0].fileSize = UInt64(size)
    // The header checksum sits after the fixed header and the section table.
    if size >= Format.shardHeaderFixedSize, let data {
        let sections = Int(UnsafeRawBufferPointer(start: data, count: size).le(UInt32.self, at: 48))
        let at = Format.shardHeaderFixedSize + min(sections, 1 << 20) * Format.sectionEntrySize
        if at + 4 <= size { manifest.shards[0].headerCRC = UnsafeRawBufferPointer(start: data, count: size).le(UInt32.self, at: at) }
    }
    let encoded = manifest.encoded()
    encoded.withUnsafeBufferPointer { writeInput($0.baseAddress, $0.count, to: dir + "/" + Format.manifestName(1)) }
    exerciseIndex(at: dir)
    return 0
}
