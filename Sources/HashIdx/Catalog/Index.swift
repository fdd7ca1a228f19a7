/// An open hashidx index: memory-mapped shards, ready to search.
///
/// Opening reads `CURRENT`, maps the manifest and the shards of that generation and checks
/// their structure and checksums; nothing is read into memory beyond the manifest and the
/// deletion bitmaps. The open index is a snapshot of that generation: commits of an
/// ``IndexWriter`` do not change what it answers (its files stay mapped even after a writer
/// removes them); ``reopen()`` gives the newest generation. One `Index` serves any number of
/// threads at once.
///
/// ```swift
/// let index = try Index(path: "words.hidx")
/// let hits = try index.search([0.1, 0.2, /* … */], options: SearchOptions(k: 10))
/// for hit in hits { print(hit.id, hit.score) }
/// ```
public final class Index: Sendable {
    /// The index directory.
    public let path: String
    /// The generation's shards and how to search them (with the buffer's deletions).
    let searcher: Searcher
    /// The changes committed to the generation's write log and not yet to its shards
    /// (`nil`: none): searched from memory beside the shards.
    let buffer: WriteBuffer?
    /// The generation's own shards, without the buffer's deletions (what a reopen reuses).
    private let ownShards: [Shard]
    /// The manifest file's name and size.
    private let manifestName: String
    private let manifestBytes: Int
    /// Bytes of the write log when this snapshot read it (0: there was none; −1: a writer's
    /// snapshot with uncommitted changes, which a reopen always replaces).
    private let logBytes: Int

    /// Bytes of the generation's write log this snapshot holds (0: none). Of two snapshots
    /// of one index, the one with the later ``generation``, or the same and more log, holds
    /// later commits.
    public var logLength: Int { max(0, logBytes) }

    /// The number of items (deleted ones not counted).
    public var count: Int { searcher.liveCount + (buffer?.liveCount ?? 0) }
    /// Row numbers in use: rows are `0..<rowCount`, deleted ones included (they keep their
    /// numbers until a compaction renumbers the rows). Equal to ``count`` without deletions.
    public var rowCount: Int { searcher.count + (buffer?.rows ?? 0) }
    /// Items committed to the write log and not yet written to shards (docs/FORMAT.md §4):
    /// searched exactly, from memory, until a commit writes them to a shard.
    public var bufferedCount: Int { buffer?.liveCount ?? 0 }
    /// The generation this snapshot reads (each commit makes a new one).
    public let generation: UInt64
    /// The vector dimension.
    public var dimension: Int { manifest.model.dimension }
    /// The code length in bits.
    public var bits: Int { manifest.model.bits }
    /// The hash function.
    public var model: HashModel { manifest.model }
    /// Whether items have string ids (from an ids file) rather than row numbers.
    public var hasStringIDs: Bool { manifest.hasStringIDs }
    /// How training ran.
    public var training: TrainingInfo { manifest.training }
    /// The on-disk format version of the open index's files.
    public var formatVersion: Int { Int(manifest.formatVersion) }
    /// How searches rank candidates unless ``SearchOptions/rerank`` says otherwise.
    public var rerank: Rerank { manifest.rerank }
    /// The weight of the learned score in a ``Rerank/blend`` ranking, unless
    /// ``SearchOptions/blendWeight`` says otherwise.
    public var blendWeight: Float { manifest.blendWeight }
    /// The search settings a build with a target recall chose (``BuildOptions/targetRecall``,
    /// `hashidx build --target-recall`): searches that leave ``SearchOptions/probes`` or
    /// ``SearchOptions/candidates`` unset use them. `nil` when the index was not tuned.
    public var tunedSearch: TunedSearch? { manifest.tunedSearch }
    /// The probes a search that leaves them unset runs: the tuned value, else
    /// ``SearchOptions/defaultProbes``.
    public var defaultProbes: Int { tunedSearch?.probes ?? SearchOptions.defaultProbes }
    /// The candidates a search that leaves them unset re-ranks: the tuned value, else
    /// ``SearchOptions/defaultCandidates``.
    public var defaultCandidates: Int { tunedSearch?.candidates ?? SearchOptions.defaultCandidates }

    var manifest: Manifest { searcher.manifest }
    var shards: [Shard] { searcher.shards }

    /// Opens the index at `path` (a directory written by ``IndexBuilder``).
    ///
    /// - Throws: ``HashIdxError/notAnIndex(path:reason:)`` when `path` holds no index,
    ///   ``HashIdxError/corruptIndex(path:reason:)`` when its bytes were changed or cut,
    ///   ``HashIdxError/unsupportedVersion(path:version:supported:)`` for another format version.
    public convenience init(path: String) throws(HashIdxError) {
        try self.init(path: path, reusing: nil)
    }

    /// Opens the index at `path`, taking the shards of `previous` (an earlier snapshot of the
    /// same directory) whose manifest records are unchanged as they are: shard files never
    /// change once written, so their mapping, open-time checks and verified blocks carry over.
    /// With `readingLog`, the generation's write log is replayed into a buffer (a writer
    /// opens its base without, and replays the log into its own changes).
    init(path: String, reusing previous: Index?, readingLog: Bool = true) throws(HashIdxError) {
        self.path = path
        let reusable = Self.reusableShards(of: previous)
        let directory = IndexDirectory(path: path)
        // A writer may commit, and remove the generation `CURRENT` named, while this opens
        // it: when a file is missing and `CURRENT` has moved on, open the newer generation.
        var attempt = 0
        while true {
            let name = try directory.currentManifestName()
            do throws(HashIdxError) {
                let opened = try Self.open(directory, manifestName: name, reusing: reusable)
                let generation = Format.generation(ofFile: name) ?? 0
                var buffer: WriteBuffer? = nil
                var logBytes = 0
                if readingLog {
                    let bare = Index(path: path, searcher: opened.searcher, buffer: nil, ownShards: opened.searcher.shards,
                                     manifestName: name, manifestBytes: opened.manifestBytes, generation: generation, logBytes: 0)
                    (buffer, logBytes) = try bare.readLog(directory)
                    // A log is removed only after `CURRENT` moved on (its changes are in the
                    // new generation): a log read, or found missing, counts only if it has not.
                    guard try directory.currentManifestName() == name else {
                        throw HashIdxError.io(path: directory.file(Format.logName(generation)), reason: "the generation moved on while it was read")
                    }
                }
                searcher = buffer?.searcher(over: opened.searcher) ?? opened.searcher
                self.buffer = buffer
                ownShards = opened.searcher.shards
                manifestName = name
                manifestBytes = opened.manifestBytes
                self.generation = generation
                self.logBytes = logBytes
                return
            } catch {
                attempt += 1
                guard attempt < 100, let now = try? directory.currentManifestName(), now != name else { throw error }
            }
        }
    }

    /// Generation `generation` of the index at `path`, whose manifest `manifest` and files a
    /// writer has written but not yet committed, opened without a log: its shards mapped
    /// (those of `previous` whose records are unchanged taken as they are) and its searcher
    /// made — the partition arena copied — so that the writer, which commits it under its
    /// lock, does not do that work there. Valid as an index once committed as is.
    static func uncommitted(_ manifest: Manifest, generation: UInt64, path: String,
                            reusing previous: Index) throws(HashIdxError) -> Index {
        let searcher = try searcher(for: manifest, in: IndexDirectory(path: path), reusing: reusableShards(of: previous))
        return Index(path: path, searcher: searcher, buffer: nil, ownShards: searcher.shards,
                     manifestName: Format.manifestName(generation), manifestBytes: manifest.encoded().count,
                     generation: generation, logBytes: 0)
    }

    /// The shards of `previous` (its own, without a buffer's deletions) by file name: what a
    /// later generation's searcher takes as they are where its records are unchanged.
    private static func reusableShards(of previous: Index?) -> [String: Shard] {
        Dictionary((previous?.ownShards ?? []).map { ($0.record.fileName, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// A snapshot of `base` (opened without its log) with the changes of `buffer`; `logBytes`:
    /// the log's length holding them.
    convenience init(overlaying base: Index, buffer: WriteBuffer, logBytes: Int) {
        self.init(path: base.path, searcher: buffer.searcher(over: base.searcher), buffer: buffer.isEmpty ? nil : buffer,
                  ownShards: base.ownShards, manifestName: base.manifestName, manifestBytes: base.manifestBytes,
                  generation: base.generation, logBytes: logBytes)
    }

    private init(path: String, searcher: Searcher, buffer: WriteBuffer?, ownShards: [Shard], manifestName: String,
                 manifestBytes: Int, generation: UInt64, logBytes: Int) {
        self.path = path
        self.searcher = searcher
        self.buffer = buffer
        self.ownShards = ownShards
        self.manifestName = manifestName
        self.manifestBytes = manifestBytes
        self.generation = generation
        self.logBytes = logBytes
    }

    /// This generation's write log replayed (on `self`, opened without it) and the log's
    /// size; `nil` when there is none or it holds no whole record.
    private func readLog(_ directory: IndexDirectory) throws(HashIdxError) -> (WriteBuffer?, Int) {
        let path = directory.file(Format.logName(generation))
        guard let size = FileSystem.size(path), size > 0 else { return (nil, 0) }
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch {
            throw .corruptIndex(path: path, reason: "write log is unreadable: \(error)")
        }
        let (records, _) = try WriteLog.read(file.bytes, dimension: dimension, generation: generation, path: path)
        guard !records.isEmpty else { return (nil, file.bytes.count) }
        var ledger = ChangeLedger(base: self)
        try ledger.replay(records, path: path)
        return (try WriteBuffer(base: self, pending: ledger.pending, extending: nil), file.bytes.count)
    }

    /// Opens generation `manifestName` of `directory`.
    private static func open(_ directory: IndexDirectory, manifestName name: String,
                             reusing reusable: [String: Shard]) throws(HashIdxError) -> (searcher: Searcher, manifestBytes: Int) {
        let manifestFile: MappedFile
        do { manifestFile = try MappedFile(path: directory.file(name)) } catch {
            throw .corruptIndex(path: directory.path, reason: "manifest \(name) is missing or unreadable")
        }
        let manifest = try Manifest.decode(manifestFile.bytes, path: directory.file(name))
        return (try searcher(for: manifest, in: directory, reusing: reusable), manifestFile.bytes.count)
    }

    /// The searcher of generation `manifest` of `directory` (committed or about to be),
    /// taking the shards of `reusable` (by file name) whose records are unchanged.
    static func searcher(for manifest: Manifest, in directory: IndexDirectory,
                         reusing reusable: [String: Shard]) throws(HashIdxError) -> Searcher {
        var shards: [Shard] = []
        for record in manifest.shards {
            if let old = reusable[record.fileName], old.record == record {
                // (Lists added since it opened are empty in it.)
                let partitions = manifest.centroids?.count ?? 0
                if let offsets = old.partitionOffsets, offsets.count < partitions + 1 {
                    shards.append(Shard(old, deletions: old.deletions, partitions: partitions))
                } else {
                    shards.append(old)
                }
                continue
            }
            shards.append(try Shard(path: directory.file(record.fileName), record: record, manifest: manifest,
                                    deletionsPath: record.deletionsFile.map(directory.file)))
        }
        // The attribute types: the union of the shards' columns, which must agree.
        var schema: [String: AttributeType] = [:]
        for shard in shards {
            for (name, column) in shard.attributes.columns {
                if let known = schema[name], known != column.type {
                    throw .corruptIndex(path: shard.path, reason: "attribute \(name) is a \(column.type) here but a \(known) in another shard")
                }
                schema[name] = column.type
            }
        }
        return Searcher(manifest: manifest, shards: shards, attributeSchema: schema)
    }

    /// The newest committed generation of this index, with the changes committed to its
    /// write log: `self` when nothing was committed since it opened, else a new snapshot (this one keeps answering from its own generation).
    public func reopen() throws(HashIdxError) -> Index {
        let directory = IndexDirectory(path: path)
        let name = try directory.currentManifestName()
        if name == manifestName && (FileSystem.size(directory.file(Format.logName(generation))) ?? 0) == logBytes { return self }
        return try Index(path: path, reusing: self)
    }

    /// Bytes of all the index's live files (manifest, shards, deletion files' share as the
    /// manifest records them, CURRENT, and the write log this snapshot read).
    public var bytesOnDisk: Int {
        IndexDirectory.bytesOnDisk(shards: manifest.shards, manifestName: manifestName, manifestBytes: manifestBytes) + logLength
    }
}
