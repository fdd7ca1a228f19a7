/// An item id as a dictionary key that compares the id's UTF-8 bytes.
///
/// Swift's `String` equality is canonical equivalence: `"café"` spelled with `é` (NFC) and
/// with `e` + a combining accent (NFD) are equal strings. The index stores ids as bytes and
/// finds them by bytes (sorted id blocks, binary search), so every in-memory set or dictionary
/// of ids — duplicate checks, a writer's pending items, a shard's id table — keys by this
/// type: two ids are the same item exactly when their bytes are equal, at every door.
package struct IDKey: Hashable, Sendable {
    /// The id.
    package let id: String

    package init(_ id: String) { self.id = id }

    package static func == (a: IDKey, b: IDKey) -> Bool {
        a.id.utf8.count == b.id.utf8.count && a.id.utf8.elementsEqual(b.id.utf8)
    }

    package func hash(into hasher: inout Hasher) {
        var id = self.id
        id.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
