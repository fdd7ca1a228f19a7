/// Options for training the hash function.
public struct TrainingOptions: Sendable, Equatable {
    /// The code length in bits: a positive multiple of 64.
    public var bits: Int
    /// Rows sampled from the input to train on (all rows when the input is smaller).
    public var sampleSize: Int
    /// ITQ iterations (alternating code and rotation updates).
    public var iterations: Int
    /// Seed of the sample and of the random rotations: the same seed, input and options
    /// give the same model.
    public var seed: UInt64
    /// Labels or pairs to learn from (`nil`: unsupervised codes from the geometry alone).
    public var supervision: Supervision?
    /// The weight of the supervised loss against the term that keeps codes faithful to the
    /// cosine geometry, 0…1: 0 trains no head (the unsupervised codes), 1 ignores geometry.
    public var supervisionWeight: Float
    /// Passes of the supervised head over the labelled rows (with pairs: each pass visits as
    /// many pairs as there are rows they name).
    public var epochs: Int
    /// The form of the supervised head.
    public var head: Head

    /// The form of a supervised head (see docs/SUPERVISED.md).
    public enum Head: String, Sendable, CaseIterable {
        /// `sign(W (x − μ))`: a trained projection.
        case linear
        /// `sign(A relu(V (x − μ) + c))`: one hidden layer of ReLU units (twice the principal
        /// components the head reads), started as the linear model.
        case twoLayer = "two-layer"
    }

    /// The default supervision weight, chosen by measurement on Fashion-MNIST (see
    /// docs/SUPERVISED.md).
    public static let defaultSupervisionWeight: Float = 0.5
    /// The default number of epochs, chosen by measurement on Fashion-MNIST.
    public static let defaultEpochs = 10

    /// The default code length, chosen by measurement on GloVe-50 (see README).
    public static let defaultBits = 256
    /// The default training sample.
    public static let defaultSampleSize = 100_000

    /// Creates training options.
    public init(bits: Int = TrainingOptions.defaultBits, sampleSize: Int = TrainingOptions.defaultSampleSize,
                iterations: Int = 50, seed: UInt64 = 0x68_6173_6869_6478, supervision: Supervision? = nil,
                supervisionWeight: Float = TrainingOptions.defaultSupervisionWeight,
                epochs: Int = TrainingOptions.defaultEpochs, head: Head = .twoLayer) {
        self.head = head
        self.supervision = supervision
        self.supervisionWeight = supervisionWeight
        self.epochs = epochs
        self.bits = bits
        self.sampleSize = sampleSize
        self.iterations = iterations
        self.seed = seed
    }

    /// Throws when an option is out of range.
    func validate() throws(HashIdxError) {
        guard bits > 0, bits % 64 == 0 else {
            throw .invalidArgument(name: "bits", reason: "must be a positive multiple of 64 (64, 128, 256, …), got \(bits)")
        }
        guard bits <= 4096 else { throw .invalidArgument(name: "bits", reason: "at most 4096, got \(bits)") }
        guard sampleSize > 0 else { throw .invalidArgument(name: "train-sample", reason: "must be positive, got \(sampleSize)") }
        guard iterations >= 0, iterations <= 10_000 else {
            throw .invalidArgument(name: "iterations", reason: "must be 0…10000, got \(iterations)")
        }
        guard supervisionWeight.isFinite, supervisionWeight >= 0, supervisionWeight <= 1 else {
            throw .invalidArgument(name: "supervision-weight", reason: "must be between 0 and 1, got \(supervisionWeight)")
        }
        guard epochs >= 1, epochs <= 1000 else {
            throw .invalidArgument(name: "epochs", reason: "must be 1…1000, got \(epochs)")
        }
    }
}
