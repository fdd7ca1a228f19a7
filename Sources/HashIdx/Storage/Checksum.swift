import CHashIdxKernels

/// CRC-32C of `bytes`.
func crc32c(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    hidx_crc32c(0, bytes.baseAddress, bytes.count)
}

/// CRC-32C of `bytes`.
func crc32c(_ bytes: [UInt8]) -> UInt32 {
    bytes.withUnsafeBytes { crc32c($0) }
}

/// `crc` (the CRC-32C of the bytes before) extended over `bytes`.
func crc32c(_ bytes: [UInt8], continuing crc: UInt32) -> UInt32 {
    bytes.withUnsafeBytes { hidx_crc32c(crc, $0.baseAddress, $0.count) }
}

/// Whether the CRC-32C of `bytes` is `stored`. Every reader checks checksums through this
/// one function: fuzzing builds (`-D HASHIDX_FUZZING`, see `Fuzz/`) accept any checksum, so
/// that the fuzzer reaches the structural checks behind them, as a crafted file with
/// correct checksums would.
func checksum(of bytes: UnsafeRawBufferPointer, matches stored: UInt32) -> Bool {
    #if HASHIDX_FUZZING
    return true
    #else
    return crc32c(bytes) == stored
    #endif
}
