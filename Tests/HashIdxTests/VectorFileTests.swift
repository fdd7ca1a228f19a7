import Foundation
import XCTest
@testable import HashIdx
import HashIdxTestSupport

final class VectorFileTests: XCTestCase {
    private func rows(_ f: VectorFile) -> [[Float]] {
        (0..<f.count).map { r in
            var v = [Float](repeating: 0, count: f.dimension)
            v.withUnsafeMutableBufferPointer { f.copyRow(r, into: $0) }
            return v
        }
    }

    func testNpyFloat32() throws {
        let dir = makeTemporaryDirectory(self)
        let data: [[Float]] = [[1, 2, 3], [4, 5, -6.5]]
        writeNpy(dir + "/a.npy", rows: data)
        let f = try VectorFile(path: dir + "/a.npy")
        XCTAssertEqual(f.count, 2)
        XCTAssertEqual(f.dimension, 3)
        XCTAssertEqual(f.scalarType, .float32)
        XCTAssertEqual(rows(f), data)
    }

    func testNpyVersion2Header() throws {
        let dir = makeTemporaryDirectory(self)
        writeFile(dir + "/a.npy", npyBytes(descr: "<f4", shape: [1, 2], payload: float32Bytes([0.5, 2]), version: 2))
        XCTAssertEqual(rows(try VectorFile(path: dir + "/a.npy")), [[0.5, 2]])
    }

    func testNpyFloat16AndFloat64() throws {
        let dir = makeTemporaryDirectory(self)
        // float16: 1.0 = 0x3C00, -2.0 = 0xC000, 0.5 = 0x3800, 65504 = 0x7BFF, smallest subnormal = 0x0001
        let halves: [UInt16] = [0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x0000]
        let payload16 = halves.flatMap { h in [UInt8(h & 0xFF), UInt8(h >> 8)] }
        writeFile(dir + "/h.npy", npyBytes(descr: "<f2", shape: [2, 3], payload: payload16))
        let h = try VectorFile(path: dir + "/h.npy")
        XCTAssertEqual(h.scalarType, .float16)
        XCTAssertEqual(rows(h), [[1, -2, 0.5], [65504, 0x1p-24, 0]])

        let doubles: [Double] = [1.25, -3, 1e-3, 7]
        let payload64 = doubles.flatMap { d in withUnsafeBytes(of: d.bitPattern.littleEndian) { Array($0) } }
        writeFile(dir + "/d.npy", npyBytes(descr: "<f8", shape: [2, 2], payload: payload64))
        let d = try VectorFile(path: dir + "/d.npy")
        XCTAssertEqual(d.scalarType, .float64)
        XCTAssertEqual(rows(d), [[1.25, -3], [Float(1e-3), 7]])
    }

    func testFvecsAndFbin() throws {
        let dir = makeTemporaryDirectory(self)
        let data: [[Float]] = [[1, 0], [0.5, -1], [3, 3]]
        var fvecs: [UInt8] = []
        for r in data { fvecs += withUnsafeBytes(of: Int32(2).littleEndian) { Array($0) } + float32Bytes(r) }
        writeFile(dir + "/a.fvecs", fvecs)
        XCTAssertEqual(rows(try VectorFile(path: dir + "/a.fvecs")), data)

        var fbin = withUnsafeBytes(of: UInt32(3).littleEndian) { Array($0) } + withUnsafeBytes(of: UInt32(2).littleEndian) { Array($0) }
        fbin += float32Bytes(data.flatMap { $0 })
        writeFile(dir + "/a.fbin", fbin)
        XCTAssertEqual(rows(try VectorFile(path: dir + "/a.fbin")), data)
    }

    // MARK: Bad input

    private func assertMalformed(_ path: String, contains text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try VectorFile(path: path), file: file, line: line) { error in
            let e = error as! HashIdxError
            XCTAssertTrue(e.description.contains(path), "\(e) does not name the file", file: file, line: line)
            XCTAssertTrue(e.description.contains(text), "\(e) does not say '\(text)'", file: file, line: line)
        }
    }

    func testMissingFile() {
        assertMalformed("/nonexistent/x.npy", contains: "cannot open")
    }

    func testUnknownExtension() {
        let dir = makeTemporaryDirectory(self)
        writeFile(dir + "/a.csv", [1, 2, 3])
        assertMalformed(dir + "/a.csv", contains: "unknown extension")
    }

    func testMalformedAndTruncatedNpyHeaders() {
        let dir = makeTemporaryDirectory(self)
        writeFile(dir + "/magic.npy", Array("not numpy at all".utf8))
        assertMalformed(dir + "/magic.npy", contains: "bad magic")
        let good = npyBytes(descr: "<f4", shape: [2, 2], payload: float32Bytes([1, 2, 3, 4]))
        writeFile(dir + "/trunc.npy", Array(good[0..<40]))
        assertMalformed(dir + "/trunc.npy", contains: "truncated .npy header")
        writeFile(dir + "/short.npy", Array(good[0..<8]))
        assertMalformed(dir + "/short.npy", contains: "bad magic")
        var garbled = good
        for i in 10..<30 { garbled[i] = UInt8(ascii: "x") }
        writeFile(dir + "/garbled.npy", garbled)
        assertMalformed(dir + "/garbled.npy", contains: "malformed .npy header")
        writeFile(dir + "/3d.npy", npyBytes(descr: "<f4", shape: [1, 2, 2], payload: float32Bytes([1, 2, 3, 4])))
        assertMalformed(dir + "/3d.npy", contains: "3 dimensions")
        writeFile(dir + "/fortran.npy", npyBytes(descr: "<f4", shape: [2, 2], payload: float32Bytes([1, 2, 3, 4]), fortran: true))
        assertMalformed(dir + "/fortran.npy", contains: "Fortran-order")
    }

    func testUnsupportedDtype() {
        let dir = makeTemporaryDirectory(self)
        for descr in ["<i4", ">f4", "<c8", "|u1"] {
            writeFile(dir + "/t.npy", npyBytes(descr: descr, shape: [1, 4], payload: [UInt8](repeating: 0, count: 16)))
            assertMalformed(dir + "/t.npy", contains: "unsupported dtype '\(descr)'")
        }
    }

    func testSizeMismatch() {
        let dir = makeTemporaryDirectory(self)
        writeFile(dir + "/a.npy", npyBytes(descr: "<f4", shape: [3, 2], payload: float32Bytes([1, 2, 3, 4])))
        assertMalformed(dir + "/a.npy", contains: "does not match its header")
        var fbin = withUnsafeBytes(of: UInt32(3).littleEndian) { Array($0) } + withUnsafeBytes(of: UInt32(2).littleEndian) { Array($0) }
        fbin += float32Bytes([1, 2, 3, 4, 5])
        writeFile(dir + "/a.fbin", fbin)
        assertMalformed(dir + "/a.fbin", contains: "does not match its header")
        var huge = withUnsafeBytes(of: UInt32.max.littleEndian) { Array($0) } + withUnsafeBytes(of: UInt32.max.littleEndian) { Array($0) }
        huge += float32Bytes([1])
        writeFile(dir + "/huge.fbin", huge)
        assertMalformed(dir + "/huge.fbin", contains: "does not match its header")
        var fvecs = withUnsafeBytes(of: Int32(2).littleEndian) { Array($0) } + float32Bytes([1, 2])
        fvecs += withUnsafeBytes(of: Int32(2).littleEndian) { Array($0) } + float32Bytes([1])
        writeFile(dir + "/a.fvecs", fvecs)
        assertMalformed(dir + "/a.fvecs", contains: "not a whole number of rows")
        var mixed = withUnsafeBytes(of: Int32(2).littleEndian) { Array($0) } + float32Bytes([1, 2])
        mixed += withUnsafeBytes(of: Int32(3).littleEndian) { Array($0) } + float32Bytes([1, 2])
        writeFile(dir + "/mixed.fvecs", mixed)
        assertMalformed(dir + "/mixed.fvecs", contains: "row 1 declares dimension 3")
        writeFile(dir + "/neg.fvecs", withUnsafeBytes(of: Int32(-5).littleEndian) { Array($0) })
        assertMalformed(dir + "/neg.fvecs", contains: "declares dimension -5")
    }

    func testEmptyInput() {
        let dir = makeTemporaryDirectory(self)
        writeFile(dir + "/e.npy", npyBytes(descr: "<f4", shape: [0, 4], payload: []))
        assertMalformed(dir + "/e.npy", contains: "holds no vectors")
        writeFile(dir + "/e.fvecs", [])
        assertMalformed(dir + "/e.fvecs", contains: "holds no vectors")
        writeFile(dir + "/e.fbin", [0, 0, 0, 0, 4, 0, 0, 0])
        assertMalformed(dir + "/e.fbin", contains: "holds no vectors")
    }
}

final class IDListTests: XCTestCase {
    private func parse(_ text: [UInt8]) throws -> [String] {
        try text.withUnsafeBytes { try IDList.parse($0, path: "ids.txt") }
    }

    func testParsesLinesWithOptionalFinalNewlineAndCRLF() throws {
        XCTAssertEqual(try parse(Array("a\nb\nc".utf8)), ["a", "b", "c"])
        XCTAssertEqual(try parse(Array("a\r\nb\r\n".utf8)), ["a", "b"])
        XCTAssertEqual(try parse(Array("säle\n東京\n".utf8)), ["säle", "東京"])
    }

    func testRejectsDuplicatesEmptyAndInvalidUTF8() {
        XCTAssertThrowsError(try parse(Array("a\nb\na\n".utf8))) {
            XCTAssertEqual($0 as? HashIdxError, .duplicateID(path: "ids.txt", id: "a", firstLine: 1, secondLine: 3))
        }
        XCTAssertThrowsError(try parse(Array("a\n\nb\n".utf8))) {
            XCTAssertEqual(($0 as? HashIdxError)?.description.contains("line 2: empty id"), true)
        }
        XCTAssertThrowsError(try parse([0x61, 0x0A, 0xFF, 0xFE, 0x0A])) {
            XCTAssertEqual(($0 as? HashIdxError)?.description.contains("line 2: not valid UTF-8"), true)
        }
    }
}
