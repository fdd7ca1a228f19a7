/// The settings training ran with, kept in the index for `hashidx info`.
public struct TrainingInfo: Sendable, Equatable {
    /// Rows in the training sample.
    public var sampleSize: Int
    /// The ITQ iterations asked for. Only the ``HashModel/Scheme/pcaITQ`` scheme runs them;
    /// a ``HashModel/Scheme/centredRandomFrame`` model records the option but ran none.
    public var iterations: Int
    /// The seed of the sample, of the initial rotations and of the partitions.
    public var seed: UInt64
    /// How the head was supervised (`nil`: unsupervised, or a supervision weight of 0).
    public var supervision: SupervisionInfo? = nil

    /// ITQ iterations the training of a model with `scheme` actually ran (for a
    /// ``HashModel/Scheme/supervised`` model: those of its starting point, which is PCA + ITQ
    /// when bits ≤ dimension).
    public func iterationsRun(by scheme: HashModel.Scheme) -> Int {
        scheme == .pcaITQ || scheme == .supervised ? iterations : 0
    }
}
