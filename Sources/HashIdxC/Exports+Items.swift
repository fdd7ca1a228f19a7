import CHashIdxABI
import HashIdx

/// `hashidx_row_of_id`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_row_of_id")
public func cRowOfID(_ handle: OpaquePointer?, _ id: UnsafePointer<CChar>?, _ row: UnsafeMutablePointer<Int64>?,
                     _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    reporting(error) {
        let index = try index(handle)
        let id = try string(id, name: "id")
        guard let row else { throw CFailure.argument("row", "is NULL") }
        guard let r = try index.row(forID: id) else { throw HashIdxError.unknownID(id) }
        row.pointee = Int64(r)
    }
}

/// `hashidx_ids_of_rows`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_ids_of_rows")
public func cIDsOfRows(_ handle: OpaquePointer?, _ rows: UnsafePointer<Int64>?, _ count: Int,
                       _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int, _ needed: UnsafeMutablePointer<Int>?,
                       _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    reporting(error) {
        let index = try index(handle)
        guard count >= 0 else { throw CFailure.argument("count", "must not be negative") }
        var text = ""
        if count > 0 {
            guard let rows else { throw CFailure.argument("rows", "is NULL") }
            for i in 0..<count {
                if rows[i] >= 0 { text += try index.id(ofRow: Int(rows[i])) }
                else if rows[i] != -1 { throw CFailure.argument("rows", "row \(rows[i]) at \(i) is negative (only -1, an empty slot, is allowed)") }
                text += "\n"
            }
        }
        try copyOut(text, to: buffer, capacity: capacity, needed: needed)
    }
}

/// `hashidx_vector`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_vector")
public func cVector(_ handle: OpaquePointer?, _ row: Int64, _ vector: UnsafeMutablePointer<Float>?, _ dimension: Int64,
                    _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    reporting(error) {
        let index = try index(handle)
        guard dimension == index.dimension else {
            throw HashIdxError.dimensionMismatch(expected: index.dimension, actual: Int(clamping: dimension), source: "vector buffer")
        }
        guard let vector else { throw CFailure.argument("vector", "is NULL") }
        let v = try index.vector(ofRow: Int(row))
        for (i, x) in v.enumerated() { vector[i] = x }
    }
}

/// `hashidx_attributes_json`: see include/hashidx.h and docs/C-API.md.
@_cdecl("hashidx_attributes_json")
public func cAttributesJSON(_ handle: OpaquePointer?, _ row: Int64, _ fields: UnsafePointer<CChar>?,
                            _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int, _ needed: UnsafeMutablePointer<Int>?,
                            _ error: UnsafeMutablePointer<hashidx_error>?) -> hashidx_status {
    reporting(error) {
        let index = try index(handle)
        let names = try fields.map { try string($0, name: "fields").split(separator: ",").map { String($0).trimmingCharacters() } }
        let attributes = try index.attributes(ofRow: Int(row), fields: names)
        let text = "{" + attributes.keys.sorted().map { "\(JSONText.quoted($0)):\(attributes[$0]!)" }.joined(separator: ",") + "}"
        try copyOut(text, to: buffer, capacity: capacity, needed: needed)
    }
}

extension String {
    /// Without leading and trailing spaces.
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
