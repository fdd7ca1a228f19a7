// Fuzz target: the server's request decoder (HashIdxService.RequestDecoder), on every route's
// body, then the decoded request carried out against the reference index through a
// CatalogService (searches, batch searches, item look-ups; writes are decoded only). Any
// ServiceError is a pass; the first byte picks the route, the rest is the body.
@testable import HashIdx
import HashIdxService

let limits = RequestLimits(maxK: 50, maxCandidates: 200, maxProbes: 64, maxQueriesPerBatch: 16, maxResultsPerBatch: 100,
                           maxItemsPerRequest: 16)
let service: CatalogService? = try? CatalogService(path: referenceIndex, options: ServiceOptions(readOnly: true, limits: limits))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard size > 0, let data, let service else { return 0 }
    let body = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))[...]
    do {
        switch data[0] % 4 {
        case 0:
            let request = try RequestDecoder.search(body, limits: limits, dimension: data[0] & 4 == 0 ? nil : service.index.dimension)
            precondition(request.k >= 1 && request.k <= limits.maxK, "k out of range")
            precondition((request.candidates ?? 1) <= limits.maxCandidates && (request.probes ?? 1) <= limits.maxProbes, "a limit was not applied")
            let results = try service.search(request)
            precondition(results.count <= request.k, "more results than k")
            _ = ResponseEncoder.search(results, withAttributes: request.fields != nil)
            let index = service.index
            let answer = try service.answer(request, on: index)
            precondition(answer.results.map(\.id) == results.map(\.id), "an answer differs from the search")
            _ = try ResponseEncoder.results(answer, from: index)
        case 1:
            let requests = try RequestDecoder.batchSearch(body, limits: limits)
            precondition(requests.count <= 16 && requests.reduce(0, { $0 + $1.k }) <= 100, "more queries or results than allowed")
            _ = ResponseEncoder.batch(try service.search(batch: requests), withAttributes: true)
        case 2:
            let items = try RequestDecoder.upsert(body, limits: limits)
            precondition(!items.isEmpty && items.count <= 16, "item count out of range")
            precondition(Set(items.map { IDKey($0.id) }).count == items.count, "an id twice")
            precondition(items.allSatisfy { IDList.check($0.id) == nil }, "an invalid id got through")
            for item in items { precondition(item.vector.allSatisfy(\.isFinite), "a non-finite value got through") }
        default:
            guard case let .delete(ids, _) = try RequestDecoder.delete(body, limits: limits) else { return 0 }
            precondition(Set(ids.map(IDKey.init)).count == ids.count, "an id twice")
            for id in ids.prefix(4) { _ = try? service.item(id: id, fields: nil, vector: true) }
        }
    } catch {
        precondition(!error.message.isEmpty && (400...599).contains(error.status), "an error without a message or status")
    }
    return 0
}
