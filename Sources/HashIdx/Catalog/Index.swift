/// An open hashidx index: memory-mapped shards, ready to search.
///
/// Opening reads `CURRENT`, maps the manifest and the shards of that generation and checks
/// their structure and checksums; nothing is read into memory beyond the manifest. The open
/// index is a snapshot of that generation. One `Index` serves any number of threads at once.
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

    /// The number of rows (items).
    public var count: Int { searcher.count }
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

    var manifest: Manifest { searcher.manifest }
    var shards: [Shard] { searcher.shards }

    /// Opens the index at `path` (a directory written by ``IndexBuilder``).
    ///
    /// - Throws: ``HashIdxError/notAnIndex(path:reason:)`` when `path` holds no index,
    ///   ``HashIdxError/corruptIndex(path:reason:)`` when its bytes were changed or cut,
    ///   ``HashIdxError/unsupportedVersion(path:version:supported:)`` for another format version.
    public init(path: String) throws(HashIdxError) {
        self.path = path
        let directory = IndexDirectory(path: path)
        let name = try directory.currentManifestName()
        let manifestFile: MappedFile
        do { manifestFile = try MappedFile(path: directory.file(name)) } catch {
            throw .corruptIndex(path: path, reason: "manifest \(name) is missing or unreadable")
        }
        let manifest = try Manifest.decode(manifestFile.bytes, path: directory.file(name))
        var shards: [Shard] = []
        for record in manifest.shards {
            shards.append(try Shard(path: directory.file(record.fileName), record: record, manifest: manifest))
        }
        searcher = Searcher(manifest: manifest, shards: shards)
        manifestName = name
        manifestBytes = manifestFile.bytes.count
    }

    /// Bytes of all the index's live files (manifest, shards, CURRENT).
    public var bytesOnDisk: Int {
        IndexDirectory.bytesOnDisk(shards: manifest.shards, manifestName: manifestName, manifestBytes: manifestBytes)
    }
}
