/// How an index's hash function was supervised, kept in the index for `hashidx info`.
public struct SupervisionInfo: Sendable, Equatable {
    /// The kind of supervision.
    public enum Kind: UInt32, Sendable, CustomStringConvertible {
        /// Labels per row.
        case labels = 1
        /// Similar and dissimilar pairs.
        case pairs = 2

        /// `labels` or `pairs`.
        public var description: String { self == .labels ? "labels" : "pairs" }
    }
    /// The kind of supervision.
    public var kind: Kind
    /// The weight of the supervised loss against the geometry term (0…1).
    public var weight: Float
    /// Training epochs.
    public var epochs: Int
    /// Labelled rows, or pairs, trained on.
    public var examples: Int
    /// Distinct labels (0 for pairs).
    public var classes: Int

    /// Creates the record.
    public init(kind: Kind, weight: Float, epochs: Int, examples: Int, classes: Int) {
        self.kind = kind
        self.weight = weight
        self.epochs = epochs
        self.examples = examples
        self.classes = classes
    }
}
