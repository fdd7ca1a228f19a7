/// The contents of a manifest file: what the index holds and which shards hold it. One
/// manifest describes one generation of an index (docs/FORMAT.md §2).
struct Manifest: Equatable {
    /// The format version of the file this manifest was read from (``Format/version`` for a
    /// manifest being written).
    var formatVersion: UInt32 = Format.version
    var rows: UInt64
    var model: HashModel
    var hasStringIDs: Bool
    var vectorType: VectorType
    var rowsPerBlock: Int
    var training: TrainingInfo
    /// The partition centroids, or `nil` for an index without partitions.
    var centroids: Centroids?
    var shards: [ShardRecord]
    /// The generation whose build (or retraining compaction) trained the model and the
    /// centroids; 0 when unknown (version 2). Shards of later generations hold rows written
    /// since training.
    var trainedGeneration: UInt64 = 0
    /// The mean cosine of the training build's rows to their centroids (0: unknown or no
    /// partitions).
    var trainingFit: Float = 0
    /// Rows the training build indexed (0: unknown, version 2).
    var trainedRows: UInt64 = 0
    /// The balance of the lists (``Partitioning/balance(_:)``) when the partitions were last
    /// fitted — by a build, a retraining compaction or partition maintenance (version 6; 0:
    /// unknown or no partitions). The merge policy refits once the lists drift far from it.
    var listBalance: Float = 0
    /// How searches rank candidates unless they say otherwise (version 5; cosine before).
    var rerank: Rerank = .cosine
    /// The weight of the learned score in a ``Rerank/blend`` ranking (version 5).
    var blendWeight: Float = Rerank.defaultBlendWeight
    /// The search settings a build with a target recall chose (version 6; `nil`: none).
    var tunedSearch: TunedSearch? = nil
    /// The partition count that bounded rebalancing steps (``PartitionRebalancer``) are
    /// growing the index's toward, list by list (version 6; 0: none under way). Above the
    /// partition count when set.
    var partitionTarget: Int = 0

    /// Serialises the manifest (see `docs/FORMAT.md`), ending with its CRC-32C.
    func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.raw(Format.manifestMagic)
        w.u32(formatVersion)
        w.u32(0)                                   // flags
        w.u64(rows)
        w.u32(UInt32(model.dimension))
        w.u32(UInt32(model.bits))
        w.u32(hasStringIDs ? 1 : 0)
        w.u32(vectorType.rawValue)
        w.u32(UInt32(rowsPerBlock))
        w.u32(model.scheme.rawValue)
        w.u64(UInt64(training.sampleSize))
        w.u32(UInt32(training.iterations))
        w.u32(0)
        w.u64(training.seed)
        if formatVersion >= 3 {
            w.u64(trainedGeneration)
            w.u64(trainedRows)
            w.f32(trainingFit)
            w.f32(formatVersion >= 6 ? listBalance : 0)
        }
        if formatVersion >= 5 {
            let sup = training.supervision
            w.u32(sup?.kind.rawValue ?? 0)
            w.u32(UInt32(sup?.epochs ?? 0))
            w.f32(sup?.weight ?? 0)
            w.u32(UInt32(sup?.classes ?? 0))
            w.u64(UInt64(sup?.examples ?? 0))
            w.u32(rerank.code)
            w.f32(blendWeight)
            w.u32(UInt32(model.hidden?.units ?? 0))
            w.u32(0)
        }
        if formatVersion >= 6 {
            w.u32(UInt32(tunedSearch?.probes ?? 0))
            w.u32(UInt32(tunedSearch?.candidates ?? 0))
            w.f32(Float(tunedSearch?.targetRecall ?? 0))
            w.f32(Float(tunedSearch?.measuredRecall ?? 0))
            w.u32(UInt32(tunedSearch?.sampleQueries ?? 0))
            w.u32(UInt32(partitionTarget))
        }
        for v in model.mean { w.f32(v) }
        if let hidden = model.hidden {
            for v in hidden.weights { w.f32(v) }
            for v in hidden.bias { w.f32(v) }
        }
        for v in model.projection { w.f32(v) }
        for v in model.thresholds { w.f32(v) }
        w.u32(UInt32(centroids?.count ?? 0))
        for v in centroids?.rows ?? [] { w.f32(v) }
        w.u32(UInt32(shards.count))
        for s in shards { s.encode(into: &w, version: formatVersion) }
        w.u32(crc32c(w.bytes))
        return w.bytes
    }

    /// The files the manifest names: its shards and their deletion files.
    var fileNames: Set<String> {
        Set(shards.flatMap(\.fileNames))
    }

    /// Items that are not deleted.
    var liveRows: UInt64 { rows - shards.reduce(0) { $0 + $1.deleted } }

    /// The most rows an index may hold (2^48): far beyond any disk, small enough that no
    /// row count or offset derived from it overflows.
    static let maximumRows: UInt64 = 1 << 48
    /// The most rows one shard may hold: its row-number maps store positions as 32 bits.
    static let maximumShardRows: UInt64 = UInt64(UInt32.max)

    /// Parses and checks a manifest; `path` names it in errors.
    static func decode(_ bytes: UnsafeRawBufferPointer, path: String) throws(HashIdxError) -> Manifest {
        guard bytes.count >= 12, (0..<8).allSatisfy({ bytes[$0] == Format.manifestMagic[$0] }) else {
            throw .notAnIndex(path: path, reason: "manifest has no HIDXMANI magic")
        }
        let version = bytes.le(UInt32.self, at: 8)
        guard Format.readableVersions.contains(version) else {
            throw .unsupportedVersion(path: path, version: Int(version), supported: Int(Format.version))
        }
        guard bytes.count >= 16 else { throw .corruptIndex(path: path, reason: "manifest is truncated") }
        let stored = bytes.le(UInt32.self, at: bytes.count - 4)
        guard checksum(of: UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - 4)]), matches: stored) else {
            throw .corruptIndex(path: path, reason: "manifest checksum mismatch")
        }
        var r = ByteReader(bytes, offset: 12) { .corruptIndex(path: path, reason: "manifest: \($0)") }
        func bad(_ why: String) -> HashIdxError { .corruptIndex(path: path, reason: "manifest: \(why)") }
        _ = try r.u32("flags")
        let rows = try r.u64("row count")
        let dim = Int(try r.u32("dimension"))
        let bits = Int(try r.u32("bits"))
        let idKind = try r.u32("id kind")
        guard let vectorType = VectorType(rawValue: try r.u32("vector type")) else { throw bad("unknown vector type") }
        let rowsPerBlock = Int(try r.u32("rows per block"))
        guard let scheme = HashModel.Scheme(rawValue: try r.u32("scheme")) else { throw bad("unknown hashing scheme") }
        let sample = try r.u64("training sample")
        let iterations = try r.u32("iterations")
        _ = try r.u32("reserved")
        let seed = try r.u64("seed")
        var trainedGeneration: UInt64 = 0
        var trainingFit: Float = 0
        var trainedRows: UInt64 = 0
        var listBalance: Float = 0
        if version >= 3 {
            trainedGeneration = try r.u64("trained generation")
            trainedRows = try r.u64("trained rows")
            trainingFit = try r.f32s(1, "training fit")[0]
            guard trainingFit.isFinite, abs(trainingFit) <= 1,
                  trainedRows <= Manifest.maximumRows else { throw bad("implausible training fit or rows") }
            // Reserved (0) before version 6; checked against the partition count below.
            listBalance = try r.f32s(1, "list balance")[0]
            guard version >= 6 || listBalance.bitPattern == 0 else { throw bad("reserved word after the training fit is not 0") }
        }
        var supervision: SupervisionInfo? = nil
        var hiddenUnits = 0
        var rerank = Rerank.cosine
        var blendWeight = Rerank.defaultBlendWeight
        if version >= 5 {
            let kind = try r.u32("supervision kind")
            let epochs = try r.u32("epochs")
            let weight = try r.f32s(1, "supervision weight")[0]
            let classes = try r.u32("classes")
            let examples = try r.u64("supervised examples")
            guard let mode = Rerank(code: try r.u32("rerank")) else { throw bad("unknown rerank mode") }
            rerank = mode
            blendWeight = try r.f32s(1, "blend weight")[0]
            guard blendWeight.isFinite, blendWeight >= 0, blendWeight <= 1 else { throw bad("implausible blend weight") }
            hiddenUnits = Int(try r.u32("hidden units"))
            guard try r.u32("reserved") == 0, hiddenUnits % 64 == 0, hiddenUnits <= 1 << 14 else { throw bad("implausible hidden units") }
            if kind != 0 {
                guard let k = SupervisionInfo.Kind(rawValue: kind), weight.isFinite, weight > 0, weight <= 1,
                      examples <= UInt64(1) << 62, classes <= 1 << 30, epochs <= 1_000_000 else {
                    throw bad("implausible supervision record")
                }
                guard scheme == .supervised else { throw bad("a supervision record on an unsupervised model") }
                supervision = SupervisionInfo(kind: k, weight: weight, epochs: Int(epochs), examples: Int(examples),
                                              classes: Int(classes))
            }
        }
        var tunedSearch: TunedSearch? = nil
        var partitionTarget = 0
        if version >= 6 {
            let probes = try r.u32("tuned probes"), candidates = try r.u32("tuned candidates")
            let target = try r.f32s(1, "target recall")[0], measured = try r.f32s(1, "measured recall")[0]
            let queries = try r.u32("tuning queries")
            partitionTarget = Int(try r.u32("partition target"))
            if probes != 0 || candidates != 0 || target != 0 || measured != 0 || queries != 0 {
                guard probes >= 1, probes <= 1 << 20, candidates >= 1, candidates <= TunedSearch.maximumCandidates,
                      target > 0, target <= 1, measured >= 0, measured <= 1, queries >= 1, queries <= 1 << 20 else {
                    throw bad("implausible tuned search record")
                }
                tunedSearch = TunedSearch(probes: Int(probes), candidates: Int(candidates), targetRecall: Double(target),
                                          measuredRecall: Double(measured), sampleQueries: Int(queries))
            }
        }
        guard dim > 0, dim <= 1 << 16, bits > 0, bits % 64 == 0, bits <= 1 << 14, idKind <= 1,
              rowsPerBlock > 0, rowsPerBlock <= 1 << 16, rows <= Manifest.maximumRows, sample <= Manifest.maximumRows else {
            throw bad("implausible dimension \(dim), bits \(bits) or block size \(rowsPerBlock)")
        }
        let mean = try r.f32s(dim, "mean")
        var hidden: HiddenLayer? = nil
        if hiddenUnits > 0 {
            hidden = HiddenLayer(weights: try r.f32s(hiddenUnits * dim, "hidden layer"), bias: try r.f32s(hiddenUnits, "hidden biases"))
        }
        let projection = try r.f32s(bits * (hiddenUnits > 0 ? hiddenUnits : dim), "projection")
        let thresholds = try r.f32s(bits, "thresholds")
        let model: HashModel
        do {
            model = try HashModel(dimension: dim, bits: bits, scheme: scheme, mean: mean, projection: projection, thresholds: thresholds,
                                  hidden: hidden)
        } catch {
            throw bad("hash model: \(error)")
        }
        let partitions = Int(try r.u32("partition count"))
        guard partitions != 1, partitions <= 1 << 20 else { throw bad("implausible partition count \(partitions)") }
        var centroids: Centroids? = nil
        if partitions > 0 {
            let rows = try r.f32s(partitions * dim, "centroids")
            guard rows.allSatisfy(\.isFinite) else { throw bad("centroids contain NaN or infinite values") }
            centroids = Centroids(rows: rows, count: partitions, dimension: dim)
        }
        // P·Σn²/N² lies in [1, P] (0: unknown or no partitions).
        guard listBalance == 0 || (partitions > 0 && listBalance >= 0.999 && listBalance <= Float(partitions) * 1.001) else {
            throw bad("implausible list balance \(listBalance) for \(partitions) partitions")
        }
        guard partitionTarget == 0 || (partitions > 0 && partitionTarget > partitions && partitionTarget <= 1 << 20) else {
            throw bad("implausible partition target \(partitionTarget) for \(partitions) partitions")
        }
        let shardCount = Int(try r.u32("shard count"))
        // Version 2 indexes come from a build and hold at least one row; from version 3 on a
        // catalog whose every item was deleted and compacted away holds none.
        guard shardCount >= (version >= 3 ? 0 : 1), shardCount <= (bytes.count - r.offset) / 32 else {
            throw bad("implausible shard count \(shardCount)")
        }
        var shards: [ShardRecord] = []
        var names = Set<String>()
        var next: UInt64 = 0
        for _ in 0..<shardCount {
            let record = try ShardRecord.decode(&r, version: version, bad: bad)
            guard record.firstRow == next, record.rows > 0, record.rows <= rows - record.firstRow,
                  record.rows <= Manifest.maximumShardRows else { throw bad("shard rows do not tile the index") }
            for name in record.fileNames {
                guard names.insert(name).inserted else { throw bad("file \(name) is named twice") }
            }
            next = record.firstRow + record.rows
            shards.append(record)
        }
        guard next == rows, rows > 0 || version >= 3 else { throw bad("shards hold \(next) rows, manifest says \(rows)") }
        guard r.offset == bytes.count - 4 else { throw bad("\(bytes.count - 4 - r.offset) unexpected trailing bytes") }
        return Manifest(formatVersion: version, rows: rows, model: model, hasStringIDs: idKind == 1, vectorType: vectorType,
                        rowsPerBlock: rowsPerBlock,
                        training: TrainingInfo(sampleSize: Int(sample), iterations: Int(iterations), seed: seed,
                                               supervision: supervision),
                        centroids: centroids, shards: shards, trainedGeneration: trainedGeneration, trainingFit: trainingFit,
                        trainedRows: trainedRows, listBalance: listBalance, rerank: rerank, blendWeight: blendWeight, tunedSearch: tunedSearch,
                        partitionTarget: partitionTarget)
    }
}

/// What the manifest records about one shard.
struct ShardRecord: Equatable {
    /// The shard's file name in the index directory.
    var fileName: String
    var firstRow: UInt64
    var rows: UInt64
    /// The file's size in bytes.
    var fileSize: UInt64
    /// The CRC-32C of the shard's header: ties the manifest to that exact file.
    var headerCRC: UInt32
    /// The shard's deletion file (``Deletions``), or `nil` when none of its rows is deleted.
    var deletionsFile: String? = nil
    /// Rows of the shard that are deleted (the set bits of its deletion file).
    var deleted: UInt64 = 0
    /// The mean cosine of the shard's rows to their centroids when it was written (0: no
    /// partitions, or version 2).
    var fit: Float = 0
    /// Rows of the shard written since training (by adds; a compaction carries the count of
    /// its inputs over, scaled by the rows it kept), and their mean cosine to their centroids.
    var addedRows: UInt64 = 0
    var addedFit: Float = 0

    /// The shard's file and its deletion file, if any.
    var fileNames: [String] { [fileName] + (deletionsFile.map { [$0] } ?? []) }

    /// Appends the record: name length, name, first row, rows, file size, header CRC; from
    /// version 3 on also the deletion file's name length and name (length 0: none), the
    /// deleted count, the fit, and the rows added since training with their fit.
    func encode(into w: inout ByteWriter, version: UInt32) {
        let name = Array(fileName.utf8)
        w.u32(UInt32(name.count))
        w.raw(name)
        w.u64(firstRow)
        w.u64(rows)
        w.u64(fileSize)
        w.u32(headerCRC)
        if version >= 3 {
            let deletions = Array((deletionsFile ?? "").utf8)
            w.u32(UInt32(deletions.count))
            w.raw(deletions)
            w.u64(deleted)
            w.f32(fit)
            w.u64(addedRows)
            w.f32(addedFit)
        }
    }

    /// Reads one record of a version-`version` manifest, refusing names that could leave
    /// the index directory.
    static func decode(_ r: inout ByteReader, version: UInt32, bad: (String) -> HashIdxError) throws(HashIdxError) -> ShardRecord {
        func fileName(_ what: String, optional: Bool) throws(HashIdxError) -> String? {
            let len = Int(try r.u32("\(what) name length"))
            if optional && len == 0 { return nil }
            guard len > 0, len <= 255 else { throw bad("\(what) name length \(len)") }
            guard let name = String(validating: try r.raw(len, "\(what) name"), as: UTF8.self),
                  !name.contains("/"), name != ".", name != "..", !name.contains("\0") else { throw bad("invalid \(what) file name") }
            return name
        }
        let name = try fileName("shard", optional: false)!
        let first = try r.u64("shard first row")
        let n = try r.u64("shard rows")
        let size = try r.u64("shard size")
        let crc = try r.u32("shard header checksum")
        var record = ShardRecord(fileName: name, firstRow: first, rows: n, fileSize: size, headerCRC: crc)
        if version >= 3 {
            record.deletionsFile = try fileName("deletion file", optional: true)
            record.deleted = try r.u64("deleted count")
            record.fit = try r.f32s(1, "shard fit")[0]
            record.addedRows = try r.u64("rows added since training")
            record.addedFit = try r.f32s(1, "fit of the rows added since training")[0]
            guard record.fit.isFinite, abs(record.fit) <= 1, record.addedFit.isFinite, abs(record.addedFit) <= 1,
                  record.addedRows <= n else { throw bad("shard \(name): implausible fit") }
            guard record.deleted <= n, (record.deleted == 0) == (record.deletionsFile == nil),
                  record.deletionsFile != name else { throw bad("shard \(name): deleted count and deletion file disagree") }
        }
        return record
    }
}
