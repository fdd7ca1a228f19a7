// A product catalog service on HashIdx, end to end:
//
//   1. make a catalog: an embedding and attributes (category, price, stock, tags) per product;
//   2. build an index with those attributes;
//   3. search: "more like this" and by vector, with a filter and attribute fields;
//   4. change the catalog with an IndexWriter: upsert (a price change, new products),
//      delete (a product sold out), commit;
//   5. reopen the index and search again: the changes are there, all at once;
//   6. compact: reclaim the deleted rows.
//
// Usage: CatalogService [INDEX-DIRECTORY]   (default: a temporary directory, removed at exit)
//
// The program checks what it prints (every result satisfies its filter, the deleted product
// is gone, the new price is served) and exits with status 1 if anything is off, so that CI
// can run it as a test (scripts/examples.sh).

import Foundation
import HashIdx

// MARK: - 1. A synthetic catalog

/// A small, seeded random number generator (SplitMix64), so that every run prints the same.
struct Random {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    /// Standard normal (Box–Muller).
    mutating func gaussian() -> Float {
        let u = max(uniform(), 1e-12), v = uniform()
        return Float((-2 * Foundation.log(u)).squareRoot() * cos(2 * Double.pi * v))
    }
}

/// A product as the catalog's own database would hold it.
struct Product {
    var sku: String
    var embedding: [Float]        // in a real service: the output of an image or text model
    var category: String
    var price: Double
    var inStock: Bool
    var tags: [String]

    /// The product's attributes as HashIdx stores them. Only what searches filter on or
    /// return needs to be here; the rest stays in the catalog's database.
    var attributes: Attributes {
        ["category": .string(category), "price": .float(price), "in_stock": .boolean(inStock), "tags": .tags(tags)]
    }
}

let dimension = 48
let categories = ["dress", "shirt", "shoes", "bag", "hat"]
let allTags = ["summer", "winter", "linen", "leather", "cotton", "sale"]
var random = Random(state: 2026)

// Products of one category have embeddings near one centre (as a model would place them).
// (Top-level variables belong to the main actor, hence the @MainActor functions below.)
let centres: [[Float]] = categories.map { _ in (0..<dimension).map { _ in random.gaussian() } }

@MainActor
func makeProduct(_ number: Int) -> Product {
    let c = number % categories.count
    let embedding = centres[c].map { $0 + 0.6 * random.gaussian() }
    let tags = allTags.filter { _ in random.uniform() < 0.3 }
    return Product(sku: String(format: "sku-%05d", number), embedding: embedding, category: categories[c],
                   price: (5 + random.uniform() * 145).rounded() - 0.01, inStock: random.uniform() < 0.7, tags: tags)
}

let products = (0..<5_000).map(makeProduct)

// MARK: - Where the index lives

let arguments = CommandLine.arguments.dropFirst()
let temporary = arguments.isEmpty
let indexPath = arguments.first
    ?? FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(ProcessInfo.processInfo.processIdentifier).hidx").path
defer { if temporary { try? FileManager.default.removeItem(atPath: indexPath) } }

/// Stops the program when what it shows is not what HashIdx promises.
@MainActor
func expect(_ condition: Bool, _ message: String) {
    if !condition {
        FileHandle.standardError.write(Data("CatalogService: check failed: \(message)\n".utf8))
        if temporary { try? FileManager.default.removeItem(atPath: indexPath) }
        exit(1)
    }
}

/// Prints results as a table, with the attributes the search asked for.
@MainActor
func show(_ title: String, _ results: [SearchResult], fields: [String]) {
    print("\n\(title)")
    // Each column as wide as its longest value.
    let cells = results.map { hit in fields.map { hit.attributes[$0].map { "\($0)" } ?? "-" } }
    let widths = fields.indices.map { i in cells.reduce(fields[i].count) { max($0, $1[i].count) } + 2 }
    print("  rank  id          score   " + fields.indices.map { fields[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined())
    for (rank, hit) in results.enumerated() {
        let values = fields.indices.map { cells[rank][$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
        print("  \(String(rank + 1).padding(toLength: 4, withPad: " ", startingAt: 0))  \(hit.id)   \(String(format: "%.3f", hit.score))   \(values.joined())")
    }
}

do {
    // MARK: - 2. Build the index

    // Vectors in memory (a file works too: IndexBuilder.build(vectorsPath:idsPath:attributesPath:to:)),
    // one id per row, and one attributes row per vector.
    let vectors = try InMemoryVectors(rows: products.map(\.embedding), name: "catalog embeddings")
    let attributes = try AttributeTable(rows: products.map(\.attributes))
    // Options: 128-bit codes are plenty for 48 dimensions; everything else is the default
    // (no partitions below 20,000 rows, float16 vectors).
    let summary = try IndexBuilder.build(source: vectors, ids: products.map(\.sku), attributes: attributes,
                                         to: indexPath, options: BuildOptions(training: TrainingOptions(bits: 128)))
    print("Built \(indexPath): \(summary.rows) products, \(summary.dimension) dimensions, \(summary.bits)-bit codes, \(summary.bytesOnDisk) bytes")

    // MARK: - 3. Search

    // Open once; an Index is Sendable, so a service shares one instance between all its
    // request handlers.
    var index = try Index(path: indexPath)
    let schema = index.attributeSchema.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
    print("Opened generation \(index.generation): \(index.count) items; attributes \(schema.joined(separator: ", "))")

    // "More like this", restricted: products similar to sku-00040 (a dress) that are dresses
    // under 60 and in stock, with their price and stock returned beside each result.
    let cheapDresses = try Filter(#"category = "dress" and price < 60 and in_stock"#)
    let fields = ["category", "price", "in_stock"]
    let similar = try index.search(similarToID: "sku-00040",
                                   options: SearchOptions(k: 5, filter: cheapDresses, fields: fields))
    show("More like sku-00040 where \(cheapDresses):", similar, fields: fields)
    expect(similar.count == 5, "five cheap dresses in stock")
    expect(similar.allSatisfy { cheapDresses.matches($0.attributes) }, "every result satisfies the filter")
    expect(!similar.contains { $0.id == "sku-00040" }, "more-like-this leaves the item itself out")

    // By vector: a shopper's photo of a bag, embedded by the same model; leather only.
    let photo = centres[3].map { $0 + 0.5 * random.gaussian() }
    let leather = Filter(.contains("tags", "leather"))
    let bags = try index.search(photo, options: SearchOptions(k: 5, filter: leather, fields: ["category", "tags"]))
    show("Nearest to a photo of a bag where \(leather):", bags, fields: ["category", "tags"])
    expect(bags.allSatisfy { $0.attributes["tags"].map { if case .tags(let t) = $0 { t.contains("leather") } else { false } } ?? false },
           "every result is tagged leather")

    // An id no product has: the error is a HashIdxError (typed throws); to handle one case,
    // mark the `do` with the type and switch over the error (the pattern of the library's
    // Getting Started, which compiles in top-level code and in closures alike).
    do throws(HashIdxError) {
        let unknown = try index.search(similarToID: "sku-99999", options: SearchOptions(k: 3))
        expect(false, "no product has the id sku-99999, yet \(unknown.count) results came back")
    } catch {
        switch error {
        case .unknownID(let id): print("\nNo product has the id \(id) (\(error.localizedDescription))")
        default: throw error
        }
    }

    // MARK: - 4. Change the catalog

    // One writer per index (it holds the index's lock, across processes). Nothing it does
    // is visible to searches before commit(); everything is, at once, after it.
    // It is Sendable: tasks and threads may share it (each call waits its turn), and in
    // async code `try await writer.commit()` runs the commit off the cooperative pool.
    let writer = try IndexWriter(path: indexPath)

    // A price change: upsert the product with its new attributes. An upsert replaces the
    // item that has the id: the vector and all its attributes (here the same vector).
    let top = similar[0]
    var changed = products[top.row]
    changed.price = 4.49   // clearance
    // One item at a time: an IndexItem holds its id, vector and attributes together.
    try writer.upsert(IndexItem(id: changed.sku, vector: changed.embedding, attributes: changed.attributes))

    // New products arrive: upsert works for new ids too (add(_:) would refuse ids that
    // exist). Many items go in one call (the batch form, upsert(_:ids:attributes:), takes
    // vectors, ids and an AttributeTable matched by row).
    let arrivals = (5_000..<5_020).map(makeProduct)
    try writer.upsert(contentsOf: arrivals.map { IndexItem(id: $0.sku, vector: $0.embedding, attributes: $0.attributes) })

    // The second-best dress sold out: delete it.
    let soldOut = similar[1].id
    try writer.delete(ids: [soldOut])

    // Searches still answer from the generation they opened.
    expect(try index.row(forID: soldOut) != nil, "uncommitted deletes are invisible")
    print("\nPending: price of \(changed.sku) → \(changed.price), \(arrivals.count) new products, \(soldOut) deleted; \(writer.count) items after the commit")

    // Commit: durable when it returns (files, manifest and CURRENT synced), atomic for readers.
    let commit = try writer.commit()
    print("Committed generation \(commit.generation): \(commit.added) added, \(commit.deleted) deleted (an upsert of an existing id is both), \(commit.count) items, \(String(format: "%.3f", commit.seconds)) s")

    // MARK: - 5. Reopen and search again

    // The open index is a snapshot of the old generation until the service moves on.
    expect(index.count == 5_000, "the old snapshot keeps answering from its generation")
    index = try index.reopen()
    print("Reopened: generation \(index.generation), \(index.count) items")
    expect(index.count == 5_019, "5,000 + 20 new − 1 deleted")

    let again = try index.search(similarToID: "sku-00040", options: SearchOptions(k: 5, filter: cheapDresses, fields: fields))
    show("More like sku-00040 where \(cheapDresses), after the commit:", again, fields: fields)
    expect(!again.contains { $0.id == soldOut }, "the deleted product is gone")
    expect(again.allSatisfy { cheapDresses.matches($0.attributes) }, "every result satisfies the filter")
    expect(try index.attributes(ofID: changed.sku, fields: ["price"])["price"] == .float(changed.price), "the new price is served")
    expect(try index.row(forID: soldOut) == nil, "the deleted product has no row")
    let newDress = arrivals.first { $0.category == "dress" }!
    let found = try index.search(newDress.embedding, options: SearchOptions(k: 1))
    print("Nearest to new product \(newDress.sku)'s own embedding: \(found[0])")
    expect(found.first?.id == newDress.sku, "a new product is found by its own embedding")

    // MARK: - 6. Compact

    // Deleted rows stay in their shard (marked in a bitmap) and new products sit in a small
    // shard of their own. Compaction rewrites them; the writer's merge policy also does it
    // on its own after a commit once enough is deleted or small shards pile up.
    print("Before compaction: \(index.shardCount) shards, \(index.deletedCount) deleted rows, \(index.reclaimableBytes) bytes reclaimable")
    let compaction = try writer.compact()
    index = try index.reopen()
    print("Compacted into generation \(compaction.generation): \(compaction.rewrittenShards) shards rewritten, \(compaction.bytesBefore) → \(compaction.bytesAfter) bytes; \(index.shardCount) shard, \(index.deletedCount) deleted rows")
    expect(index.deletedCount == 0 && index.count == 5_019, "compaction keeps every live item and drops the deleted rows")
    let afterCompaction = try index.search(similarToID: "sku-00040", options: SearchOptions(k: 5, filter: cheapDresses, fields: fields))
    show("More like sku-00040 where \(cheapDresses), after compaction:", afterCompaction, fields: fields)
    expect(afterCompaction.allSatisfy { cheapDresses.matches($0.attributes) && $0.id != soldOut }, "compaction keeps the filter and the delete")
    // Closing releases the lock. It refuses while changes are pending: they are committed or
    // dropped by rollback(), never silently.
    try writer.close()
    print("\nDone: every check passed.")
} catch {
    // Every HashIdx error says what went wrong and where (the file, the row, the value).
    FileHandle.standardError.write(Data("CatalogService: \(error)\n".utf8))
    if temporary { try? FileManager.default.removeItem(atPath: indexPath) }
    exit(1)
}
