/// Builds indexes. A build writes a new generation of files next to any old index in the
/// directory and switches to it with one atomic rename, so an interrupted build leaves
/// either the previous index or nothing that opens.
///
/// The steps: take the directory's lock (`IndexDirectory`), train the hash function
/// (`Training/`), train the partitions and assign every row (`Build/Partitioning`), write the
/// shards (`Build/ShardBuilder`), commit the manifest, remove the old generation.
public enum IndexBuilder {
    /// Builds an index at `path` from the vectors file `vectorsPath` (`.npy`, `.fvecs`,
    /// `.fbin`) with ids from `idsPath` (one per line) or row numbers.
    ///
    /// `attributesPath`: a JSON-lines file of the items' attributes, one line per row or keyed
    /// by id (``AttributesFile``).
    @discardableResult
    public static func build(vectorsPath: String, idsPath: String? = nil, attributesPath: String? = nil, to path: String,
                             options: BuildOptions = BuildOptions(),
                             progress: @escaping (WorkProgress) -> Void = { _ in }) throws(HashIdxError) -> BuildSummary {
        let source = try VectorFile(path: vectorsPath)
        var ids: [String]? = nil
        if let idsPath {
            let list = try IDList.read(path: idsPath)
            guard list.count == source.count else {
                throw .idCountMismatch(path: idsPath, ids: list.count, rows: source.count)
            }
            ids = list
        }
        let attributes = try attributesPath.map { (p) throws(HashIdxError) in try AttributesFile.read(path: p, rows: source.count, ids: ids) }
        return try build(source: source, validatedIDs: ids, attributes: attributes, to: path, options: options, progress: progress)
    }

    /// Builds an index at `path` from `source`, with `ids` (one per row, unique, non-empty)
    /// or row numbers when `ids` is `nil`, and `attributes` (one row per vector) if given.
    @discardableResult
    public static func build(source: any VectorSource, ids: [String]? = nil, attributes: AttributeTable? = nil, to path: String,
                             options: BuildOptions = BuildOptions(),
                             progress: @escaping (WorkProgress) -> Void = { _ in }) throws(HashIdxError) -> BuildSummary {
        if let ids {
            guard ids.count == source.count else {
                throw .idCountMismatch(path: "ids", ids: ids.count, rows: source.count)
            }
            try IDList.validate(ids, path: "ids")
        }
        if let attributes, attributes.count != source.count {
            throw .invalidAttributes(path: "attributes", line: 0, reason: "holds \(attributes.count) rows but the vectors have \(source.count); give one row per vector")
        }
        return try build(source: source, validatedIDs: ids, attributes: attributes, to: path, options: options, progress: progress)
    }

    /// `build(source:ids:to:options:progress:)` with ids already checked (one per row,
    /// non-empty, unique).
    private static func build(source: any VectorSource, validatedIDs ids: [String]?, attributes: AttributeTable?, to path: String,
                              options: BuildOptions,
                              progress: @escaping (WorkProgress) -> Void) throws(HashIdxError) -> BuildSummary {
        let start = System.monotonicSeconds()
        try options.validate()
        guard source.count > 0 else { throw .emptyInput(path: source.name) }

        let directory = IndexDirectory(path: path)
        let created = try directory.prepare()
        let lock: Int32
        do { lock = try directory.lock() } catch {
            if created { directory.removeDirectory() }
            throw error
        }
        defer { directory.unlock(lock) }
        let generation = try directory.nextGeneration()
        var written: [String] = []
        do {
            var manifest = try writeGeneration(source: source, ids: ids, attributes: attributes ?? AttributeTable(empty: source.count),
                                               directory: directory, generation: generation,
                                               options: options, written: &written, progress: progress)
            if let target = options.targetRecall {
                manifest.tunedSearch = try tuneSearch(manifest, in: directory, source: source, target: target,
                                                      threads: options.threads, progress: progress)
            }
            let records = manifest.shards
            let committed = try directory.commit(manifest, generation: generation, written: &written)
            // Old generations and leftovers of interrupted builds are now unreferenced.
            directory.removeAll(except: manifest.fileNames.union([committed.name]))
            progress(WorkProgress(phase: .finishing, done: 1, total: 1))
            let bytes = IndexDirectory.bytesOnDisk(shards: records, manifestName: committed.name, manifestBytes: committed.bytes)
            return BuildSummary(rows: source.count, dimension: source.dimension, bits: manifest.model.bits,
                                shards: records.count, bytesOnDisk: bytes, seconds: System.monotonicSeconds() - start,
                                partitions: manifest.centroids?.count ?? 0, tunedSearch: manifest.tunedSearch)
        } catch {
            directory.remove(written)
            if created { directory.removeDirectory() }
            throw error
        }
    }

    /// The cheapest search settings reaching recall@10 `target` on the written but not yet
    /// committed generation `manifest` of `directory`, whose rows are `source`'s
    /// (``SearchTuner``). `progress` hears the settings tried (``WorkProgress/Phase/searching``).
    static func tuneSearch(_ manifest: Manifest, in directory: IndexDirectory, source: any VectorSource, target: Double,
                           threads: Int?, progress: @escaping (WorkProgress) -> Void) throws(HashIdxError) -> TunedSearch {
        let searcher = try Index.searcher(for: manifest, in: directory, reusing: [:])
        let tuner = try SearchTuner(searcher: searcher, source: source, target: target, seed: manifest.training.seed,
                                    threads: threads)
        let tuned = tuner.tune { progress(WorkProgress(phase: .searching, done: $0, total: $1)) }
        progress(WorkProgress(phase: .searching, done: 1, total: 1))
        return tuned
    }

    /// Trains the hash function and the partitions on `source` and writes its shards as
    /// generation `generation` of `directory` (whose lock the caller holds), adding every
    /// file name to `written` before creating it. Returns the manifest to commit.
    static func writeGeneration(source: any VectorSource, ids: [String]?, attributes: AttributeTable,
                                directory: IndexDirectory, generation: UInt64,
                                options: BuildOptions, written: inout [String],
                                progress: @escaping (WorkProgress) -> Void) throws(HashIdxError) -> Manifest {
        let reused = options.trainedModel
        if let reused, reused.dimension != source.dimension {
            throw .dimensionMismatch(expected: reused.dimension, actual: source.dimension, source: source.name)
        }
        let model: HashModel
        if let reused {
            model = reused.model
        } else {
            progress(WorkProgress(phase: .training, done: 0, total: 1))
            model = try Trainer.train(source: source, options: options.training) { epoch, epochs in
                progress(WorkProgress(phase: .training, done: epoch, total: epochs))
            }
            source.releaseResidentPages()   // the sample touched pages all over the input
            progress(WorkProgress(phase: .training, done: 1, total: 1))
        }

        let threads = options.threads ?? System.processorCount
        var partitionCount = options.partitions ?? BuildOptions.defaultPartitions(rows: source.count)
        if partitionCount == 1 { partitionCount = 0 }
        partitionCount = min(partitionCount, source.count)
        if let reused { partitionCount = reused.partitionCount }
        var centroids: Centroids? = reused?.centroids
        var partitionOf: [Int]? = nil
        var scores: [Float]? = nil
        if partitionCount > 1 {
            progress(WorkProgress(phase: .partitioning, done: 0, total: 1))
            let c: Centroids
            if let centroids { c = centroids } else {
                c = try Partitioning.train(source, count: partitionCount, sampleSize: options.training.sampleSize,
                                           seed: options.training.seed)
            }
            (partitionOf, scores) = try Partitioning.assignScoring(source, to: c)
            centroids = c
            progress(WorkProgress(phase: .partitioning, done: 1, total: 1))
        }

        let shardBuilder = ShardBuilder(encoder: RowEncoder(model: model, threads: threads),
                                        rowsPerBlock: options.rowsPerBlock, vectorType: options.vectorType,
                                        vectorCodec: options.vectorCodec, idCodec: options.idCodec)
        var records: [ShardRecord] = []
        var lo = 0
        while lo < source.count {
            let hi = min(source.count, lo + options.shardSize)
            let name = Format.shardName(generation, records.count)
            written.append(name)
            let base = lo
            let record = try shardBuilder.build(source: source, rows: lo..<hi, ids: ids.map { $0[lo..<hi] },
                                                attributes: attributes.gathering(lo..<hi),
                                                partitions: partitionOf.map { $0[lo..<hi] }, partitionCount: partitionCount,
                                                path: directory.file(name), fileName: name) { done in
                if done % 4096 == 0 || base + done == source.count {
                    progress(WorkProgress(phase: .encoding, done: base + done, total: source.count))
                }
            }
            records.append(record)
            if let scores { records[records.count - 1].fit = Partitioning.fit(scores[lo..<hi]) }
            source.releaseResidentPages()   // keeps peak memory at about one shard's input
            lo = hi
        }
        progress(WorkProgress(phase: .finishing, done: 0, total: 1))
        var manifest = Manifest(rows: UInt64(source.count), model: model, hasStringIDs: ids != nil,
                        vectorType: options.vectorType, rowsPerBlock: options.rowsPerBlock,
                        training: reused?.training ?? TrainingInfo(sampleSize: min(options.training.sampleSize, source.count),
                                                                   iterations: options.training.iterations,
                                                                   seed: options.training.seed),
                        centroids: centroids, shards: records)
        if reused == nil, model.scheme == .supervised, let supervision = options.training.supervision {
            let examples: Int, classes: Int
            switch supervision {
            case .labels(let labels): (examples, classes) = (labels.labelledCount, labels.classCount)
            case .pairs(let pairs): (examples, classes) = (pairs.count, 0)
            }
            manifest.training.supervision = SupervisionInfo(kind: supervision.kind, weight: options.training.supervisionWeight,
                                                            epochs: options.training.epochs, examples: examples, classes: classes)
        }
        manifest.rerank = options.rerank ?? reused?.rerank ?? (model.scheme == .supervised ? BuildOptions.supervisedRerank : .cosine)
        manifest.blendWeight = options.rerank == nil ? reused?.blendWeight ?? options.blendWeight : options.blendWeight
        manifest.trainedGeneration = generation
        manifest.trainedRows = UInt64(source.count)
        manifest.trainingFit = scores.map { Partitioning.fit($0[...]) } ?? 0
        if let partitionOf {
            var lists = [Int](repeating: 0, count: partitionCount)
            for p in partitionOf { lists[p] += 1 }
            manifest.listBalance = Partitioning.balance(lists)
        }
        return manifest
    }
}
