import HashIdx
import Synchronization

/// What a `hashidx_index *` points at: one open snapshot.
final class IndexHandle {
    let index: Index
    init(_ index: Index) { self.index = index }
}

/// What a `hashidx_writer *` points at: the writer until it is closed (a lock, because one
/// thread may close it while another's call fetches it; that call then gets the writer's own
/// "was closed" error).
final class WriterHandle: Sendable {
    let writer: Mutex<IndexWriter?>
    init(_ writer: IndexWriter) { self.writer = Mutex(writer) }
}

/// The index behind a handle the caller passed; NULL is an argument error.
func index(_ handle: OpaquePointer?) throws -> Index {
    guard let handle else { throw CFailure.argument("index", "is NULL; open one with hashidx_open") }
    return Unmanaged<IndexHandle>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue().index
}

/// The writer behind a handle; NULL, or one already closed, is an argument error.
func writer(_ handle: OpaquePointer?) throws -> IndexWriter {
    guard let handle else { throw CFailure.argument("writer", "is NULL; open one with hashidx_writer_open") }
    guard let w = Unmanaged<WriterHandle>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue().writer.withLock({ $0 }) else {
        throw CFailure.argument("writer", "is closed; open a new one with hashidx_writer_open")
    }
    return w
}

/// A new handle owning one reference to `object`, for the caller to release.
func retainedHandle<T: AnyObject>(_ object: T) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(object).toOpaque())
}

/// A NUL-terminated C string as a Swift string: NULL is an argument error, and so is text
/// that is not UTF-8.
func string(_ text: UnsafePointer<CChar>?, name: String) throws -> String {
    guard let text else { throw CFailure.argument(name, "is NULL") }
    guard let s = String(validatingCString: text) else { throw CFailure.argument(name, "is not valid UTF-8") }
    return s
}
