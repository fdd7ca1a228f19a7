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
    /// The generation's shards and how to search them.
    let searcher: Searcher
    /// The manifest file's name and size.
    private let manifestName: String
    private let manifestBytes: Int

    /// The number of items (deleted ones not counted).
    public var count: Int { searcher.liveCount }
    /// Row numbers in use: rows are `0..<rowCount`, deleted ones included (they keep their
    /// numbers until a compaction renumbers the rows). Equal to ``count`` without deletions.
    public var rowCount: Int { searcher.count }
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
    init(path: String, reusing previous: Index?) throws(HashIdxError) {
        self.path = path
        let reusable = Dictionary((previous?.shards ?? []).map { ($0.record.fileName, $0) }, uniquingKeysWith: { a, _ in a })
        let directory = IndexDirectory(path: path)
        // A writer may commit, and remove the generation `CURRENT` named, while this opens
        // it: when a file is missing and `CURRENT` has moved on, open the newer generation.
        var attempt = 0
        while true {
            let name = try directory.currentManifestName()
            do {
                let opened = try Self.open(directory, manifestName: name, reusing: reusable)
                searcher = opened.searcher
                manifestName = name
                manifestBytes = opened.manifestBytes
                generation = Format.generation(ofFile: name) ?? 0
                return
            } catch {
                attempt += 1
                guard attempt < 100, let now = try? directory.currentManifestName(), now != name else { throw error }
            }
        }
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
                shards.append(old)
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

    /// The newest committed generation of this index: `self` when nothing was committed since
    /// it opened, else a new snapshot (this one keeps answering from its own generation).
    public func reopen() throws(HashIdxError) -> Index {
        let name = try IndexDirectory(path: path).currentManifestName()
        if name == manifestName { return self }
        return try Index(path: path, reusing: self)
    }

    /// Bytes of all the index's live files (manifest, shards, CURRENT).
    public var bytesOnDisk: Int {
        IndexDirectory.bytesOnDisk(shards: manifest.shards, manifestName: manifestName, manifestBytes: manifestBytes)
    }
}
