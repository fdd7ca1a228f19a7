/// Little-endian byte writing into a growing buffer.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }
}

/// Little-endian, bounds-checked reading; every read past the end throws.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var offset: Int
    let fail: (String) -> HashIdxError

    init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0, fail: @escaping (String) -> HashIdxError) {
        self.bytes = bytes
        self.offset = offset
        self.fail = fail
    }

    mutating func need(_ n: Int, _ what: String) throws(HashIdxError) {
        guard n >= 0, n <= bytes.count - offset else { throw fail("truncated \(what)") }
    }
    mutating func u8(_ what: String) throws(HashIdxError) -> UInt8 {
        try need(1, what); defer { offset += 1 }
        return bytes[offset]
    }
    mutating func u32(_ what: String) throws(HashIdxError) -> UInt32 {
        try need(4, what); defer { offset += 4 }
        return bytes.le(UInt32.self, at: offset)
    }
    mutating func u64(_ what: String) throws(HashIdxError) -> UInt64 {
        try need(8, what); defer { offset += 8 }
        return bytes.le(UInt64.self, at: offset)
    }
    mutating func f32s(_ n: Int, _ what: String) throws(HashIdxError) -> [Float] {
        guard n >= 0, n <= (bytes.count - offset) / 4 else { throw fail("truncated \(what)") }
        var out = [Float](repeating: 0, count: n)
        for i in 0..<n { out[i] = Float(bitPattern: bytes.le(UInt32.self, at: offset + 4 * i)) }
        offset += 4 * n
        return out
    }
    mutating func raw(_ n: Int, _ what: String) throws(HashIdxError) -> UnsafeRawBufferPointer {
        try need(n, what); defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
    }
}
