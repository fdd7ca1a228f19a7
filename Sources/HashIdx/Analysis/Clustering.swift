/// How a clustering picks its first centroids.
public enum ClusteringStart: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// ``partitions`` when the index has at least ``ClusteringOptions/partitionsPerCluster``
    /// partitions (holding matching items) per cluster, else ``kMeansPlusPlus``.
    case automatic = "auto"
    /// From the index's partitions: the mean vector of each partition's items (those being
    /// clustered) is grouped into the clusters by weighted spherical k-means (weights: the
    /// length of the partition's sum of unit vectors), seeded by k-means++; those groups'
    /// centroids start the k-means on the items. Cheaper than k-means++ on the items, and
    /// it starts from the structure the index already learned.
    case partitions
    /// Greedy k-means++ on the items (on a sample of ``ClusteringOptions/seedingSample``
    /// of them when there are more), as scikit-learn seeds its `KMeans`.
    case kMeansPlusPlus = "kmeans++"

    /// The name `--start` takes: `auto`, `partitions` or `kmeans++`.
    public var description: String { rawValue }
}

/// What ``Clustering/run(index:options:progress:)`` does: how many clusters, of which items, and how
/// hard it tries.
public struct ClusteringOptions: Sendable, Hashable {
    /// Default of ``iterations``.
    public static let defaultIterations = 100
    /// Default of ``seed``.
    public static let defaultSeed: UInt64 = 1
    /// Default of ``representatives``.
    public static let defaultRepresentatives = 5
    /// Default of ``neighbours``.
    public static let defaultNeighbours = 3
    /// ``ClusteringStart/automatic`` starts from the partitions when there are at least
    /// this many (holding matching items) per cluster.
    public static let partitionsPerCluster = 8
    /// ``ClusteringStart/kMeansPlusPlus`` seeds on at most this many items (or 64 per
    /// cluster, when that is more), sampled with the seed.
    public static let seedingSample = 100_000

    /// The number of clusters, from 1 to the number of items clustered.
    public var clusters: Int
    /// Only items whose attributes satisfy this filter (all live items when `nil`).
    public var filter: Filter?
    /// At most this many k-means rounds (assign every item, recompute every centroid); the
    /// run stops earlier when a round moves no item.
    public var iterations: Int
    /// The generator seed: the same seed, index generation and options give the same
    /// clusters.
    public var seed: UInt64
    /// Worker threads (all cores when `nil`). The matrix products run on BLAS's own threads
    /// (`OPENBLAS_NUM_THREADS`). The result does not depend on either.
    public var threads: Int?
    /// Items nearest each centroid listed in its summary.
    public var representatives: Int
    /// Nearest other clusters (by centroid cosine) listed in each summary.
    public var neighbours: Int
    /// How the first centroids are chosen.
    public var start: ClusteringStart

    /// Options for `clusters` clusters; every other setting has its default.
    public init(clusters: Int, filter: Filter? = nil, iterations: Int = defaultIterations, seed: UInt64 = defaultSeed,
                threads: Int? = nil, representatives: Int = defaultRepresentatives, neighbours: Int = defaultNeighbours,
                start: ClusteringStart = .automatic) {
        self.clusters = clusters
        self.filter = filter
        self.iterations = iterations
        self.seed = seed
        self.threads = threads
        self.representatives = representatives
        self.neighbours = neighbours
        self.start = start
    }

    /// Checks the options on their own (the cluster count against the items is checked by
    /// ``Clustering/run(index:options:progress:)``).
    ///
    /// - Throws: ``HashIdxError/invalidArgument(name:reason:)`` naming the option.
    public func validate() throws(HashIdxError) {
        guard clusters >= 1 else {
            throw .invalidArgument(name: "clusters", reason: "must be at least 1, got \(clusters)")
        }
        guard iterations >= 1 else {
            throw .invalidArgument(name: "iterations", reason: "must be at least 1, got \(iterations)")
        }
        if let threads, threads <= 0 { throw .invalidArgument(name: "threads", reason: "must be positive, got \(threads)") }
        guard representatives >= 0 else {
            throw .invalidArgument(name: "representatives", reason: "must be 0 or more, got \(representatives)")
        }
        guard neighbours >= 0 else {
            throw .invalidArgument(name: "neighbours", reason: "must be 0 or more, got \(neighbours)")
        }
    }
}

/// A catalog grouped into clusters of look-alike items: spherical k-means (cosine) on the
/// stored vectors of the index's live items.
///
/// ```swift
/// let index = try Index(path: "shop.hidx")
/// let clustering = try index.cluster(options: ClusteringOptions(clusters: 50, filter: try Filter("in_stock")))
/// for c in clustering.clusters {
///     print(c.number, c.size, c.representatives.map(\.id))
/// }
/// try clustering.writeAssignments(to: "clusters.jsonl")
/// ```
///
/// Clusters are numbered by size, largest first. Each item belongs to the cluster whose
/// centroid (the normalised mean of its items' unit vectors) is nearest by cosine; the run
/// stops when a round moves no item, or after ``ClusteringOptions/iterations`` rounds.
/// The same index generation, options and seed give the same clusters, whatever the number
/// of threads.
public struct Clustering: Sendable {
    /// One item's cluster.
    public struct Assignment: Sendable, Hashable {
        /// The item's id.
        public var id: String
        /// The item's row in the index generation clustered.
        public var row: Int
        /// Its cluster's number (an index into ``Clustering/clusters``).
        public var cluster: Int
        /// The cosine of its vector to its cluster's centroid.
        public var similarity: Float
    }

    /// An item named in a cluster's summary.
    public struct Member: Sendable, Hashable {
        /// The item's id.
        public var id: String
        /// The item's row.
        public var row: Int
        /// Its cosine to the cluster's centroid.
        public var similarity: Float
    }

    /// A nearby cluster.
    public struct Neighbour: Sendable, Hashable {
        /// Its number.
        public var cluster: Int
        /// The cosine between the two centroids.
        public var similarity: Float
    }

    /// One cluster's summary.
    public struct Cluster: Sendable, Hashable {
        /// Its number: clusters are numbered from 0 by size, largest first (ties: the one
        /// whose first item has the lower row).
        public var number: Int
        /// Items in it.
        public var size: Int
        /// The mean cosine of its items to its centroid (how tight it is).
        public var meanSimilarity: Double
        /// The unit centroid.
        public var centroid: [Float]
        /// The items nearest the centroid, nearest first (ties: lower row), at most
        /// ``ClusteringOptions/representatives``.
        public var representatives: [Member]
        /// The other clusters with the nearest centroids, nearest first, at most
        /// ``ClusteringOptions/neighbours``.
        public var neighbours: [Neighbour]
    }

    /// The options it ran with.
    public let options: ClusteringOptions
    /// The index generation whose items were clustered.
    public let generation: UInt64
    /// Every item clustered, in row order.
    public let assignments: [Assignment]
    /// Every cluster, by number.
    public let clusters: [Cluster]
    /// The start it took (``ClusteringStart/automatic`` resolved).
    public let start: ClusteringStart
    /// k-means rounds run.
    public let rounds: Int
    /// Whether the last round moved no item (else the rounds ran out).
    public let converged: Bool
    /// Seconds spent reading the items out of the index, and seeding plus k-means.
    public let readSeconds: Double, clusterSeconds: Double

    /// The mean cosine of every item to its centroid (the k-means objective over items).
    public var meanSimilarity: Double {
        assignments.isEmpty ? 0 : assignments.reduce(0.0) { $0 + Double($1.similarity) } / Double(assignments.count)
    }

    /// Clusters the live items of `index` (those satisfying ``ClusteringOptions/filter``).
    ///
    /// Memory: the items' vectors as floats (items × dimension × 4 bytes) and their ids.
    ///
    /// - Throws: ``HashIdxError/invalidArgument(name:reason:)`` for bad options, for more
    ///   clusters than items, or when no item is left to cluster (an empty index, or a
    ///   filter no live item satisfies); ``HashIdxError/invalidFilter(expression:offset:reason:)``
    ///   for a filter that does not fit the index's attributes.
    ///
    /// `progress` hears the items read (``WorkProgress/Phase/reading``, from any thread) and
    /// each round of k-means (``WorkProgress/Phase/clustering``: rounds run of
    /// ``ClusteringOptions/iterations`` at most).
    public static func run(index: Index, options: ClusteringOptions,
                           progress: @escaping @Sendable (WorkProgress) -> Void = { _ in }) throws(HashIdxError) -> Clustering {
        try options.validate()
        let threads = options.threads ?? System.processorCount
        let t0 = System.monotonicSeconds()
        // Without a filter the live count is known before anything is read.
        if options.filter == nil { try check(options, items: index.count) }
        let live = index.count
        let input = try ClusterInput.read(index, filter: options.filter, threads: threads) {
            progress(WorkProgress(phase: .reading, done: $0, total: live))
        }
        let n = input.count, d = input.dimension, k = options.clusters
        try check(options, items: n)
        let t1 = System.monotonicSeconds()
        var rng = SplitMix64(seed: options.seed)
        let (initial, start) = try input.unit.withUnsafeBufferPointer { (x) throws(HashIdxError) in
            try startingCentroids(x.baseAddress!, input: input, k: k, options: options, threads: threads, rng: &rng)
        }
        let result = input.unit.withUnsafeBufferPointer { x in
            SphericalKMeans.run(x.baseAddress!, n: n, d: d, start: initial, k: k, rounds: options.iterations, rng: &rng, threads: threads) {
                progress(WorkProgress(phase: .clustering, done: $0, total: options.iterations))
            }
        }
        let t2 = System.monotonicSeconds()
        return summarise(input, result, k: k, options: options, start: start, generation: index.generation,
                         readSeconds: t1 - t0, clusterSeconds: t2 - t1)
    }

    /// Throws when `items` (the live items, or those satisfying the filter) cannot make
    /// `options.clusters` clusters.
    private static func check(_ options: ClusteringOptions, items n: Int) throws(HashIdxError) {
        if n == 0 {
            if let filter = options.filter {
                throw .invalidArgument(name: "where", reason: "no live item satisfies the filter \(filter.description); " +
                                       "loosen it, or check the values with `hashidx get`")
            }
            throw .invalidArgument(name: "clusters", reason: "the index holds no live items; add items before clustering")
        }
        guard options.clusters <= n else {
            throw .invalidArgument(name: "clusters", reason: "asks for \(options.clusters) clusters but only \(n) items " +
                                   (options.filter == nil ? "are live" : "satisfy the filter") + "; ask for at most \(n)")
        }
    }

    /// The first centroids, and the start that chose them.
    private static func startingCentroids(_ x: UnsafePointer<Float>, input: ClusterInput, k: Int, options: ClusteringOptions,
                                          threads: Int, rng: inout SplitMix64) throws(HashIdxError) -> ([Float], ClusteringStart) {
        let n = input.count, d = input.dimension
        // The partitions holding items: their sums of unit vectors.
        var groups: (means: [Float], weights: [Float])?
        if options.start == .partitions && input.partitions == nil {
            throw .invalidArgument(name: "start", reason: "the index has no partitions to start from; use kmeans++ (or auto)")
        }
        if options.start != .kMeansPlusPlus, let partitions = input.partitions {
            let p = Int(partitions.max() ?? 0) + 1
            let sums = SphericalKMeans.means(x, n: n, d: d, weights: nil, assignment: partitions.map(Int.init), k: p, threads: threads).centroids
            var sizes = [Int](repeating: 0, count: p)
            for q in partitions { sizes[Int(q)] += 1 }
            // `means` normalised the sums; their lengths (the weights) are the sums' dots with them.
            var norms = [Double](repeating: 0, count: p)
            sums.withUnsafeBufferPointer { u in
                for r in 0..<n {
                    let q = Int(partitions[r])
                    norms[q] += Double(Vectors.dot(x + r * d, u.baseAddress! + q * d, count: d))
                }
            }
            let kept = (0..<p).filter { sizes[$0] > 0 }
            var means = [Float](), weights = [Float]()
            means.reserveCapacity(kept.count * d)
            for q in kept {
                means.append(contentsOf: sums[(q * d)..<((q + 1) * d)])
                weights.append(Float(max(norms[q], 1e-6)))
            }
            if options.start == .partitions && kept.count < k {
                throw .invalidArgument(name: "start", reason: "only \(kept.count) partitions hold the items clustered, fewer than the \(k) clusters; " +
                                       "use kmeans++ (or auto)")
            }
            if kept.count >= (options.start == .partitions ? k : k * ClusteringOptions.partitionsPerCluster) { groups = (means, weights) }
        }
        if let groups {
            let m = groups.weights.count
            return groups.means.withUnsafeBufferPointer { g in
                groups.weights.withUnsafeBufferPointer { w in
                    let seeds = SphericalKMeans.kMeansPlusPlus(g.baseAddress!, n: m, d: d, weights: w.baseAddress!, k: k, rng: &rng, threads: threads)
                    let coarse = SphericalKMeans.run(g.baseAddress!, n: m, d: d, weights: w.baseAddress!, start: seeds, k: k,
                                                     rounds: ClusteringOptions.defaultIterations, rng: &rng, threads: threads)
                    return (coarse.centroids, .partitions)
                }
            }
        }
        let sample = max(ClusteringOptions.seedingSample, 64 * k)
        if n <= sample {
            return (SphericalKMeans.kMeansPlusPlus(x, n: n, d: d, k: k, rng: &rng, threads: threads), .kMeansPlusPlus)
        }
        let rows = Trainer.sampleRows(count: n, sample: sample, rng: &rng)
        var picked = [Float](repeating: 0, count: rows.count * d)
        for (i, r) in rows.enumerated() { for j in 0..<d { picked[i * d + j] = x[r * d + j] } }
        let seeds = picked.withUnsafeBufferPointer {
            SphericalKMeans.kMeansPlusPlus($0.baseAddress!, n: rows.count, d: d, k: k, rng: &rng, threads: threads)
        }
        return (seeds, .kMeansPlusPlus)
    }

    /// The clusters numbered by size, their items, representatives and neighbours.
    private static func summarise(_ input: ClusterInput, _ result: SphericalKMeans.Result, k: Int, options: ClusteringOptions,
                                  start: ClusteringStart, generation: UInt64, readSeconds: Double, clusterSeconds: Double) -> Clustering {
        let n = input.count, d = input.dimension
        let (starts, order) = SphericalKMeans.members(result.assignment, k: k)
        // Number by size, largest first; ties by the first item's row (members are in row order).
        let bySize = (0..<k).sorted {
            let a = starts[$0 + 1] - starts[$0], b = starts[$1 + 1] - starts[$1]
            if a != b { return a > b }
            return (a == 0 ? Int.max : order[starts[$0]]) < (b == 0 ? Int.max : order[starts[$1]])
        }
        var number = [Int](repeating: 0, count: k)
        for (i, j) in bySize.enumerated() { number[j] = i }
        var centroids = [Float](repeating: 0, count: k * d)
        for j in 0..<k { for i in 0..<d { centroids[number[j] * d + i] = result.centroids[j * d + i] } }
        // Cosines between centroids.
        var between = [Float](repeating: 0, count: k * k)
        centroids.withUnsafeBufferPointer { c in
            between.withUnsafeMutableBufferPointer { b in
                LinearAlgebra.multiplyF(c.baseAddress!, c.baseAddress!, into: b.baseAddress!, m: k, k: d, n: k, transposeB: true)
            }
        }
        var clusters: [Cluster] = []
        clusters.reserveCapacity(k)
        for (c, j) in bySize.enumerated() {
            let items = order[starts[j]..<starts[j + 1]]
            let mean = items.isEmpty ? 0 : items.reduce(0.0) { $0 + Double(result.similarity[$1]) } / Double(items.count)
            let nearest = items.sorted {
                result.similarity[$0] > result.similarity[$1] || (result.similarity[$0] == result.similarity[$1] && $0 < $1)
            }.prefix(options.representatives)
            let others = (0..<k).filter { $0 != c }.sorted {
                between[c * k + $0] > between[c * k + $1] || (between[c * k + $0] == between[c * k + $1] && $0 < $1)
            }.prefix(options.neighbours)
            clusters.append(Cluster(number: c, size: items.count, meanSimilarity: mean,
                                    centroid: Array(centroids[(c * d)..<((c + 1) * d)]),
                                    representatives: nearest.map { Member(id: input.ids[$0], row: input.rows[$0], similarity: result.similarity[$0]) },
                                    neighbours: others.map { Neighbour(cluster: $0, similarity: between[c * k + $0]) }))
        }
        var assignments: [Assignment] = []
        assignments.reserveCapacity(n)
        for i in 0..<n {
            assignments.append(Assignment(id: input.ids[i], row: input.rows[i], cluster: number[result.assignment[i]],
                                          similarity: result.similarity[i]))
        }
        return Clustering(options: options, generation: generation, assignments: assignments, clusters: clusters, start: start,
                          rounds: result.rounds, converged: result.converged, readSeconds: readSeconds, clusterSeconds: clusterSeconds)
    }
}

extension Index {
    /// Groups the index's live items (those satisfying ``ClusteringOptions/filter``) into
    /// ``ClusteringOptions/clusters`` clusters by cosine: ``Clustering/run(index:options:progress:)``.
    public func cluster(options: ClusteringOptions,
                        progress: @escaping @Sendable (WorkProgress) -> Void = { _ in }) throws(HashIdxError) -> Clustering {
        try Clustering.run(index: self, options: options, progress: progress)
    }
}
