/// The partition centroids of an index (the lists of its inverted file), as stored in the
/// manifest: `count` unit vectors of `dimension` floats, row-major.
///
/// A row belongs to the centroid with the highest dot product (the nearest by cosine);
/// ``CentroidScorer`` computes that.
struct Centroids: Sendable, Equatable {
    /// Number of centroids.
    let count: Int
    /// Floats per centroid.
    let dimension: Int
    /// Row-major `count × dimension` unit vectors.
    let rows: [Float]

    init(rows: [Float], count: Int, dimension: Int) {
        precondition(rows.count == count * dimension)
        self.count = count
        self.dimension = dimension
        self.rows = rows
    }
}
