import CHashIdxABI
import HashIdx

/// `hashidx_writer_open`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_writer_open")
public func cWriterOpen(_ path: UnsafePointer<CChar>?, _ threads: Int32, _ out: UnsafeMutablePointer<OpaquePointer?>?,
                        _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    reporting(error) {
        guard let out else { throw CFailure.argument("writer", "the pointer to return the handle in is NULL") }
        out.pointee = nil
        guard threads >= 0 else { throw CFailure.argument("threads", "must be 0 (all cores) or positive, got \(threads)") }
        let writer = try IndexWriter(path: try string(path, name: "path"), threads: threads == 0 ? nil : Int(threads),
                                     holder: "a hashidx C/Python writer")
        out.pointee = retainedHandle(WriterHandle(writer))
    }
}

/// An add or upsert from the caller's buffers.
private func change(_ handle: OpaquePointer?, _ vectors: UnsafeRawPointer?, _ dtype: hashidx_dtype, _ rows: Int64,
                     _ dimension: Int64, _ ids: UnsafePointer<CChar>?, _ idsLength: Int, _ attributes: UnsafePointer<CChar>?,
                     _ attributesLength: Int, replacing: Bool, _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    reporting(error) {
        let writer = try writer(handle)
        let source = try CallerVectors(vectors, dtype: dtype, rows: rows, dimension: dimension, name: "vectors")
        let idList = try lines(ids, length: idsLength, name: "ids")
        if let idList, idList.count != source.count {
            throw HashIdxError.idCountMismatch(path: "ids", ids: idList.count, rows: source.count)
        }
        let table = try attributeTable(attributes, length: attributesLength, rows: source.count, ids: idList)
        if replacing {
            guard let idList else { throw CFailure.argument("ids", "is NULL; an upsert names the items it replaces") }
            try writer.upsert(source, ids: idList, attributes: table)
        } else {
            try writer.add(source, ids: idList, attributes: table)
        }
    }
}

/// `hashidx_writer_add`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_writer_add")
public func cWriterAdd(_ handle: OpaquePointer?, _ vectors: UnsafeRawPointer?, _ dtype: hashidx_dtype, _ rows: Int64,
                       _ dimension: Int64, _ ids: UnsafePointer<CChar>?, _ idsLength: Int, _ attributes: UnsafePointer<CChar>?,
                       _ attributesLength: Int, _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    change(handle, vectors, dtype, rows, dimension, ids, idsLength, attributes, attributesLength, replacing: false, error)
}

/// `hashidx_writer_upsert`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_writer_upsert")
public func cWriterUpsert(_ handle: OpaquePointer?, _ vectors: UnsafeRawPointer?, _ dtype: hashidx_dtype, _ rows: Int64,
                          _ dimension: Int64, _ ids: UnsafePointer<CChar>?, _ idsLength: Int, _ attributes: UnsafePointer<CChar>?,
                          _ attributesLength: Int, _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    change(handle, vectors, dtype, rows, dimension, ids, idsLength, attributes, attributesLength, replacing: true, error)
}

/// `hashidx_writer_delete`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_writer_delete")
public func cWriterDelete(_ handle: OpaquePointer?, _ ids: UnsafePointer<CChar>?, _ idsLength: Int, _ ignoreMissing: Int32,
                          _ missing: UnsafeMutablePointer<Int64>?, _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    reporting(error) {
        let writer = try writer(handle)
        guard let idList = try lines(ids, length: idsLength, name: "ids") else { throw CFailure.argument("ids", "is NULL") }
        let notFound = try writer.delete(ids: idList, ignoringMissing: ignoreMissing != 0)
        missing?.pointee = Int64(notFound.count)
    }
}

/// `hashidx_writer_commit`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_writer_commit")
public func cWriterCommit(_ handle: OpaquePointer?, _ summary: UnsafeMutablePointer<hashidx_commit_summary>?,
                          _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    reporting(error) {
        let s = try writer(handle).commit()
        summary?.pointee = hashidx_commit_summary(generation: s.generation, added: Int64(s.added), deleted: Int64(s.deleted),
                                                  count: Int64(s.count), seconds: s.seconds)
    }
}

/// `hashidx_writer_commit_log`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_writer_commit_log")
public func cWriterCommitLog(_ handle: OpaquePointer?, _ summary: UnsafeMutablePointer<hashidx_commit_summary>?,
                             _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    reporting(error) {
        let s = try writer(handle).commit(durability: .log)
        summary?.pointee = hashidx_commit_summary(generation: s.generation, added: Int64(s.added), deleted: Int64(s.deleted),
                                                  count: Int64(s.count), seconds: s.seconds)
    }
}

/// `hashidx_writer_flush`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_writer_flush")
public func cWriterFlush(_ handle: OpaquePointer?, _ summary: UnsafeMutablePointer<hashidx_commit_summary>?,
                         _ flushed: UnsafeMutablePointer<Int32>?, _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    reporting(error) {
        let s = try writer(handle).flush()
        flushed?.pointee = s == nil ? 0 : 1
        if let s {
            summary?.pointee = hashidx_commit_summary(generation: s.generation, added: Int64(s.added), deleted: Int64(s.deleted),
                                                      count: Int64(s.count), seconds: s.seconds)
        }
    }
}

/// `hashidx_writer_rollback`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_writer_rollback")
public func cWriterRollback(_ handle: OpaquePointer?) {
    (try? writer(handle))?.rollback()
}

/// `hashidx_writer_has_changes`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_writer_has_changes")
public func cWriterHasChanges(_ handle: OpaquePointer?) -> Int32 {
    ((try? writer(handle))?.hasChanges ?? false) ? 1 : 0
}

/// `hashidx_writer_compact`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_writer_compact")
public func cWriterCompact(_ handle: OpaquePointer?, _ retrain: Int32, _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    reporting(error) {
        let writer = try writer(handle)
        guard !writer.hasChanges else {
            throw CFailure(HASHIDX_ERR_PENDING_CHANGES, "the writer holds uncommitted changes; commit or roll them back before compacting")
        }
        try writer.compact(retrain: retrain != 0)
    }
}

/// `hashidx_writer_close`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_writer_close")
public func cWriterClose(_ handle: OpaquePointer?, _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    reporting(error) {
        let writer = try writer(handle)
        do {
            try writer.close()
        } catch {
            // (Checked after the refusal: another thread may have added changes meanwhile.)
            if writer.hasChanges {
                throw CFailure(HASHIDX_ERR_PENDING_CHANGES, "the writer holds uncommitted changes; commit or roll them back before closing")
            }
            throw error
        }
        Unmanaged<WriterHandle>.fromOpaque(UnsafeRawPointer(handle!)).takeUnretainedValue().writer.withLock { $0 = nil }
    }
}

/// `hashidx_writer_free`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_writer_free")
public func cWriterFree(_ handle: OpaquePointer?) {
    guard let handle else { return }
    let box = Unmanaged<WriterHandle>.fromOpaque(UnsafeRawPointer(handle))
    if let writer = box.takeUnretainedValue().writer.withLock({ w in defer { w = nil }; return w }) {
        writer.rollback()
        try? writer.close()
    }
    box.release()
}
