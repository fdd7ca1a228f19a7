/// What training produced for an index — the hash function, the partition centroids and how
/// they were trained — taken from one index to build others with (``BuildOptions/trainedModel``),
/// so that several indexes hash and partition alike: the groups of a catalog that one machine
/// cannot hold, built in parallel from one training on a sample.
///
/// Indexes built with one trained model give every row the same code and the same partition
/// as an index built over all their rows with that model; searching each and merging the
/// best `k` by score is then the same search, group by group.
public struct TrainedModel: Sendable, Equatable {
    /// The hash function.
    public let model: HashModel
    /// The partition centroids (`nil`: an index without partitions).
    let centroids: Centroids?
    /// How the model was trained (sample, iterations, seed, supervision).
    public let training: TrainingInfo
    /// The ranking the index defaulted to.
    public let rerank: Rerank
    /// The weight of the learned score in that index's ``Rerank/blend`` ranking.
    public let blendWeight: Float

    /// The partition count (0: none).
    public var partitionCount: Int { centroids?.count ?? 0 }
    /// The dimension of the vectors it hashes.
    public var dimension: Int { model.dimension }
}
