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
    /// Threads for encoding the rows (`nil`: all cores). Training the hash function and the
    /// partitions are matrix products on OpenBLAS, which runs its own threads
    /// (`OPENBLAS_NUM_THREADS`, default all cores).
    public var threads: Int?
    /// The element type of the stored vectors (re-rank precision against size).
    public var vectorType: VectorType
    /// How the index ranks candidates unless a search says otherwise (``Rerank``); `nil`:
    /// cosine for an unsupervised index, ``supervisedRerank`` for a supervised one.
    public var rerank: Rerank?
    /// The weight of the learned score in a ``Rerank/blend`` ranking, 0…1.
    public var blendWeight: Float = Rerank.defaultBlendWeight
    /// A recall@10 to tune the index's search settings for (`nil`: none; searches use
    /// ``SearchOptions/defaultProbes`` and ``SearchOptions/defaultCandidates``). The build
    /// then searches for a sample of its own rows, finds the cheapest probes and candidates
    /// that reach it, and stores them as the index's defaults (``TunedSearch``). In (0, 1].
    public var targetRecall: Double?
    /// A model to build with instead of training one (``Index/trainedModel``): no training,
    /// no k-means; rows are hashed and assigned to partitions as that index's are.
    /// ``training`` and ``partitions`` are then ignored; without a ``rerank`` the index
    /// takes the model's ranking and blend weight.
    public var trainedModel: TrainedModel?

    /// The default ranking of an index trained on labels or pairs, chosen by measurement
    /// on Fashion-MNIST (docs/SUPERVISED.md).
    public static let supervisedRerank = Rerank.blend

    /// The default shard size.
    public static let defaultShardSize = 1_000_000
    /// k-means iterations for the partitions.
    public static let partitionIterations = 10

    /// The partition count used when ``partitions`` is `nil`: none below 20,000 rows, else
    /// about 2√rows (1,249 for GloVe-50's 390,000; 6,325 for 10 million), chosen by
    /// measurement (see README). The k-means sample grows with the count (at least 32 rows a
    /// partition), so the count no longer stops at the training sample's size.
    public static func defaultPartitions(rows: Int) -> Int {
        rows < 20_000 ? 0 : Int((2 * Double(rows).squareRoot()).rounded())
    }

    /// The partition count used when ``partitions`` is `nil`; the training sample no longer
    /// bounds it.
    @available(*, deprecated, renamed: "defaultPartitions(rows:)",
               message: "the partition count no longer depends on the training sample")
    public static func defaultPartitions(rows: Int, trainingSample: Int) -> Int {
        defaultPartitions(rows: rows)
    }

    /// Creates build options.
    public init(training: TrainingOptions = TrainingOptions(), shardSize: Int = BuildOptions.defaultShardSize,
                rowsPerBlock: Int = 64, vectorCodec: CodecChoice = .auto, idCodec: CodecChoice = .auto,
                partitions: Int? = nil, threads: Int? = nil, vectorType: VectorType = .float16) {
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
        guard blendWeight.isFinite, blendWeight >= 0, blendWeight <= 1 else {
            throw .invalidArgument(name: "blend-weight", reason: "must be between 0 and 1, got \(blendWeight)")
        }
        if let targetRecall, !(targetRecall > 0 && targetRecall <= 1) {
            throw .invalidArgument(name: "target-recall", reason: "must be a recall@10 in (0, 1], e.g. 0.95, got \(targetRecall)")
        }
    }
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
    /// Partitions (0: none, every query scans every code).
    public var partitions: Int = 0
    /// The search settings tuned for ``BuildOptions/targetRecall`` (`nil` without one).
    public var tunedSearch: TunedSearch? = nil
}
