extension Clustering {
    /// One item's JSON line, without the newline:
    /// `{"id":"sku-1","cluster":3,"similarity":0.871234}` (similarity to 6 decimals).
    public static func jsonLine(_ a: Assignment) -> String {
        "{\"id\":\(AttributeValue.string(a.id).description),\"cluster\":\(a.cluster),\"similarity\":\(fixed(Double(a.similarity), 6))}"
    }

    /// Writes every item's cluster to `path` as JSON lines (``jsonLine(_:)``), in row order,
    /// replacing the file.
    ///
    /// - Throws: ``HashIdxError/io(path:reason:)`` when the file cannot be written.
    public func writeAssignments(to path: String) throws(HashIdxError) {
        let file = try OutputFile(creating: path)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        var offset = 0
        for a in assignments {
            buffer.append(contentsOf: Self.jsonLine(a).utf8)
            buffer.append(0x0A)
            if buffer.count >= 1 << 20 {
                try file.write(buffer, at: offset)
                offset += buffer.count
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try file.write(buffer, at: offset)
        try file.syncAndClose()
    }

    /// The summary as one JSON document: the run (items, clusters, start, rounds, whether
    /// it converged, mean similarity, seconds) and, per cluster, its size, mean similarity,
    /// representatives (`id`, `similarity`) and neighbours (`cluster`, `similarity`).
    /// Centroids are left out.
    public func summaryJSON() -> String {
        func sim(_ v: Float) -> String { Self.fixed(Double(v), 6) }
        var s = "{\"generation\":\(generation),\"items\":\(assignments.count),\"k\":\(clusters.count)"
        s += ",\"where\":" + (options.filter.map { AttributeValue.string($0.description).description } ?? "null")
        s += ",\"seed\":\(options.seed),\"start\":\"\(start.rawValue)\",\"rounds\":\(rounds),\"converged\":\(converged)"
        s += ",\"meanSimilarity\":\(Self.fixed(meanSimilarity, 6))"
        s += ",\"readSeconds\":\(Self.fixed(readSeconds, 3)),\"clusterSeconds\":\(Self.fixed(clusterSeconds, 3))"
        s += ",\"clusters\":["
        for (i, c) in clusters.enumerated() {
            if i > 0 { s += "," }
            s += "\n{\"cluster\":\(c.number),\"size\":\(c.size),\"meanSimilarity\":\(Self.fixed(c.meanSimilarity, 6)),\"representatives\":["
            s += c.representatives.map { "{\"id\":\(AttributeValue.string($0.id).description),\"similarity\":\(sim($0.similarity))}" }
                .joined(separator: ",")
            s += "],\"neighbours\":["
            s += c.neighbours.map { "{\"cluster\":\($0.cluster),\"similarity\":\(sim($0.similarity))}" }.joined(separator: ",")
            s += "]}"
        }
        return s + "\n]}\n"
    }

    /// Writes ``summaryJSON()`` to `path`, replacing the file.
    ///
    /// - Throws: ``HashIdxError/io(path:reason:)`` when the file cannot be written.
    public func writeSummary(to path: String) throws(HashIdxError) {
        let file = try OutputFile(creating: path)
        try file.write(Array(summaryJSON().utf8), at: 0)
        try file.syncAndClose()
    }

    /// `v` with `digits` digits after the point (a JSON number).
    static func fixed(_ v: Double, _ digits: Int) -> String {
        guard v.isFinite else { return "0" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(v) * scale).rounded()
        guard scaled < 9e18 else { return String(v) }
        let n = Int64(scaled), unit = Int64(scale)
        var fraction = String(n % unit)
        fraction = String(repeating: "0", count: max(0, digits - fraction.count)) + fraction
        let sign = v < 0 && n != 0 ? "-" : ""
        return digits == 0 ? "\(sign)\(n / unit)" : "\(sign)\(n / unit).\(fraction)"
    }
}
