// Fuzz target: the .fbin vectors reader (VectorFile).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 { fuzzVectorFile(data, size, ext: "fbin") }
