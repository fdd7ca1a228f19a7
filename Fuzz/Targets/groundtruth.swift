// Fuzz target: the ground-truth readers (GroundTruthFile: .npy, .ivecs, .ibin). The
// input's first byte picks the format; the rest is the file.
@testable import HashIdx

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard size >= 1, let data else { return 0 }
    let path = scratchDirectory + "/input." + ["npy", "ivecs", "ibin"][Int(data[0]) % 3]
    writeInput(data + 1, size - 1, to: path)
    guard let gt = try? GroundTruthFile(path: path) else { return 0 }
    precondition(gt.count > 0 && gt.columns > 0 && gt.neighbours.count == gt.count * gt.columns, "inconsistent ground truth")
    for r in 0..<gt.count { _ = gt.row(r).reduce(0, &+) }
    return 0
}
