#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file opened for writing, with positioned and sequential writes and `fsync`.
final class OutputFile {
    let path: String
    private var fd: Int32

    /// Creates (or truncates) `path`.
    init(creating path: String) throws(HashIdxError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: path, reason: systemError("cannot create")) }
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Writes `bytes` at `offset`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(HashIdxError) {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, reason: systemError("write failed"))
            }
            done += n
        }
    }

    func write(_ bytes: [UInt8], at offset: Int) throws(HashIdxError) {
        let copy = bytes
        var failure: HashIdxError?
        copy.withUnsafeBytes { b in
            do throws(HashIdxError) { try write(b, at: offset) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Flushes the file's data to stable storage and closes it.
    func syncAndClose() throws(HashIdxError) {
        guard fsync(fd) == 0 else { throw .io(path: path, reason: systemError("fsync failed")) }
        close(fd)
        fd = -1
    }
}
