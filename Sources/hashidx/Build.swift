import ArgumentParser
import HashIdx

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

struct Build: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build an index from a vectors file.",
        discussion: """
        VECTORS is a .npy (2-D, C-order, little-endian float32/float16/float64),
        .fvecs or .fbin file. Each row is one item. Vectors are compared by cosine
        similarity.

        Example — index the 20,000 GloVe words shipped in Data/, with the words as
        ids:

          hashidx build Data/glove-20k.npy --ids Data/glove-20k.txt -o words.hidx

        If INDEX already holds an index it is replaced atomically: until the new one
        is complete, the old one stays readable.

        Supervised codes — the catalog's own notion of similarity (docs/SUPERVISED.md):
        --labels gives each row a set of labels (a text file, one line per row,
        labels separated by commas, an empty line for a row without labels; or a .npy
        integer array, negative = none); --pairs gives similar and dissimilar pairs
        (lines `id_a id_b 1|0`). The hash is then fine-tuned so that rows sharing a
        label (or marked similar) get near codes, and the index ranks results by the
        learned score unless --rerank says otherwise:

          hashidx build products.npy --ids skus.txt --labels categories.txt -o shop.hidx
          hashidx build products.npy --ids skus.txt --pairs matches.txt --epochs 20 -o shop.hidx
        """
    )

    @Argument(help: "The vectors file (.npy, .fvecs or .fbin).")
    var vectors: String

    @Option(name: .shortAndLong, help: "The index directory to write.")
    var output: String

    @Option(help: "A text file with one UTF-8 id per line, one per row (default: row numbers).")
    var ids: String?

    @Option(help: "A JSON-lines file of the items' attributes: one object per row in row order, or each keyed by its item's id (\"_id\"); see `hashidx query --where`.")
    var attributes: String?

    @Option(help: "Code length in bits, a multiple of 64.")
    var bits: Int = TrainingOptions.defaultBits

    @Option(help: "Labels per row to train the codes on: a text file (one line per row, comma-separated labels, empty line: none) or a .npy integer array (negative: none).")
    var labels: String?

    @Option(help: "Similar and dissimilar pairs to train the codes on: lines `id_a id_b 1|0` (ids as in --ids, else row numbers).")
    var pairs: String?

    @Option(name: .customLong("supervision-weight"), help: "Weight of the labels or pairs against keeping the cosine geometry, 0…1 (0: unsupervised codes).")
    var supervisionWeight: Float = TrainingOptions.defaultSupervisionWeight

    @Option(help: "Training epochs of the supervised head.")
    var epochs: Int = TrainingOptions.defaultEpochs

    @Option(help: "The supervised head: two-layer (a hidden ReLU layer; default) or linear.")
    var head: TrainingOptions.Head = .twoLayer

    @Option(help: "How results are ranked by default: cosine (exact, on the stored vectors), learned (the supervised codes' score) or blend. Default: learned with --labels/--pairs, else cosine.")
    var rerank: Rerank?

    @Option(name: .customLong("blend-weight"), help: "Weight of the learned score in the blend ranking, 0…1.")
    var blendWeight: Float = Rerank.defaultBlendWeight

    @Option(name: .customLong("shard-size"), help: "Rows per shard file.")
    var shardSize: Int = BuildOptions.defaultShardSize

    @Option(name: .customLong("train-sample"), help: "Rows sampled to train the hash function.")
    var trainSample: Int = TrainingOptions.defaultSampleSize

    @Option(help: "Partitions (k-means lists); a query scans the nearest few. Default: none below 20,000 rows, else about 2√rows. 0: none.")
    var partitions: Int?

    @Option(help: "Threads for encoding the rows (default: all cores); training and partitioning run on OpenBLAS threads (OPENBLAS_NUM_THREADS).")
    var threads: Int?

    @Option(name: .customLong("vector-type"), help: "Stored vector precision: float16 (default: half the bytes, cosines within about 1e-3) or float32 (exact re-rank scores).")
    var vectorType: VectorType = .float16

    @Option(name: .customLong("vector-codec"), help: "Vector compression: auto (raw: every candidate would decode a whole LZ4 block), lz4 (smallest files, slower queries) or none.")
    var vectorCodec: CodecChoice = .auto

    @Option(name: .customLong("id-codec"), help: "Id compression: auto, lz4 or none.")
    var idCodec: CodecChoice = .auto

    @Option(name: .customLong("target-recall"), help: "Tune the index's default search for this recall@10, e.g. 0.95: the build searches for a sample of its own rows and stores the cheapest probes and candidates that reach it (`hashidx info` shows them; --probes/--candidates still override).")
    var targetRecall: Double?

    @Option(name: .customLong("model-from"), help: "Build with the trained model (hash function and partitions) of this index instead of training one: indexes built from one model hash and partition alike, so searching each and merging by score is one search. --bits, --partitions, --labels and the training options then do not apply.")
    var modelFrom: String?

    func run() throws {
        try runReportingErrors { () throws(HashIdxError) in
            var options = BuildOptions()
            options.training.bits = bits
            options.training.sampleSize = trainSample
            options.shardSize = shardSize
            options.vectorCodec = vectorCodec
            options.idCodec = idCodec
            options.partitions = partitions
            options.threads = threads
            options.vectorType = vectorType
            options.rerank = rerank
            options.blendWeight = blendWeight
            options.targetRecall = targetRecall
            if let modelFrom {
                if labels != nil || pairs != nil {
                    throw .invalidArgument(name: "model-from", reason: "builds with that index's model, which is already trained: drop --labels/--pairs")
                }
                options.trainedModel = try Index(path: modelFrom).trainedModel
            }
            options.training.supervisionWeight = supervisionWeight
            options.training.epochs = epochs
            options.training.head = head
            if labels != nil && pairs != nil {
                throw .invalidArgument(name: "labels", reason: "give --labels or --pairs, not both")
            }
            if labels != nil || pairs != nil {
                let rows = try VectorFile(path: vectors).count
                if let labels {
                    options.training.supervision = .labels(try RowLabels.read(path: labels, rows: rows))
                } else if let pairs {
                    let idList = try ids.map { (p) throws(HashIdxError) in try IDList.read(path: p) }
                    options.training.supervision = .pairs(try RowPairs.read(path: pairs, ids: idList, rows: rows))
                }
            }
            let progress = ProgressReporter()
            let summary = try IndexBuilder.build(vectorsPath: vectors, idsPath: ids, attributesPath: attributes, to: output, options: options) {
                progress.report($0)
            }
            progress.finish()
            print("""
            built \(output)
              rows:       \(summary.rows)
              dimension:  \(summary.dimension)
              bits:       \(summary.bits)
              shards:     \(summary.shards)
              on disk:    \(formatBytes(summary.bytesOnDisk))
              seconds:    \(formatFixed(summary.seconds, 2))
            """)
            if let tuned = summary.tunedSearch {
                let reached = tuned.measuredRecall >= tuned.targetRecall
                let probes = summary.partitions == 0 ? "" : "probes \(tuned.probes), "
                print("  search:     \(probes)candidates \(tuned.candidates): recall@10 "
                      + "\(formatFixed(tuned.measuredRecall, 3)) on \(tuned.sampleQueries) of its rows"
                      + (reached ? " (target \(formatFixed(tuned.targetRecall, 3)))"
                                 : ", below the target \(formatFixed(tuned.targetRecall, 3)): the most thorough setting tried; more bits (--bits) reach higher"))
            }
        }
    }
}
