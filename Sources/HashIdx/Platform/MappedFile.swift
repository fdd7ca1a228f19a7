#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file mapped read-only into memory.
///
/// The bytes live in the OS page cache; nothing is copied. The mapping is released when
/// the last reference goes away.
final class MappedFile: @unchecked Sendable {
    /// The file's path, for error messages.
    let path: String
    /// The file's bytes. Empty for an empty file.
    let bytes: UnsafeRawBufferPointer

    private let base: UnsafeMutableRawPointer?
    private let length: Int
    /// The open file, for positioned reads that bypass the map.
    private let descriptor: Int32

    /// Maps the file at `path`.
    init(path: String) throws(HashIdxError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, reason: systemError("cannot open")) }
        var keepOpen = false
        defer { if !keepOpen { close(fd) } }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io(path: path, reason: systemError("cannot stat")) }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            throw .io(path: path, reason: "is a directory, not a file")
        }
        let size = Int(st.st_size)
        length = size
        if size == 0 {
            base = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            descriptor = -1
            return
        }
        #if HASHIDX_FUZZING
        // Fuzzing builds read the file into an allocation of exactly its size, so that
        // AddressSanitizer reports any read past the end (a map rounds up to whole pages).
        let p = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        var done = 0
        while done < size {
            let n = pread(fd, p + done, size - done, off_t(done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { p.deallocate(); throw .io(path: path, reason: systemError("cannot read")) }
            done += n
        }
        #else
        let p = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else { throw .io(path: path, reason: systemError("cannot map")) }
        #endif
        base = p
        bytes = UnsafeRawBufferPointer(start: p, count: size)
        descriptor = fd
        keepOpen = true
    }

    deinit {
        #if HASHIDX_FUZZING
        base?.deallocate()
        #else
        if let base { munmap(base, length) }
        #endif
        if descriptor >= 0 { close(descriptor) }
    }

    /// Reads `buffer.count` bytes at `offset` with `pread`; `false` if they could not all be read.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Bool {
        guard descriptor >= 0, offset >= 0, buffer.count <= length - offset else { return false }
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    /// Tells the OS that the mapped pages are not needed for now: they leave this process's
    /// resident set (and stay in the page cache); reading them again faults them back in.
    func releaseResidentPages() {
        #if !HASHIDX_FUZZING
        if let base { _ = madvise(base, length, Int32(MADV_DONTNEED)) }
        #endif
    }
}

/// "`what`: <strerror(errno)>".
func systemError(_ what: String) -> String {
    let code = errno
    return "\(what): \(String(cString: strerror(code)))"
}

extension UnsafeRawBufferPointer {
    /// Reads a little-endian integer at `offset` (no alignment needed). The caller checks bounds.
    @inline(__always)
    func le<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
