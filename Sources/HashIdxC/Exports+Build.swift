import CHashIdxABI
import HashIdx

/// The library's version (CHANGELOG.md's newest release).
let libraryVersion: StaticString = "0.2.0"

/// `hashidx_version`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_version")
public func cVersion() -> UnsafePointer<CChar> {
    UnsafeRawPointer(libraryVersion.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// `hashidx_abi_version`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_abi_version")
public func cABIVersion() -> UInt32 { UInt32(HASHIDX_ABI_VERSION) }

/// `hashidx_build_options_init`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_build_options_init")
public func cBuildOptionsInit(_ options: UnsafeMutablePointer<hashidx_build_options>?) {
    guard let options else { return }
    options.pointee = hashidx_build_options(
        bits: 0, partitions: -1, float32_vectors: 0, threads: 0, seed: 0, target_recall: 0,
        rerank: Int32(HASHIDX_RERANK_DEFAULT.rawValue), supervision_weight: -1, labels: nil, labels_length: 0,
        model_from: nil)
}

/// The library's build options from the C struct (NULL: the defaults), with the labels
/// (one line per row) checked against the row count.
func buildOptions(_ c: UnsafePointer<hashidx_build_options>?, rows: Int) throws -> BuildOptions {
    var options = BuildOptions()
    guard let c = c?.pointee else { return options }
    if c.bits != 0 { options.training.bits = Int(c.bits) }
    if c.partitions >= 0 { options.partitions = Int(c.partitions) }
    else if c.partitions != -1 { throw CFailure.argument("partitions", "must be -1 (the default), 0 (none) or a count, got \(c.partitions)") }
    options.vectorType = c.float32_vectors != 0 ? .float32 : .float16
    if c.threads < 0 { throw CFailure.argument("threads", "must be 0 (all cores) or positive, got \(c.threads)") }
    if c.threads > 0 { options.threads = Int(c.threads) }
    if c.seed != 0 { options.training.seed = c.seed }
    if c.target_recall != 0 { options.targetRecall = c.target_recall }
    options.rerank = try rerank(c.rerank)
    if c.supervision_weight >= 0 { options.training.supervisionWeight = c.supervision_weight }
    else if c.supervision_weight.isNaN { throw CFailure.argument("supervision_weight", "is NaN") }
    if let from = c.model_from {
        options.trainedModel = try Index(path: try string(from, name: "model_from")).trainedModel
    }
    if let text = try lines(c.labels, length: c.labels_length, name: "labels") {
        guard text.count == rows else {
            throw CFailure(HASHIDX_ERR_MALFORMED_INPUT, "labels: \(text.count) lines for \(rows) rows; give one line per row (labels separated by commas, an empty line for none)")
        }
        options.training.supervision = .labels(RowLabels(text.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }))
    }
    return options
}

/// A `hashidx_rerank` value: `nil` for the default.
func rerank(_ value: Int32) throws -> Rerank? {
    switch UInt32(bitPattern: value) {
    case HASHIDX_RERANK_DEFAULT.rawValue: return nil
    case HASHIDX_RERANK_COSINE.rawValue: return .cosine
    case HASHIDX_RERANK_LEARNED.rawValue: return .learned
    case HASHIDX_RERANK_BLEND.rawValue: return .blend
    default: throw CFailure.argument("rerank", "\(value) is not a hashidx_rerank (0 default, 1 cosine, 2 learned, 3 blend)")
    }
}

/// The attribute table of a caller's JSON lines (NULL: none), named `source` in errors.
func attributeTable(_ text: UnsafePointer<CChar>?, length: Int, rows: Int, ids: [String]?) throws -> AttributeTable? {
    guard let text else { return nil }
    guard length >= 0 else { throw CFailure.argument("attributes length", "must not be negative") }
    let bytes = [UInt8](UnsafeRawBufferPointer(start: UnsafeRawPointer(text), count: length))
    return try AttributesFile.parse(bytes, source: "attributes", rows: rows, ids: ids)
}

/// `hashidx_build`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_build")
public func cBuild(_ path: UnsafePointer<CChar>?, _ vectors: UnsafeRawPointer?, _ dtype: hashidx_dtype, _ rows: Int64,
                   _ dimension: Int64, _ ids: UnsafePointer<CChar>?, _ idsLength: Int, _ attributes: UnsafePointer<CChar>?,
                   _ attributesLength: Int, _ options: UnsafePointer<hashidx_build_options>?,
                   _ summary: UnsafeMutablePointer<hashidx_build_summary>?,
                   _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    reporting(error) {
        let path = try string(path, name: "path")
        let source = try CallerVectors(vectors, dtype: dtype, rows: rows, dimension: dimension, name: "vectors")
        let idList = try lines(ids, length: idsLength, name: "ids")
        let table = try attributeTable(attributes, length: attributesLength, rows: source.count, ids: idList)
        let built = try IndexBuilder.build(source: source, ids: idList, attributes: table, to: path,
                                           options: try buildOptions(options, rows: source.count))
        summary?.pointee = hashidx_build_summary(
            rows: Int64(built.rows), dimension: Int32(built.dimension), bits: Int32(built.bits), shards: Int32(built.shards),
            partitions: Int32(built.partitions), bytes_on_disk: Int64(built.bytesOnDisk), seconds: built.seconds,
            tuned_probes: Int32(built.tunedSearch?.probes ?? 0), tuned_candidates: Int32(built.tunedSearch?.candidates ?? 0))
    }
}
