#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// File and directory operations: existence, listing, atomic rename, durable directory
/// entries, small reads and advisory locks.
enum FileSystem {
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    /// The size of the file at `path` in bytes; `nil` when there is none.
    static func size(_ path: String) -> Int? {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : nil
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

    /// Removes the directory `path` if it is empty.
    static func removeEmptyDirectory(_ path: String) {
        rmdir(path)
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
    /// returned descriptor is closed. `holder` and the process id are written into the file;
    /// when another process (or descriptor) holds the lock, throws an I/O error with
    /// `reasonWhenHeld` and what the holder wrote.
    static func lock(_ path: String, reasonWhenHeld: String, holder: String? = nil) throws(HashIdxError) -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: path, reason: systemError("cannot create lock file")) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            // The holder wrote who it is into the file (best effort: it may be mid-write).
            var buffer = [UInt8](repeating: 0, count: 200)
            let n = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            let who = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
            throw .io(path: path, reason: reasonWhenHeld + (who.isEmpty ? "" : " (held by \(who))"))
        }
        if let holder {
            let bytes = Array("\(holder), process \(getpid())".utf8)
            _ = ftruncate(fd, 0)
            _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
        return fd
    }

    static func unlock(_ fd: Int32) { close(fd) }
}
