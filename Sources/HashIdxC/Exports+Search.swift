import CHashIdxABI
import HashIdx

/// `hashidx_search_options_init`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_search_options_init")
public func cSearchOptionsInit(_ options: UnsafeMutablePointer<hashidx_search_options>?) {
    guard let options else { return }
    options.pointee = hashidx_search_options(k: 10, probes: 0, candidates: 0, shortlist: 0,
                                             rerank: Int32(HASHIDX_RERANK_DEFAULT.rawValue), blend_weight: -1,
                                             threads: 0, filter: nil)
}

/// The library's search options from the C struct, and the batch threads (`nil`: all cores).
func searchOptions(_ c: UnsafePointer<hashidx_search_options>?) throws -> (SearchOptions, Int?) {
    guard let c = c?.pointee else { throw CFailure.argument("options", "is NULL; fill one with hashidx_search_options_init") }
    guard c.probes >= 0 else { throw CFailure.argument("probes", "must be 0 (the index's) or positive, got \(c.probes)") }
    guard c.candidates >= 0 else { throw CFailure.argument("candidates", "must be 0 (the index's) or positive, got \(c.candidates)") }
    guard c.shortlist >= 0 else { throw CFailure.argument("shortlist", "must be 0 (the default) or 1…1000, got \(c.shortlist)") }
    guard c.threads >= 0 else { throw CFailure.argument("threads", "must be 0 (all cores) or positive, got \(c.threads)") }
    guard !c.blend_weight.isNaN else { throw CFailure.argument("blend_weight", "is NaN") }
    var options = SearchOptions(k: Int(c.k), candidates: c.candidates == 0 ? nil : Int(c.candidates),
                                probes: c.probes == 0 ? nil : Int(c.probes),
                                shortlistFactor: c.shortlist == 0 ? SearchOptions.defaultShortlistFactor : Int(c.shortlist),
                                rerank: try rerank(c.rerank), blendWeight: c.blend_weight < 0 ? nil : c.blend_weight)
    if let filter = c.filter { options.filter = try Filter(try string(filter, name: "filter")) }
    try options.validate()
    return (options, c.threads == 0 ? nil : Int(c.threads))
}

/// Writes query `query`'s results to its `k` slots of `rows` and `scores` (the rest: -1 and
/// -∞) and its count to `found`.
func write(_ results: [SearchResult], query: Int, k: Int, rows: UnsafeMutablePointer<Int64>,
           scores: UnsafeMutablePointer<Float>, found: UnsafeMutablePointer<Int32>?) {
    let base = query * k
    for j in 0..<k {
        if j < results.count {
            rows[base + j] = Int64(results[j].row)
            scores[base + j] = results[j].score
        } else {
            rows[base + j] = -1
            scores[base + j] = -.infinity
        }
    }
    found?[query] = Int32(min(results.count, k))
}

/// `hashidx_search`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_search")
public func cSearch(_ handle: OpaquePointer?, _ queries: UnsafeRawPointer?, _ dtype: hashidx_dtype, _ count: Int64,
                    _ dimension: Int64, _ options: UnsafePointer<hashidx_search_options>?,
                    _ rows: UnsafeMutablePointer<Int64>?, _ scores: UnsafeMutablePointer<Float>?,
                    _ found: UnsafeMutablePointer<Int32>?, _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    reporting(error) {
        let index = try index(handle)
        let (options, threads) = try searchOptions(options)
        guard count >= 0 else { throw CFailure.argument("count", "must not be negative, got \(count)") }
        if count == 0 { return }
        let source = try CallerVectors(queries, dtype: dtype, rows: count, dimension: dimension, name: "queries")
        guard source.dimension == index.dimension else {
            throw HashIdxError.dimensionMismatch(expected: index.dimension, actual: source.dimension, source: "queries")
        }
        guard let rows else { throw CFailure.argument("rows", "is NULL") }
        guard let scores else { throw CFailure.argument("scores", "is NULL") }
        let k = options.k
        // The caller's buffers hold count × k slots: a product past 2^40 is no real buffer.
        let (slots, overflow) = source.count.multipliedReportingOverflow(by: k)
        guard !overflow, slots <= CallerVectors.maximumElements else {
            throw CFailure.argument("count", "\(source.count) queries × k \(k) result slots is beyond the \(CallerVectors.maximumElements) one call writes")
        }
        if source.count == 1 {
            write(try index.search(source.row(0), options: options), query: 0, k: k, rows: rows, scores: scores, found: found)
        } else {
            let all = try index.search(batch: source, options: options, threads: threads)
            for (i, results) in all.enumerated() { write(results, query: i, k: k, rows: rows, scores: scores, found: found) }
        }
    }
}

/// `hashidx_search_by_id`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_search_by_id")
public func cSearchByID(_ handle: OpaquePointer?, _ id: UnsafePointer<CChar>?, _ options: UnsafePointer<hashidx_search_options>?,
                        _ rows: UnsafeMutablePointer<Int64>?, _ scores: UnsafeMutablePointer<Float>?,
                        _ found: UnsafeMutablePointer<Int32>?, _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    reporting(error) {
        let index = try index(handle)
        let (options, _) = try searchOptions(options)
        let id = try string(id, name: "id")
        guard let rows else { throw CFailure.argument("rows", "is NULL") }
        guard let scores else { throw CFailure.argument("scores", "is NULL") }
        write(try index.search(similarToID: id, options: options), query: 0, k: options.k, rows: rows, scores: scores, found: found)
    }
}
