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
