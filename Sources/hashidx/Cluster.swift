import ArgumentParser
import HashIdx

struct Cluster: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Group the catalog's items into clusters of look-alike items (spherical k-means, cosine).",
        discussion: """
        Clusters every live item of the index (with --where, every live item whose
        attributes satisfy the filter) by the cosine of its stored vector, writes
        each item's cluster as JSON lines to --output, prints one line per cluster,
        and with --summary writes a JSON summary per cluster.

        Examples:

          hashidx cluster shop.hidx --clusters 50 --output clusters.jsonl
          hashidx cluster shop.hidx --clusters 20 --where 'category = "dress" and in_stock' \\
              --output dresses.jsonl --summary dresses.json --representatives 10

        Output, one line per item in row order:

          {"id":"sku-17","cluster":3,"similarity":0.871234}

        similarity is the cosine to the cluster's centroid (the normalised mean of
        its items). Clusters are numbered from 0 by size, largest first. The summary
        lists per cluster its size, mean similarity, the --representatives items
        nearest its centroid, and its --neighbours nearest clusters by centroid
        cosine. The same index generation, options and --seed give the same
        clusters whatever --threads is.

        Start (--start): kmeans++ seeds on the items as scikit-learn does; partitions
        groups the index's partitions into the clusters first (cheaper); auto takes
        partitions when the index has at least 8 per cluster.
        """
    )

    @Argument(help: "The index directory.")
    var index: String

    @Option(help: "The number of clusters.")
    var clusters: Int

    @OptionGroup var filter: WhereOption

    @Option(help: "At most this many k-means rounds (it stops earlier when a round moves no item).")
    var iterations: Int = ClusteringOptions.defaultIterations

    @Option(help: "Seed of the start: the same seed gives the same clusters.")
    var seed: UInt64 = ClusteringOptions.defaultSeed

    @OptionGroup var threads: ThreadsOption

    @Option(help: "Items nearest each centroid listed in the summary.")
    var representatives: Int = ClusteringOptions.defaultRepresentatives

    @Option(help: "Nearest other clusters listed in the summary.")
    var neighbours: Int = ClusteringOptions.defaultNeighbours

    @Option(help: "First centroids: auto, partitions or kmeans++.")
    var start: ClusteringStart = .automatic

    @Option(name: .shortAndLong, help: "The JSON-lines file of every item's cluster.")
    var output: String

    @Option(help: "A JSON file for the per-cluster summary.")
    var summary: String?

    func run() throws {
        try runReportingErrors { () throws(HashIdxError) in
            let options = ClusteringOptions(clusters: clusters, filter: try filter.filter(),
                                            iterations: iterations, seed: seed, threads: try threads.value(),
                                            representatives: representatives, neighbours: neighbours, start: start)
            try options.validate()
            let started = ProgressReporter.now()
            let index = try Index(path: self.index)
            let progress = ProgressReporter()
            let c = try index.cluster(options: options) { progress.report($0) }
            progress.finish()
            try c.writeAssignments(to: output)
            if let summary { try c.writeSummary(to: summary) }
            print(table(c), terminator: "")
            print("wrote \(output) (\(c.assignments.count) items)" + (summary.map { " and \($0)" } ?? "") +
                  " in \(formatFixed(ProgressReporter.now() - started, 2)) s")
        }
    }

    func table(_ c: Clustering) -> String {
        var s = "\(c.clusters.count) clusters of \(c.assignments.count) items (generation \(c.generation))"
        s += ", start \(c.start), \(c.rounds) rounds" + (c.converged ? " (converged)" : " (stopped at --iterations)")
        s += ", mean similarity \(formatFixed(c.meanSimilarity, 4))"
        s += "; read \(formatFixed(c.readSeconds, 2)) s, k-means \(formatFixed(c.clusterSeconds, 2)) s\n"
        let width = max(7, String(c.clusters.count - 1).count)
        s += "cluster".padding(width) + "  " + "size".padding(8) + "  mean sim  nearest item\n"
        for cluster in c.clusters {
            s += String(cluster.number).padding(width) + "  " + String(cluster.size).padding(8) + "  "
            s += formatFixed(cluster.meanSimilarity, 4).padding(8) + "  " + (cluster.representatives.first?.id ?? "") + "\n"
        }
        return s
    }
}

extension ClusteringStart: ExpressibleByArgument {}
