// Fuzz target: the .fvecs vectors reader (VectorFile).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let path = scratchDirectory + "/input.fvecs"
    writeInput(data, size, to: path)
    exerciseVectors(at: path)
    return 0
}
