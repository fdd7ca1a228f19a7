extension Index {
    /// The element type of the stored vectors.
    public var vectorType: VectorType { manifest.vectorType }

    /// Bytes of the vector sections as float32 over their stored size (2.0 for float16
    /// stored raw; above that, LZ4 saved the rest).
    public var vectorCompressionRatio: Double {
        var stored = 0, raw = 0
        for s in shards {
            stored += s.storedVectorBytes
            raw += s.rows * s.dimension * 4
        }
        return raw == 0 ? 1 : Double(raw) / Double(stored)
    }

    /// The codec of each shard's vector section.
    public var vectorCodecs: [SectionCodec] { shards.map(\.vectorCodec) }

    /// The codec of each shard's id section (empty when ids are row numbers).
    public var idCodecs: [SectionCodec] { shards.compactMap(\.idCodec) }

    /// Stored bytes of the id sections over their uncompressed size (1.0 when stored raw
    /// or when ids are row numbers).
    public var idCompressionRatio: Double {
        var stored = 0, raw = 0
        for s in shards {
            guard let bytes = s.idBytes else { continue }
            stored += bytes.stored
            raw += bytes.raw
        }
        return stored == 0 ? 1 : Double(raw) / Double(stored)
    }

    /// The number of partitions (0: none, every query scans every code).
    public var partitionCount: Int { manifest.centroids?.count ?? 0 }

    /// The number of shard files.
    public var shardCount: Int { shards.count }
}
