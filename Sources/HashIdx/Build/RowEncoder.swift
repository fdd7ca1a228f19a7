import Dispatch

/// Turns input rows into what a shard stores for each of them: the unit vector, the original
/// norm and the code of the hash model, on several threads.
///
/// This is where an item's representation is decided (residual codes or a learned head would
/// change it here); the shard writer only stores what it is given.
struct RowEncoder {
    /// The hash function.
    let model: HashModel
    /// Worker threads.
    let threads: Int

    /// Rows encoded together: `count` unit vectors, norms and codes, row-major.
    struct Batch {
        var unit: [Float] = []
        var norms: [Float] = []
        var codes: [UInt64] = []
        var count = 0
    }

    /// Normalises and encodes rows `rows` of `source` (source row numbers, in the order they
    /// are to be stored) into `batch`, reusing its storage. Throws the error of the first bad
    /// row (NaN, ∞, all zeros) in that order.
    func encode(_ source: any VectorSource, rows: ArraySlice<Int>, into batch: inout Batch) throws(HashIdxError) {
        let d = model.dimension, words = model.words, n = rows.count
        if batch.unit.count < n * d { batch.unit = [Float](repeating: 0, count: n * d) }
        if batch.norms.count < n { batch.norms = [Float](repeating: 0, count: n) }
        if batch.codes.count < n * words { batch.codes = [UInt64](repeating: 0, count: n * words) }
        batch.count = n
        let chunk = 256
        let chunks = (n + chunk - 1) / chunk
        let workers = max(1, min(threads, chunks))
        let firstError = FirstError()
        let first = rows.startIndex
        batch.unit.withUnsafeMutableBufferPointer { u in
            batch.norms.withUnsafeMutableBufferPointer { nb in
                batch.codes.withUnsafeMutableBufferPointer { cb in
                    let up = SharedMutablePointer(u.baseAddress!), np = SharedMutablePointer(nb.baseAddress!)
                    let cp = SharedMutablePointer(cb.baseAddress!)
                    DispatchQueue.concurrentPerform(iterations: workers) { worker in
                        var ch = worker
                        while ch < chunks {
                            let lo = ch * chunk, hi = min(n, lo + chunk)
                            for i in lo..<hi {
                                let row = rows[first + i]
                                let buffer = UnsafeMutableBufferPointer(start: up.base + i * d, count: d)
                                source.copyRow(row, into: buffer)
                                do throws(HashIdxError) {
                                    np.base[i] = try Vectors.normalize(buffer, source: source.name, row: row)
                                } catch {
                                    firstError.record(error, at: i)
                                    return
                                }
                                model.encode(UnsafeBufferPointer(buffer),
                                             into: UnsafeMutableBufferPointer(start: cp.base + i * words, count: words))
                            }
                            ch += workers
                        }
                    }
                }
            }
        }
        try firstError.throwIfAny()
    }
}
