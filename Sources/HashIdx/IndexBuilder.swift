import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Options for building an index.
public struct BuildOptions: Sendable {
    /// How the hash function is trained.
    public var training: TrainingOptions
    /// Rows per shard file.
    public var shardSize: Int
    /// Rows per vector (and id) block: the unit of decompression at query time.
    public var rowsPerBlock: Int
    /// Codec of the vector sections.
    public var vectorCodec: CodecChoice
    /// Codec of the id sections.
    public var idCodec: CodecChoice
    /// Number of partitions (spherical k-means lists): `nil` picks one from the row count
    /// (see ``defaultPartitions(rows:)``), 0 or 1 builds an index without partitions.
    public var partitions: Int?
    /// Threads for training, partitioning and encoding (`nil`: all cores).
    public var threads: Int?
    /// The element type of the stored vectors (re-rank precision against size).
    public var vectorType: VectorType

    /// The default shard size.
    public static let defaultShardSize = 1_000_000
    /// k-means iterations for the partitions.
    public static let partitionIterations = 10

    /// The partition count used when ``partitions`` is `nil`: none below 20,000 rows, else
    /// about 2√rows (1,249 for GloVe-50's 390,000), chosen by measurement (see README), and at
    /// most one per 32 training rows so that k-means has data for every centroid (3,125 with
    /// the default sample).
    public static func defaultPartitions(rows: Int, trainingSample: Int = TrainingOptions.defaultSampleSize) -> Int {
        rows < 20_000 ? 0 : min(Int((2 * Double(rows).squareRoot()).rounded()), max(2, min(rows, trainingSample) / 32))
    }

    /// Creates build options.
    public init(training: TrainingOptions = TrainingOptions(), shardSize: Int = BuildOptions.defaultShardSize,
                rowsPerBlock: Int = 64, vectorCodec: CodecChoice = .auto, idCodec: CodecChoice = .auto,
                partitions: Int? = nil, threads: Int? = nil, vectorType: VectorType = .float32) {
        self.training = training
        self.shardSize = shardSize
        self.rowsPerBlock = rowsPerBlock
        self.vectorCodec = vectorCodec
        self.idCodec = idCodec
        self.partitions = partitions
        self.threads = threads
        self.vectorType = vectorType
    }

    func validate() throws(HashIdxError) {
        try training.validate()
        guard shardSize > 0, shardSize <= Int(UInt32.max) else {
            throw .invalidArgument(name: "shard-size", reason: "must be 1…\(UInt32.max) rows, got \(shardSize)")
        }
        guard rowsPerBlock > 0, rowsPerBlock <= 65_536 else {
            throw .invalidArgument(name: "rows-per-block", reason: "must be 1…65536, got \(rowsPerBlock)")
        }
        if let partitions, partitions < 0 || partitions > 1 << 20 {
            throw .invalidArgument(name: "partitions", reason: "must be 0…\(1 << 20), got \(partitions)")
        }
        if let threads, threads <= 0 { throw .invalidArgument(name: "threads", reason: "must be positive, got \(threads)") }
    }
}

/// Progress of a build, reported to the caller's closure.
public struct BuildProgress: Sendable {
    /// The current phase.
    public enum Phase: String, Sendable {
        case training, partitioning, encoding, finishing
    }
    /// The phase.
    public var phase: Phase
    /// Units done in this phase.
    public var done: Int
    /// Units in this phase.
    public var total: Int
}

/// What a build produced.
public struct BuildSummary: Sendable {
    /// Rows indexed.
    public var rows: Int
    /// Vector dimension.
    public var dimension: Int
    /// Code length.
    public var bits: Int
    /// Shard files written.
    public var shards: Int
    /// Bytes of the index on disk.
    public var bytesOnDisk: Int
    /// Wall-clock seconds.
    public var seconds: Double
}

/// Builds indexes. A build writes a new generation of files next to any old index in the
/// directory and switches to it with one atomic rename, so an interrupted build leaves
/// either the previous index or nothing that opens.
public enum IndexBuilder {
    /// Builds an index at `path` from the vectors file `vectorsPath` (`.npy`, `.fvecs`,
    /// `.fbin`) with ids from `idsPath` (one per line) or row numbers.
    @discardableResult
    public static func build(vectorsPath: String, idsPath: String? = nil, to path: String,
                             options: BuildOptions = BuildOptions(),
                             progress: @escaping (BuildProgress) -> Void = { _ in }) throws(HashIdxError) -> BuildSummary {
        let source = try VectorFile(path: vectorsPath)
        var ids: [String]? = nil
        if let idsPath {
            let list = try IDList.read(path: idsPath)
            guard list.count == source.count else {
                throw .idCountMismatch(path: idsPath, ids: list.count, rows: source.count)
            }
            ids = list
        }
        return try build(source: source, validatedIDs: ids, to: path, options: options, progress: progress)
    }

    /// Builds an index at `path` from `source`, with `ids` (one per row, unique, non-empty)
    /// or row numbers when `ids` is `nil`.
    @discardableResult
    public static func build(source: any VectorSource, ids: [String]? = nil, to path: String,
                             options: BuildOptions = BuildOptions(),
                             progress: @escaping (BuildProgress) -> Void = { _ in }) throws(HashIdxError) -> BuildSummary {
        if let ids {
            guard ids.count == source.count else {
                throw .idCountMismatch(path: "ids", ids: ids.count, rows: source.count)
            }
            try IDList.validate(ids, path: "ids")
        }
        return try build(source: source, validatedIDs: ids, to: path, options: options, progress: progress)
    }

    /// `build(source:ids:to:options:progress:)` with ids already checked (one per row,
    /// non-empty, unique).
    private static func build(source: any VectorSource, validatedIDs ids: [String]?, to path: String,
                              options: BuildOptions,
                              progress: @escaping (BuildProgress) -> Void) throws(HashIdxError) -> BuildSummary {
        let start = monotonicSeconds()
        try options.validate()
        guard source.count > 0 else { throw .emptyInput(path: source.name) }

        let created = try prepareDirectory(path)
        let lock: Int32
        do { lock = try FileSystem.lock(path + "/" + Format.lockFile) } catch {
            if created { removeDirectory(path) }
            throw error
        }
        defer { FileSystem.unlock(lock) }
        let generation = (try existingGenerations(path).max() ?? 0) + 1
        var written: [String] = []
        do {
            progress(BuildProgress(phase: .training, done: 0, total: 1))
            let model = try Trainer.train(source: source, options: options.training)
            source.releaseResidentPages()   // the sample touched pages all over the input
            progress(BuildProgress(phase: .training, done: 1, total: 1))

            let threads = options.threads ?? Index.processorCount
            var partitionCount = options.partitions ?? BuildOptions.defaultPartitions(rows: source.count, trainingSample: options.training.sampleSize)
            if partitionCount == 1 { partitionCount = 0 }
            partitionCount = min(partitionCount, source.count)
            var centroids: Centroids? = nil
            var partitionOf: [Int]? = nil
            if partitionCount > 1 {
                progress(BuildProgress(phase: .partitioning, done: 0, total: 1))
                var rng = SplitMix64(seed: options.training.seed ^ 0x7061_7274_6974_696F)
                let rows = Trainer.sampleRows(count: source.count, sample: min(source.count, max(options.training.sampleSize, partitionCount)), rng: &rng)
                let sample = try source.unitRows(rows)
                source.releaseResidentPages()
                let c = Centroids.train(sample, n: rows.count, d: source.dimension, k: partitionCount,
                                        iterations: BuildOptions.partitionIterations, threads: threads, rng: &rng)
                partitionOf = try assignAll(source, to: c, threads: threads)
                centroids = c
                progress(BuildProgress(phase: .partitioning, done: 1, total: 1))
            }

            let writer = ShardWriter(model: model, rowsPerBlock: options.rowsPerBlock,
                                     vectorCodec: options.vectorCodec, idCodec: options.idCodec,
                                     vectorType: options.vectorType, threads: threads)
            var records: [ShardRecord] = []
            var lo = 0
            var shardNo = 0
            while lo < source.count {
                let hi = min(source.count, lo + options.shardSize)
                let name = Format.shardName(generation, shardNo)
                written.append(name)
                let base = lo
                let record = try writer.write(source: source, rows: lo..<hi, ids: ids.map { $0[lo..<hi] },
                                              partitions: partitionOf.map { $0[lo..<hi] }, partitionCount: partitionCount,
                                              path: path + "/" + name, fileName: name) { done in
                    if done % 4096 == 0 || base + done == source.count {
                        progress(BuildProgress(phase: .encoding, done: base + done, total: source.count))
                    }
                }
                records.append(record)
                source.releaseResidentPages()   // keeps peak memory at about one shard's input
                lo = hi
                shardNo += 1
            }
            progress(BuildProgress(phase: .finishing, done: 0, total: 1))
            let manifest = Manifest(rows: UInt64(source.count), model: model, hasStringIDs: ids != nil,
                                    vectorType: options.vectorType, rowsPerBlock: options.rowsPerBlock,
                                    training: TrainingInfo(sampleSize: min(options.training.sampleSize, source.count),
                                                           iterations: options.training.iterations,
                                                           seed: options.training.seed),
                                    centroids: centroids, shards: records)
            let manifestName = Format.manifestName(generation)
            written.append(manifestName)
            let m = try OutputFile(creating: path + "/" + manifestName)
            try m.write(manifest.encoded(), at: 0)
            try m.syncAndClose()
            try FileSystem.syncDirectory(path)

            // The commit point: CURRENT names the new manifest.
            let tmp = path + "/" + Format.currentFile + ".tmp-\(generation)"
            written.append(Format.currentFile + ".tmp-\(generation)")
            let c = try OutputFile(creating: tmp)
            try c.write(Array((manifestName + "\n").utf8), at: 0)
            try c.syncAndClose()
            try FileSystem.replace(tmp, path + "/" + Format.currentFile)
            try FileSystem.syncDirectory(path)

            // Old generations and leftovers of interrupted builds are now unreferenced.
            let keep = Set(records.map(\.fileName) + [manifestName, Format.currentFile, Format.lockFile])
            for name in (try? FileSystem.list(path)) ?? [] where !keep.contains(name) && isOurs(name) {
                FileSystem.remove(path + "/" + name)
            }
            progress(BuildProgress(phase: .finishing, done: 1, total: 1))
            let bytes = records.reduce(0) { $0 + Int($1.fileSize) } + manifest.encoded().count + manifestName.count + 1
            return BuildSummary(rows: source.count, dimension: source.dimension, bits: model.bits,
                                shards: records.count, bytesOnDisk: bytes, seconds: monotonicSeconds() - start)
        } catch {
            for name in written { FileSystem.remove(path + "/" + name) }
            if created { removeDirectory(path) }
            throw error
        }
    }

    /// The partition of every row of `source`, on `threads` threads. Throws the error of the
    /// first bad row (NaN, ∞, all zeros).
    private static func assignAll(_ source: any VectorSource, to centroids: Centroids, threads: Int) throws(HashIdxError) -> [Int] {
        let n = source.count, d = source.dimension
        var out = [Int](repeating: 0, count: n)
        let chunk = 4096
        // Rows are read in passes of 64 chunks; the input's pages are given back after each
        // pass, so reading the whole input does not hold it all in memory.
        let passRows = 64 * chunk
        let firstError = Locked<(Int, HashIdxError)?>(nil)
        var passStart = 0
        while passStart < n {
            let first = passStart, passEnd = min(n, passStart + passRows)
            let chunks = (passEnd - first + chunk - 1) / chunk
            let workers = max(1, min(threads, chunks))
            out.withUnsafeMutableBufferPointer { o in
                let op = SharedMutablePointer(o.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    // Rows go to the centroids in batches (the centroids are read once per batch).
                    let batch = Centroids.batch
                    var rows = [Float](repeating: 0, count: batch * d)
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: centroids.scratchSize(rows: batch))
                    defer { scratch.deallocate() }
                    var ch = worker
                    outer: while ch < chunks {
                        let lo = first + ch * chunk, hi = min(passEnd, lo + chunk)
                        var r = lo
                        while r < hi {
                            let n = min(batch, hi - r)
                            do throws(HashIdxError) {
                                try rows.withUnsafeMutableBufferPointer { (b) throws(HashIdxError) in
                                    for j in 0..<n {
                                        let row = UnsafeMutableBufferPointer(rebasing: b[(j * d)..<((j + 1) * d)])
                                        source.copyRow(r + j, into: row)
                                        _ = try Vectors.normalize(row, source: source.name, row: r + j)
                                    }
                                    centroids.nearest(UnsafePointer(b.baseAddress!), rows: n, into: op.base + r, scratch: scratch)
                                }
                            } catch {
                                firstError.withLock { if $0 == nil || $0!.0 > r { $0 = (r, error) } }
                                break outer
                            }
                            r += n
                        }
                        ch += workers
                    }
                }
            }
            if let (_, e) = firstError.withLock({ $0 }) { throw e }
            source.releaseResidentPages()
            passStart = passEnd
        }
        return out
    }

    /// Makes sure `path` is a directory we may write an index into. Returns whether it
    /// was created now.
    private static func prepareDirectory(_ path: String) throws(HashIdxError) -> Bool {
        if FileSystem.exists(path) {
            guard FileSystem.isDirectory(path) else {
                throw .io(path: path, reason: "exists and is a file; give a new path or an existing index directory")
            }
            let foreign = try FileSystem.list(path).filter { !isOurs($0) }
            if !foreign.isEmpty {
                throw .io(path: path, reason: "exists and holds files that are not a hashidx index (\(foreign.prefix(3).joined(separator: ", "))); give a new path")
            }
            return false
        }
        try FileSystem.makeDirectory(path)
        return true
    }

    /// Whether `name` is a file an index directory may hold.
    static func isOurs(_ name: String) -> Bool {
        name == Format.currentFile || name == Format.lockFile || name.hasPrefix(Format.currentFile + ".tmp-")
            || Format.generation(ofFile: name) != nil
    }

    private static func existingGenerations(_ path: String) throws(HashIdxError) -> [UInt64] {
        try FileSystem.list(path).compactMap { name in
            if name.hasPrefix(Format.currentFile + ".tmp-") { return UInt64(name.dropFirst(Format.currentFile.count + 5)) }
            return Format.generation(ofFile: name)
        }
    }

    private static func removeDirectory(_ path: String) {
        for name in (try? FileSystem.list(path)) ?? [] where isOurs(name) { FileSystem.remove(path + "/" + name) }
        rmdir(path)
    }
}

/// Seconds on a monotonic clock.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

