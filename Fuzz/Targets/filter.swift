// Fuzz target: the filter parser (Filter's text syntax) and everything a parsed filter goes
// through: its check against the reference index's attribute types, row-at-a-time matching,
// its canonical text (which must parse back to the same filter) and filtered searches.
@testable import HashIdx

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let filter = try? Filter(text) else { return 0 }
    let rendered = Filter(filter.node)
    precondition((try? Filter(rendered.description)) == filter, "the canonical text does not parse back")
    for i in 0..<8 { _ = filter.matches(referenceAttributes(i)) }
    guard let index = try? Index(path: referenceIndex) else { return 0 }
    guard (try? filter.check(against: index.attributeSchema)) != nil else { return 0 }
    let query = (0..<index.dimension).map { Float($0 % 5) - 1.5 }
    for probes in [1, 3, 1 << 20] {
        let results = (try? index.search(query, options: SearchOptions(k: 6, candidates: 20, probes: probes, filter: filter))) ?? []
        for r in results {
            precondition(filter.matches(referenceAttributes(Int(r.id.dropFirst(5))!)), "a result does not satisfy the filter")
        }
    }
    return 0
}
