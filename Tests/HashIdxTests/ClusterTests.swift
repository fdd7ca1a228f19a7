import Foundation
import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// `Index.cluster` and `hashidx cluster`: well-separated groups are recovered exactly from
/// either start, the result is the same for a seed whatever the threads, deleted items and
/// items the filter rejects are left out, and bad requests are refused with what to do.
final class ClusterTests: XCTestCase {
    /// Builds an index of `rows` (float32 vectors, two shards, string ids `item-<row>`,
    /// attribute `group` = "g<i % groups>" and `price` = i % 100).
    static func build(_ test: XCTestCase, rows: [[Float]], groups: Int, partitions: Int) throws -> String {
        let dir = makeTemporaryDirectory(test)
        var options = BuildOptions(training: TrainingOptions(bits: 64), shardSize: rows.count / 2 + 10, partitions: partitions, threads: 2)
        options.vectorType = .float32
        let attributes: [Attributes] = rows.indices.map { ["group": .string("g\($0 % groups)"), "price": .integer(Int64($0 % 100))] }
        try IndexBuilder.build(source: try InMemoryVectors(rows: rows), ids: rows.indices.map { "item-\($0)" },
                               attributes: try AttributeTable(rows: attributes), to: dir + "/c.hidx", options: options)
        return dir + "/c.hidx"
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var d = 0.0, na = 0.0, nb = 0.0
        for j in a.indices { d += Double(a[j]) * Double(b[j]); na += Double(a[j] * a[j]); nb += Double(b[j] * b[j]) }
        return d / (na.squareRoot() * nb.squareRoot())
    }

    func testRecoversWellSeparatedGroupsFromEitherStart() throws {
        let rows = separatedGroups(groups: 8, perGroup: 150, dim: 32)
        let path = try Self.build(self, rows: rows, groups: 8, partitions: 64)
        let index = try Index(path: path)
        for start in [ClusteringStart.kMeansPlusPlus, .partitions, .automatic] {
            let c = try index.cluster(options: ClusteringOptions(clusters: 8, representatives: 4, neighbours: 2, start: start))
            XCTAssertEqual(c.start, start == .automatic ? .partitions : start, "auto takes the partitions at 8 per cluster")
            XCTAssertTrue(c.converged)
            XCTAssertEqual(c.assignments.count, rows.count)
            XCTAssertEqual(c.assignments.map(\.row), Array(rows.indices), "every item once, in row order")
            XCTAssertEqual(c.assignments.map(\.id), rows.indices.map { "item-\($0)" })
            let labels = rows.indices.map { $0 % 8 }
            XCTAssertEqual(clusterPurity(c.assignments.map(\.cluster), labels: labels), 1, "\(start)")
            XCTAssertEqual(clusterPurity(labels, labels: c.assignments.map(\.cluster)), 1, "\(start): no group split")
            XCTAssertEqual(c.clusters.map(\.size), Array(repeating: 150, count: 8))
            XCTAssertEqual(c.clusters.map(\.number), Array(0..<8))
            for cluster in c.clusters {
                let members = c.assignments.filter { $0.cluster == cluster.number }
                // The centroid is the normalised mean of the members' unit vectors.
                var mean = [Float](repeating: 0, count: 32)
                for m in members {
                    let v = rows[m.row], n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                    for j in 0..<32 { mean[j] += v[j] / n }
                }
                XCTAssertEqual(Self.cosine(mean, cluster.centroid), 1, accuracy: 1e-5)
                for m in members.prefix(20) {
                    XCTAssertEqual(Double(m.similarity), Self.cosine(rows[m.row], cluster.centroid), accuracy: 1e-5)
                    XCTAssertGreaterThan(m.similarity, 0.9)
                }
                XCTAssertEqual(cluster.meanSimilarity, members.reduce(0.0) { $0 + Double($1.similarity) } / 150, accuracy: 1e-9)
                // Representatives: the members nearest the centroid, nearest first.
                let best = members.sorted { $0.similarity > $1.similarity || ($0.similarity == $1.similarity && $0.row < $1.row) }.prefix(4)
                XCTAssertEqual(cluster.representatives.map(\.id), best.map(\.id))
                // Neighbours: the two other clusters with the nearest centroids.
                XCTAssertEqual(cluster.neighbours.count, 2)
                XCTAssertFalse(cluster.neighbours.contains { $0.cluster == cluster.number })
                let others = c.clusters.filter { $0.number != cluster.number }
                    .map { ($0.number, Self.cosine($0.centroid, cluster.centroid)) }.sorted { $0.1 > $1.1 }
                XCTAssertEqual(cluster.neighbours.map(\.cluster), others.prefix(2).map(\.0))
                XCTAssertEqual(Double(cluster.neighbours[0].similarity), others[0].1, accuracy: 1e-5)
            }
        }
    }

    func testSameSeedSameClustersWhateverTheThreads() throws {
        // Overlapping groups and a k that does not match them: the start matters.
        let rows = clusteredVectors(count: 2_000, dim: 16, clusters: 20, seed: 9)
        let path = try Self.build(self, rows: rows, groups: 20, partitions: 40)
        let index = try Index(path: path)
        for start in [ClusteringStart.kMeansPlusPlus, .partitions] {
            let one = try index.cluster(options: ClusteringOptions(clusters: 7, seed: 3, threads: 1, start: start))
            let two = try index.cluster(options: ClusteringOptions(clusters: 7, seed: 3, threads: 2, start: start))
            let again = try index.cluster(options: ClusteringOptions(clusters: 7, seed: 3, threads: 2, start: start))
            XCTAssertEqual(one.assignments, two.assignments, "\(start)")
            XCTAssertEqual(two.assignments, again.assignments, "\(start)")
            XCTAssertEqual(one.clusters, two.clusters, "\(start)")
            XCTAssertEqual(one.rounds, two.rounds)
        }
        // A different seed starts elsewhere (k-means++ draws other rows).
        let a = try index.cluster(options: ClusteringOptions(clusters: 7, iterations: 1, seed: 3, start: .kMeansPlusPlus))
        let b = try index.cluster(options: ClusteringOptions(clusters: 7, iterations: 1, seed: 4, start: .kMeansPlusPlus))
        XCTAssertNotEqual(a.assignments, b.assignments)
        XCTAssertFalse(a.converged)
        XCTAssertEqual(a.rounds, 1)
        // Out of rounds, similarities are still to each item's own centroid.
        for item in a.assignments.prefix(50) {
            XCTAssertEqual(Double(item.similarity), Self.cosine(rows[item.row], a.clusters[item.cluster].centroid), accuracy: 1e-5)
        }
    }

    func testDeletedItemsAreLeftOut() throws {
        let rows = separatedGroups(groups: 8, perGroup: 100, dim: 24)
        let path = try Self.build(self, rows: rows, groups: 8, partitions: 16)
        // Delete all of group 3 and a scattering of the others.
        let deleted = rows.indices.filter { $0 % 8 == 3 || $0 % 13 == 0 }
        let writer = try IndexWriter(path: path)
        _ = try writer.delete(ids: deleted.map { "item-\($0)" })
        _ = try writer.commit()
        try writer.close()
        let index = try Index(path: path)
        let c = try index.cluster(options: ClusteringOptions(clusters: 7, start: .kMeansPlusPlus))
        let live = rows.indices.filter { !deleted.contains($0) }
        XCTAssertEqual(c.assignments.map(\.id), live.map { "item-\($0)" })
        XCTAssertEqual(c.clusters.reduce(0) { $0 + $1.size }, index.count)
        XCTAssertEqual(clusterPurity(c.assignments.map(\.cluster), labels: live.map { $0 % 8 }), 1)
        XCTAssertEqual(Set(c.clusters.flatMap(\.representatives).map(\.id)).intersection(deleted.map { "item-\($0)" }), [])
        // Eight clusters of the seven groups left: still no deleted item, a group split in two.
        let eight = try index.cluster(options: ClusteringOptions(clusters: 8))
        XCTAssertEqual(eight.assignments.count, live.count)
        XCTAssertEqual(clusterPurity(eight.assignments.map(\.cluster), labels: live.map { $0 % 8 }), 1)
    }

    func testOnlyItemsTheFilterKeeps() throws {
        let rows = separatedGroups(groups: 8, perGroup: 100, dim: 24)
        let path = try Self.build(self, rows: rows, groups: 8, partitions: 16)
        let index = try Index(path: path)
        let filter = try Filter("group in (\"g1\", \"g4\", \"g6\") and price < 50")
        let c = try index.cluster(options: ClusteringOptions(clusters: 3, filter: filter))
        let kept = rows.indices.filter { [1, 4, 6].contains($0 % 8) && $0 % 100 < 50 }
        XCTAssertEqual(c.assignments.map(\.row), kept)
        XCTAssertEqual(clusterPurity(c.assignments.map(\.cluster), labels: kept.map { $0 % 8 }), 1)
        XCTAssertEqual(clusterPurity(kept.map { $0 % 8 }, labels: c.assignments.map(\.cluster)), 1)
        for cluster in c.clusters {
            for r in cluster.representatives { XCTAssertTrue(kept.contains(r.row)) }
        }
        XCTAssertTrue(c.summaryJSON().contains("\"where\":\"group in"), c.summaryJSON())
    }

    func testErrorsSayWhatToDo() throws {
        let rows = separatedGroups(groups: 4, perGroup: 10, dim: 8)
        let path = try Self.build(self, rows: rows, groups: 4, partitions: 0)
        let index = try Index(path: path)
        func reason(_ options: ClusteringOptions) -> String {
            do {
                _ = try index.cluster(options: options)
                return "no error"
            } catch {
                return error.description
            }
        }
        XCTAssertEqual(reason(ClusteringOptions(clusters: 0)), "clusters: must be at least 1, got 0")
        XCTAssertEqual(reason(ClusteringOptions(clusters: 41)), "clusters: asks for 41 clusters but only 40 items are live; ask for at most 40")
        XCTAssertEqual(reason(ClusteringOptions(clusters: 11, filter: try Filter("group = \"g0\""))),
                       "clusters: asks for 11 clusters but only 10 items satisfy the filter; ask for at most 10")
        XCTAssertTrue(reason(ClusteringOptions(clusters: 2, filter: try Filter("group = \"nope\""))).hasPrefix("where: no live item satisfies the filter"))
        XCTAssertTrue(reason(ClusteringOptions(clusters: 2, filter: try Filter("colour = \"red\""))).contains("group, price"))
        XCTAssertEqual(reason(ClusteringOptions(clusters: 2, iterations: 0)), "iterations: must be at least 1, got 0")
        XCTAssertEqual(reason(ClusteringOptions(clusters: 2, threads: 0)), "threads: must be positive, got 0")
        XCTAssertEqual(reason(ClusteringOptions(clusters: 2, representatives: -1)), "representatives: must be 0 or more, got -1")
        XCTAssertTrue(reason(ClusteringOptions(clusters: 2, start: .partitions)).contains("no partitions"))
        // Without partitions, auto takes k-means++; k = items puts each item alone.
        let all = try index.cluster(options: ClusteringOptions(clusters: 40))
        XCTAssertEqual(all.start, .kMeansPlusPlus)
        XCTAssertEqual(all.clusters.map(\.size), Array(repeating: 1, count: 40))
        XCTAssertEqual(Set(all.assignments.map(\.cluster)).count, 40)
        // Every item deleted.
        let writer = try IndexWriter(path: path)
        _ = try writer.delete(ids: rows.indices.map { "item-\($0)" })
        _ = try writer.commit()
        try writer.close()
        XCTAssertThrowsError(try Index(path: path).cluster(options: ClusteringOptions(clusters: 1))) { error in
            XCTAssertEqual((error as? HashIdxError)?.description,
                           "clusters: the index holds no live items; add items before clustering")
        }
    }
}
