import CHashIdxABI
import HashIdx

/// `hashidx_open`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_open")
public func cOpen(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?,
                  _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    reporting(error) {
        guard let out else { throw CFailure.argument("index", "the pointer to return the handle in is NULL") }
        out.pointee = nil
        let index = try Index(path: try string(path, name: "path"))
        out.pointee = retainedHandle(IndexHandle(index))
    }
}

/// `hashidx_reopen`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_reopen")
public func cReopen(_ handle: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?,
                    _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    reporting(error) {
        guard let out else { throw CFailure.argument("newer", "the pointer to return the handle in is NULL") }
        out.pointee = nil
        let newer = try index(handle).reopen()
        out.pointee = retainedHandle(IndexHandle(newer))
    }
}

/// `hashidx_close`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_close")
public func cClose(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<IndexHandle>.fromOpaque(UnsafeRawPointer(handle)).release()
}

/// `hashidx_count`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_count")
public func cCount(_ handle: OpaquePointer?) -> Int64 { Int64((try? index(handle).count) ?? 0) }

/// `hashidx_dimension`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_dimension")
public func cDimension(_ handle: OpaquePointer?) -> Int64 { Int64((try? index(handle).dimension) ?? 0) }

/// `hashidx_has_string_ids`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_has_string_ids")
public func cHasStringIDs(_ handle: OpaquePointer?) -> Int32 { ((try? index(handle).hasStringIDs) ?? false) ? 1 : 0 }

/// `hashidx_info_json`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_info_json")
public func cInfoJSON(_ handle: OpaquePointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int,
                      _ needed: UnsafeMutablePointer<Int>?, _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    reporting(error) {
        try copyOut(infoJSON(try index(handle)), to: buffer, capacity: capacity, needed: needed)
    }
}

/// The index described as one JSON object (hashidx.h lists the keys).
func infoJSON(_ index: Index) -> String {
    let attributes = index.attributeSchema.keys.sorted().map { "\(JSONText.quoted($0)):\"\(typeName(index.attributeSchema[$0]!))\"" }
    let fields: [(String, String)] = [
        ("path", JSONText.quoted(index.path)),
        ("generation", String(index.generation)),
        ("count", String(index.count)),
        ("rows", String(index.rowCount)),
        ("dimension", String(index.dimension)),
        ("bits", String(index.bits)),
        ("partitions", String(index.partitionCount)),
        ("shards", String(index.shardCount)),
        ("buffered", String(index.bufferedCount)),
        ("log_bytes", String(index.logLength)),
        ("format_version", String(index.formatVersion)),
        // How far the partitions fit the items now (null where there is no figure).
        ("list_balance", number(index.listBalance?.current)),
        ("list_balance_at_fit", number(index.listBalance?.atFit)),
        ("drift", number(index.drift?.ratio)),
        ("growth", number(index.growth)),
        ("partition_arena_bytes", String(index.partitionArenaBytes)),
        ("bytes_on_disk", String(index.bytesOnDisk)),
        ("string_ids", index.hasStringIDs ? "true" : "false"),
        ("default_probes", String(index.defaultProbes)),
        ("default_candidates", String(index.defaultCandidates)),
        // (Recalls are stored as float32: printed as the shortest decimal of that float.)
        ("tuned", index.tunedSearch.map {
            "{\"target_recall\":\(Float($0.targetRecall)),\"measured_recall\":\(Float($0.measuredRecall)),\"sample_queries\":\($0.sampleQueries)}"
        } ?? "null"),
        ("rerank", JSONText.quoted(index.rerank.description)),
        ("vector_type", JSONText.quoted(index.vectorType.description)),
        ("attributes", "{" + attributes.joined(separator: ",") + "}"),
    ]
    return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
}

/// A JSON number, or `null` for none (or a value JSON cannot hold).
private func number(_ value: Double?) -> String {
    guard let value, value.isFinite else { return "null" }
    return String(value)
}

/// An attribute type's name in `hashidx_info_json`: string, tags, integer, float, boolean.
func typeName(_ type: AttributeType) -> String {
    switch type {
    case .string: "string"
    case .tags: "tags"
    case .integer: "integer"
    case .float: "float"
    case .boolean: "boolean"
    }
}

/// `hashidx_verify`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_verify")
public func cVerify(_ handle: OpaquePointer?, _ files: UnsafePointer<CChar>?, _ filesLength: Int,
                    _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    reporting(error) {
        let chosen = try lines(files, length: filesLength, name: "files").map { Set($0.filter { !$0.isEmpty }) }
        try index(handle).verify(files: chosen)
    }
}
