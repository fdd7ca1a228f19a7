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

/// Directory operations for atomic index replacement.
enum FileSystem {
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func makeDirectory(_ path: String) throws(HashIdxError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw .io(path: path, reason: systemError("cannot create directory"))
        }
    }

    /// The names in directory `path` (without "." and "..").
    static func list(_ path: String) throws(HashIdxError) -> [String] {
        guard let dir = opendir(path) else { throw .io(path: path, reason: systemError("cannot list directory")) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func remove(_ path: String) {
        unlink(path)
    }

    /// Renames atomically, replacing `to` if it exists.
    static func replace(_ from: String, _ to: String) throws(HashIdxError) {
        guard rename(from, to) == 0 else { throw .io(path: to, reason: systemError("cannot rename \(from)")) }
    }

    /// Makes a directory's entries (creations, renames) durable.
    static func syncDirectory(_ path: String) throws(HashIdxError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, reason: systemError("cannot open directory")) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io(path: path, reason: systemError("fsync of directory failed")) }
    }

    /// Reads a whole small file.
    static func readSmallFile(_ path: String, limit: Int) throws(HashIdxError) -> [UInt8] {
        let f = try MappedFile(path: path)
        guard f.bytes.count <= limit else { throw .io(path: path, reason: "is \(f.bytes.count) bytes, more than the \(limit) expected") }
        return Array(f.bytes)
    }

    /// An exclusive, non-blocking lock on `path` (created if needed), held until the
    /// returned descriptor is closed.
    static func lock(_ path: String) throws(HashIdxError) -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: path, reason: systemError("cannot create lock file")) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            throw .io(path: path, reason: "another hashidx build is writing this index; wait for it to finish")
        }
        return fd
    }

    static func unlock(_ fd: Int32) { close(fd) }
}
