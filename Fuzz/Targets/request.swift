// Fuzz target: the server's request decoder (HashIdxService.RequestDecoder), on every route's
// body, then the decoded request carried out against the reference index through a
// CatalogService (searches, batch searches, item look-ups; writes are decoded only). Any
// ServiceError is a pass; the first byte picks the route, the rest is the body.
@testable import HashIdx
import HashIdxService

let service: CatalogService? = try? CatalogService(path: referenceIndex, options: ServiceOptions(readOnly: true))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard size > 0, let data, let service else { return 0 }
    let body = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))[...]
    do {
        switch data[0] % 4 {
        case 0:
            let request = try RequestDecoder.search(body)
            precondition(request.k >= 1 && request.k <= RequestDecoder.maxK, "k out of range")
            let results = try service.search(request)
            precondition(results.count <= request.k, "more results than k")
            _ = ResponseEncoder.search(results, withAttributes: request.fields != nil)
        case 1:
            let requests = try RequestDecoder.batchSearch(body, maxQueries: 16)
            precondition(requests.count <= 16, "more queries than allowed")
            _ = ResponseEncoder.batch(try service.search(batch: requests), withAttributes: true)
        case 2:
            let items = try RequestDecoder.upsert(body, maxItems: 16)
            precondition(!items.isEmpty && items.count <= 16, "item count out of range")
            precondition(Set(items.map(\.id)).count == items.count, "an id twice")
            for item in items { precondition(item.vector.allSatisfy(\.isFinite), "a non-finite value got through") }
        default:
            guard case let .delete(ids, _) = try RequestDecoder.delete(body, maxItems: 16) else { return 0 }
            for id in ids.prefix(4) { _ = try? service.item(id: id, fields: nil, vector: true) }
        }
    } catch {
        precondition(!error.message.isEmpty && (400...599).contains(error.status), "an error without a message or status")
    }
    return 0
}
