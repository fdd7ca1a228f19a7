/// The element type of stored vectors: how precisely the exact re-rank sees them.
public enum VectorType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    /// IEEE 754 single precision: exact re-rank.
    case float32 = 0
    /// IEEE 754 half precision: half the bytes; cosines change by about 1e-3.
    case float16 = 1

    /// Bytes per element.
    public var size: Int { self == .float32 ? 4 : 2 }
    /// The type's name (`float32`, `float16`), as `--vector-type` takes it.
    public var description: String { self == .float32 ? "float32" : "float16" }
}
