/// How the candidates of a search are finally ranked.
///
/// The Hamming scan picks the candidates; their order is decided by one of three scores:
/// - ``cosine``: the exact cosine between the query and the stored vector (the geometry of
///   the embeddings);
/// - ``learned``: the learned hash's own similarity, `ℓ = Σⱼ tanh(yⱼ) · sⱼ / Σⱼ |tanh(yⱼ)|`
///   with `y` the query's margins and `sⱼ = ±1` the item's code bits, in [−1, 1]. For a
///   model trained on labels or pairs this is the similarity the user asked for by giving
///   them; it needs no stored vector;
/// - ``blend``: `(1 − w) · cosine + w · ℓ` with the blend weight `w`
///   (``SearchOptions/blendWeight``).
///
/// An index records its default (`hashidx info` shows it): cosine for an unsupervised
/// index, the measured best for a supervised one (see docs/SUPERVISED.md).
public enum Rerank: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Exact cosine on the stored vectors.
    case cosine
    /// The learned score of the hash codes.
    case learned
    /// A weighted sum of the two.
    case blend

    /// The stored form.
    var code: UInt32 {
        switch self {
        case .cosine: return 0
        case .learned: return 1
        case .blend: return 2
        }
    }

    /// The mode stored as `code`.
    init?(code: UInt32) {
        switch code {
        case 0: self = .cosine
        case 1: self = .learned
        case 2: self = .blend
        default: return nil
        }
    }

    /// The name, as `hashidx info` prints it and `--rerank` takes it.
    public var description: String { rawValue }

    /// The default blend weight of the learned score.
    public static let defaultBlendWeight: Float = 0.5
}
