// Shared by every fuzz target (see Fuzz/README.md): where inputs are written, and what
// is done with a file once a reader accepts it.

@testable import HashIdx

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// This process's scratch directory: `$HASHIDX_FUZZ_SCRATCH/<pid>` (the fuzz script removes
/// it), else `/tmp/hashidx-fuzz-<pid>`.
let scratchDirectory: String = {
    let base = getenv("HASHIDX_FUZZ_SCRATCH").map { String(cString: $0) } ?? "/tmp"
    let dir = "\(base)/hashidx-fuzz-\(getpid())"
    _ = mkdir(base, 0o700)
    _ = mkdir(dir, 0o700)
    return dir
}()

/// Writes `size` bytes at `data` to `path`, replacing it.
func writeInput(_ data: UnsafePointer<UInt8>?, _ size: Int, to path: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    precondition(fd >= 0, "cannot write \(path)")
    var done = 0
    while done < size {
        let n = write(fd, data! + done, size - done)
        precondition(n > 0, "cannot write \(path)")
        done += n
    }
    close(fd)
}

/// The body of the `npy`, `fvecs` and `fbin` targets: the input as a vectors file with
/// extension `ext`, read fully if the reader accepts it.
func fuzzVectorFile(_ data: UnsafePointer<UInt8>?, _ size: Int, ext: String) -> Int32 {
    let path = scratchDirectory + "/input." + ext
    writeInput(data, size, to: path)
    exerciseVectors(at: path)
    return 0
}

/// Reads every row of an accepted vectors file, through the map and with `pread`.
func exerciseVectors(at path: String) {
    guard let file = try? VectorFile(path: path) else { return }
    precondition(file.count > 0 && file.dimension > 0, "accepted an empty vectors file")
    var row = [Float](repeating: 0, count: file.dimension)
    row.withUnsafeMutableBufferPointer { b in
        for r in 0..<file.count {
            file.copyRow(r, into: b)
            file.copySampledRow(r, into: b)
        }
    }
}

/// Opens an index and uses all of it: verify, searches (every probe count), look-ups by
/// row and by id. Any error is fine; a crash or a sanitizer report is not.
func exerciseIndex(at path: String) {
    guard let index = try? Index(path: path) else { return }
    _ = try? index.verify()
    let d = index.dimension
    let query = (0..<d).map { Float($0 % 7) - 2.5 }
    for probes in [1, 3, 1 << 20] {
        _ = try? index.search(query, options: SearchOptions(k: 5, candidates: 40, probes: probes))
        _ = try? index.candidates(for: query, options: SearchOptions(k: 3, candidates: 10, probes: probes))
    }
    let n = index.count
    for r in Set([0, n / 2, n - 1]) where r >= 0 && r < n {
        _ = try? index.vector(ofRow: r)
        if let id = try? index.id(ofRow: r) {
            _ = try? index.row(forID: id)
            _ = try? index.search(similarToID: id, options: SearchOptions(k: 4, candidates: 30, probes: 2))
        }
    }
    _ = try? index.row(forID: "no such id")
    // Attributes: look-ups and filtered searches down both plans (a few matches; many).
    for r in Set([0, n - 1]) where r >= 0 && r < n { _ = try? index.attributes(ofRow: r) }
    for text in fuzzFilters {
        guard let filter = try? Filter(text) else { continue }
        for probes in [1, 2, 1 << 20] {
            _ = try? index.search(query, options: SearchOptions(k: 5, candidates: 20, probes: probes, filter: filter,
                                                                fields: ["c", "p", "t"]))
        }
        if let id = try? index.id(ofRow: 0) {
            _ = try? index.search(similarToID: id, options: SearchOptions(k: 3, candidates: 10, probes: 2, filter: filter))
        }
    }
}

/// Filters the index targets search with: every attribute type, a selective and a broad one.
let fuzzFilters = ["c = \"v1\"", "p < 30 and b", "t contains \"x2\" or n >= 40", "not (c in (\"v0\", \"v3\")) and p is not null"]

/// The attributes of the reference index's row `i`: every type, some nulls.
func referenceAttributes(_ i: Int) -> Attributes {
    var a: Attributes = ["c": .string("v\(i % 5)"), "n": .integer(Int64(i)), "t": .tags(["x\(i % 3)", "y"])]
    if i % 4 != 0 { a["p"] = .float(Double(i) / 2) }
    if i % 3 != 0 { a["b"] = .boolean(i % 2 == 0) }
    return a
}

/// A small valid index with string ids, partitions, two shards, LZ4 blocks and attributes of
/// every type, built once
/// per process (the same bytes every time: the build is deterministic). The manifest and
/// shard targets replace one of its files with the fuzzer's input.
let referenceIndex: String = {
    let path = scratchDirectory + "/reference.hidx"
    var rng = SplitMix64(seed: 11)
    let dim = 6
    let centres = (0..<5).map { _ in (0..<dim).map { _ in Float(rng.nextGaussian()) } }
    let rows = (0..<90).map { i in centres[i % 5].map { $0 + 0.3 * Float(rng.nextGaussian()) } }
    do {
        try IndexBuilder.build(source: try InMemoryVectors(rows: rows), ids: (0..<90).map { "item-\($0)" },
                               attributes: try AttributeTable(rows: (0..<90).map(referenceAttributes)), to: path,
                               options: BuildOptions(training: TrainingOptions(bits: 64, sampleSize: 90), shardSize: 50,
                                                     rowsPerBlock: 8, vectorCodec: .lz4, idCodec: .lz4, partitions: 3,
                                                     threads: 1))
    } catch {
        fatalError("cannot build the reference index: \(error)")
    }
    return path
}()

/// Copies the reference index's files into a fresh directory `name` under the scratch
/// directory and returns its path.
func copyOfReferenceIndex(_ name: String) -> String {
    let dir = scratchDirectory + "/" + name
    _ = mkdir(dir, 0o700)
    for file in ["CURRENT", Format.manifestName(1), Format.shardName(1, 0), Format.shardName(1, 1)] {
        let bytes = try! FileSystem.readSmallFile(referenceIndex + "/" + file, limit: 1 << 24)
        bytes.withUnsafeBufferPointer { writeInput($0.baseAddress, $0.count, to: dir + "/" + file) }
    }
    return dir
}

/// When `HASHIDX_FUZZ_WRITE_SEEDS` names a directory, writes the files named `files` of the
/// index at `index` (by default the reference index) there — the seed corpus of the targets
/// that replace one file of a valid index — and exits.
func writeSeedsIfAsked(_ files: [String], of index: @autoclosure () -> String = referenceIndex) {
    guard let out = getenv("HASHIDX_FUZZ_WRITE_SEEDS").map({ String(cString: $0) }) else { return }
    _ = mkdir(out, 0o755)
    let index = index()
    for file in files {
        let bytes = try! FileSystem.readSmallFile(index + "/" + file, limit: 1 << 24)
        bytes.withUnsafeBufferPointer { writeInput($0.baseAddress, $0.count, to: out + "/" + file) }
    }
    exit(0)
}

/// The reference index with a second generation in which a few items of its first shard are
/// deleted: its manifest names one deletion file, `Format.deletionsName(2, 0)`.
let referenceIndexWithDeletions: String = {
    let path = scratchDirectory + "/reference-deletions.hidx"
    _ = mkdir(path, 0o700)
    for file in ["CURRENT", Format.manifestName(1), Format.shardName(1, 0), Format.shardName(1, 1)] {
        let bytes = try! FileSystem.readSmallFile(referenceIndex + "/" + file, limit: 1 << 24)
        bytes.withUnsafeBufferPointer { writeInput($0.baseAddress, $0.count, to: path + "/" + file) }
    }
    do {
        let writer = try IndexWriter(path: path, threads: 1)
        try writer.delete(ids: ["item-1", "item-7", "item-30", "item-49"])
        try writer.commit()
        try writer.close()
    } catch {
        fatalError("cannot delete from the reference index: \(error)")
    }
    return path
}()

/// The reference index with a write log (docs/FORMAT.md §4): two log commits of adds with
/// attributes, an upsert and deletes, made by an `IndexWriter`; generation 1 stays the live
/// one. The write-log target replaces the log with the fuzzer's input.
let referenceIndexWithLog: String = {
    let path = copyOfReferenceIndex("reference-log.hidx")
    do {
        let writer = try IndexWriter(path: path, threads: 1)
        let added = try InMemoryVectors(rows: [[0.5, -1, 2, 0.25, 1, -0.5], [1, 1, -1, 0.5, 0, 2]])
        try writer.add(added, ids: ["logged-1", "logged-2"], attributes: try AttributeTable(rows: [referenceAttributes(3), referenceAttributes(8)]))
        try writer.delete(ids: ["item-2", "item-40"])
        try writer.commit(durability: .log)
        try writer.upsert(try InMemoryVectors(rows: [[2, 0, 1, -1, 0.5, 0.5]]), ids: ["item-5"])
        try writer.delete(ids: ["logged-2", "ghost"], ignoringMissing: true)
        try writer.commit(durability: .log)
        try writer.close()
    } catch {
        fatalError("cannot write the reference index's log: \(error)")
    }
    return path
}()

