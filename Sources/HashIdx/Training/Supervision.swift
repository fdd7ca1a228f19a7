/// What a supervised build learns from, beside the geometry of the vectors.
public enum Supervision: Sendable, Equatable {
    /// A set of labels per row of the build's input (``RowLabels``): rows sharing a label
    /// should hash close together. Trained with one hash centre per label (CSQ).
    case labels(RowLabels)
    /// Rows marked similar or dissimilar (``RowPairs``), by row number of the build's input.
    /// Trained with a pairwise likelihood (DPSH).
    case pairs(RowPairs)

    /// The kind, as stored in the index.
    public var kind: SupervisionInfo.Kind {
        switch self {
        case .labels: return .labels
        case .pairs: return .pairs
        }
    }
}

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
