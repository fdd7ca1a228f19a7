import Foundation

/// Deterministic clustered vectors: `count` rows of dimension `dim` around `clusters`
/// Gaussian centres (row `i` belongs to centre `i % clusters`), noise of deviation `spread`.
public func clusteredVectors(count: Int, dim: Int, clusters: Int = 20, spread: Float = 0.6, seed: UInt64 = 7) -> [[Float]] {
    var rng = TestRandom(seed: seed)
    let centres = (0..<clusters).map { _ in (0..<dim).map { _ in Float(rng.nextGaussian()) } }
    return (0..<count).map { i in
        let c = centres[i % clusters]
        return c.map { $0 + spread * Float(rng.nextGaussian()) }
    }
}

/// Exact cosine top-k of `query` over `rows` (ties by lower row), skipping `excluding`.
public func exactTopK(_ query: [Float], _ rows: [[Float]], k: Int, excluding: Int? = nil) -> [Int] {
    func norm(_ v: [Float]) -> Double { v.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() }
    let qn = norm(query)
    var scored: [(Int, Double)] = []
    for (i, r) in rows.enumerated() where i != excluding {
        var dot = 0.0
        for j in 0..<r.count { dot += Double(r[j]) * Double(query[j]) }
        scored.append((i, dot / (qn * norm(r))))
    }
    scored.sort { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
    return scored.prefix(k).map(\.0)
}

/// Bytes of a `.npy` file holding values of dtype `descr` in `shape` (payload given raw).
public func npyBytes(descr: String, shape: [Int], payload: [UInt8], fortran: Bool = false, version: UInt8 = 1) -> [UInt8] {
    let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shapeText), }"
    let prefix = version == 1 ? 10 : 12
    while (prefix + header.utf8.count + 1) % 64 != 0 { header += " " }
    header += "\n"
    var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
    let n = header.utf8.count
    if version == 1 {
        out += [UInt8(n & 0xFF), UInt8(n >> 8)]
    } else {
        out += [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)]
    }
    return out + Array(header.utf8) + payload
}

/// Little-endian bytes of `values`.
public func float32Bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
}

/// Writes a float32 `.npy` of `rows`.
public func writeNpy(_ path: String, rows: [[Float]]) {
    writeFile(path, npyBytes(descr: "<f4", shape: [rows.count, rows.first?.count ?? 0], payload: float32Bytes(rows.flatMap { $0 })))
}

/// `groups` well-separated directions in `dim` dimensions, `perGroup` noisy rows around
/// each; row `i` belongs to group `i % groups`.
public func separatedGroups(groups: Int, perGroup: Int, dim: Int, seed: UInt64 = 5) -> [[Float]] {
    var rng = TestRandom(seed: seed)
    let centres = (0..<groups).map { _ in (0..<dim).map { _ in Float(rng.nextGaussian()) } }
    return (0..<(groups * perGroup)).map { i in centres[i % groups].map { $0 + 0.15 * Float(rng.nextGaussian()) } }
}

/// The fraction of items whose cluster's most common label is their own.
public func clusterPurity(_ clusters: [Int], labels: [Int]) -> Double {
    var counts: [Int: [Int: Int]] = [:]
    for (c, l) in zip(clusters, labels) { counts[c, default: [:]][l, default: 0] += 1 }
    return Double(counts.values.reduce(0) { $0 + ($1.values.max() ?? 0) }) / Double(labels.count)
}

/// `count` rows in `dim` dimensions whose class (one of `classes`) is a small offset
/// along its own direction in the last dimensions, while most of the variance comes from
/// class-independent clusters in the first ones: cosine neighbours mostly ignore the
/// class, a supervised hash can find it.
public func hiddenClasses(count: Int, dim: Int = 32, classes: Int = 4, seed: UInt64 = 11) -> (rows: [[Float]], labels: [Int]) {
    var rng = TestRandom(seed: seed)
    let clusters = (0..<8).map { _ in (0..<dim).map { j in j < dim / 2 ? Float(rng.nextGaussian()) * 2 : 0 } }
    var rows: [[Float]] = []
    var labels: [Int] = []
    for i in 0..<count {
        let c = Int(rng.next() % UInt64(classes))
        var v = clusters[i % clusters.count].map { $0 + Float(rng.nextGaussian()) * 0.5 }
        v[dim / 2 + c] += 1.2
        rows.append(v)
        labels.append(c)
    }
    return (rows, labels)
}

/// Writes one label per line (`class-N`; an empty line for `nil`, an unlabelled row).
public func writeLabels(_ path: String, _ labels: [Int?]) {
    writeFile(path, Array(labels.map { $0.map { "class-\($0)" } ?? "" }.joined(separator: "\n").utf8 + [0x0A]))
}
