/// An index directory and its life cycle (docs/FORMAT.md §1): which files belong to it, the
/// `LOCK` a writer holds, generations, the atomic commit through `CURRENT`, and the removal
/// of what no generation needs any more.
///
/// Every writer of an index (today the builder; the catalog writer of add/delete/compact
/// later) goes through here, so that the rules that keep readers safe live in one place.
struct IndexDirectory {
    /// The directory.
    let path: String

    /// The path of `name` inside the directory.
    func file(_ name: String) -> String { path + "/" + name }

    // MARK: Reading

    /// The name of the live manifest, as `CURRENT` gives it.
    func currentManifestName() throws(HashIdxError) -> String {
        guard FileSystem.exists(path) else { throw .io(path: path, reason: "no such file or directory") }
        guard FileSystem.isDirectory(path) else { throw .notAnIndex(path: path, reason: "it is a file; an index is a directory") }
        let currentPath = file(Format.currentFile)
        guard FileSystem.exists(currentPath) else {
            throw .notAnIndex(path: path, reason: "no \(Format.currentFile) file; was the build interrupted?")
        }
        let current = try FileSystem.readSmallFile(currentPath, limit: 256)
        guard let text = String(validating: current, as: UTF8.self), text.hasSuffix("\n"),
              case let name = String(text.dropLast()), Format.generation(ofFile: name) != nil, name.hasPrefix("MANIFEST-") else {
            throw .corruptIndex(path: path, reason: "\(Format.currentFile) does not name a manifest")
        }
        return name
    }

    /// Bytes of one generation's files: its shards, its manifest (`manifestBytes` long, named
    /// `manifestName`) and the `CURRENT` file that names it.
    static func bytesOnDisk(shards: [ShardRecord], manifestName: String, manifestBytes: Int) -> Int {
        shards.reduce(0) { $0 + Int($1.fileSize) } + manifestBytes + currentFileContents(manifestName).count
    }

    /// What `CURRENT` holds when it names `manifestName`.
    static func currentFileContents(_ manifestName: String) -> [UInt8] {
        Array((manifestName + "\n").utf8)
    }

    // MARK: Writing

    /// Whether `name` is a file an index directory may hold.
    static func isIndexFile(_ name: String) -> Bool {
        name == Format.currentFile || name == Format.lockFile || name.hasPrefix(Format.currentTemporaryPrefix)
            || Format.generation(ofFile: name) != nil
    }

    /// Makes sure the directory exists and holds nothing but index files. Returns whether it
    /// was created now.
    func prepare() throws(HashIdxError) -> Bool {
        if FileSystem.exists(path) {
            guard FileSystem.isDirectory(path) else {
                throw .io(path: path, reason: "exists and is a file; give a new path or an existing index directory")
            }
            let foreign = try FileSystem.list(path).filter { !Self.isIndexFile($0) }
            if !foreign.isEmpty {
                throw .io(path: path, reason: "exists and holds files that are not a hashidx index (\(foreign.prefix(3).joined(separator: ", "))); give a new path")
            }
            return false
        }
        try FileSystem.makeDirectory(path)
        return true
    }

    /// Takes the directory's write lock; a second writer, in this process or another, gets a
    /// clear error. Released by ``unlock(_:)``.
    /// `holder` (for example "hashidx add") is written into the lock file with the process
    /// id, so that the error another writer gets names who holds it.
    func lock(holder: String = "hashidx build") throws(HashIdxError) -> Int32 {
        try FileSystem.lock(file(Format.lockFile),
                            reasonWhenHeld: "another writer holds this index's lock; wait for it to finish, or close it",
                            holder: holder)
    }

    /// Releases a lock taken by ``lock()``.
    func unlock(_ lock: Int32) { FileSystem.unlock(lock) }

    /// The generation a new writer uses: one above every generation of any file present,
    /// leftovers included.
    func nextGeneration() throws(HashIdxError) -> UInt64 {
        let generations = try FileSystem.list(path).compactMap { name -> UInt64? in
            if name.hasPrefix(Format.currentTemporaryPrefix) { return UInt64(name.dropFirst(Format.currentTemporaryPrefix.count)) }
            return Format.generation(ofFile: name)
        }
        return (generations.max() ?? 0) + 1
    }

    /// Commits generation `generation`: writes and syncs its manifest, then atomically points
    /// `CURRENT` at it (write a temporary file, sync, rename, sync the directory). Every file
    /// it creates is added to `written` first, so that a failed commit can be cleaned up.
    /// Returns the manifest's name and size in bytes.
    func commit(_ manifest: Manifest, generation: UInt64, written: inout [String]) throws(HashIdxError) -> (name: String, bytes: Int) {
        let manifestName = Format.manifestName(generation)
        let encoded = manifest.encoded()
        written.append(manifestName)
        let m = try OutputFile(creating: file(manifestName))
        try m.write(encoded, at: 0)
        try m.syncAndClose()
        try FileSystem.syncDirectory(path)

        // The commit point: CURRENT names the new manifest.
        let temporary = Format.currentTemporaryPrefix + String(generation)
        written.append(temporary)
        let c = try OutputFile(creating: file(temporary))
        try c.write(Self.currentFileContents(manifestName), at: 0)
        try c.syncAndClose()
        try FileSystem.replace(file(temporary), file(Format.currentFile))
        try FileSystem.syncDirectory(path)
        return (manifestName, encoded.count)
    }

    /// Removes every index file that `keep` does not name: old generations and leftovers of
    /// interrupted writers. Only safe once `CURRENT` names a generation made of `keep`.
    func removeAll(except keep: Set<String>) {
        let keep = keep.union([Format.currentFile, Format.lockFile])
        for name in (try? FileSystem.list(path)) ?? [] where !keep.contains(name) && Self.isIndexFile(name) {
            FileSystem.remove(file(name))
        }
    }

    /// Removes the files named `names` (what a failed writer wrote).
    func remove(_ names: [String]) {
        for name in names { FileSystem.remove(file(name)) }
    }

    /// Removes every index file and then the directory itself (when it ends up empty).
    func removeDirectory() {
        for name in (try? FileSystem.list(path)) ?? [] where Self.isIndexFile(name) { FileSystem.remove(file(name)) }
        FileSystem.removeEmptyDirectory(path)
    }
}
