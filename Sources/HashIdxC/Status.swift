import CHashIdxABI
import HashIdx

/// A failure of a C call: its status and the one-line message the caller reads.
struct CFailure: Error {
    let status: hashidx_status
    let message: String

    init(_ status: hashidx_status, _ message: String) {
        self.status = status
        self.message = message
    }

    /// The status and message of a library error.
    init(_ error: HashIdxError) {
        message = error.description
        switch error {
        case .io: status = HASHIDX_ERR_IO
        case .unknownFormat: status = HASHIDX_ERR_UNKNOWN_FORMAT
        case .malformedInput: status = HASHIDX_ERR_MALFORMED_INPUT
        case .emptyInput: status = HASHIDX_ERR_EMPTY_INPUT
        case .nonFiniteValue, .nonFiniteQuery: status = HASHIDX_ERR_NON_FINITE
        case .zeroVector: status = HASHIDX_ERR_ZERO_VECTOR
        case .dimensionMismatch: status = HASHIDX_ERR_DIMENSION
        case .idCountMismatch: status = HASHIDX_ERR_ID_COUNT
        case .duplicateID, .duplicateIDInMemory: status = HASHIDX_ERR_DUPLICATE_ID
        case .idExists: status = HASHIDX_ERR_ID_EXISTS
        case .invalidID: status = HASHIDX_ERR_INVALID_ID
        case .invalidArgument: status = HASHIDX_ERR_INVALID_ARGUMENT
        case .unknownID: status = HASHIDX_ERR_UNKNOWN_ID
        case .notAnIndex: status = HASHIDX_ERR_NOT_AN_INDEX
        case .corruptIndex: status = HASHIDX_ERR_CORRUPT_INDEX
        case .unsupportedVersion: status = HASHIDX_ERR_UNSUPPORTED_VERSION
        case .invalidAttributes: status = HASHIDX_ERR_INVALID_ATTRIBUTES
        case .invalidFilter: status = HASHIDX_ERR_INVALID_FILTER
        }
    }

    /// An argument the caller got wrong (a NULL pointer, a negative count).
    static func argument(_ name: String, _ reason: String) -> CFailure {
        CFailure(HASHIDX_ERR_INVALID_ARGUMENT, "invalid \(name): \(reason)")
    }
}

/// Runs `body`, turning any failure into its status and, when `error` is not NULL, the
/// status and message there. Every exported call that can fail goes through here.
func reporting(_ out: UnsafeMutablePointer<hashidx_error>?, _ body: () throws -> Void) -> hashidx_status {
    let failure: CFailure
    do {
        try body()
        if let out { out.pointee.code = 0; out.pointee.message.0 = 0 }
        return HASHIDX_OK
    } catch let f as CFailure {
        failure = f
    } catch let f as HashIdxError {
        failure = CFailure(f)
    } catch {
        failure = CFailure(HASHIDX_ERR_IO, "\(error)")
    }
    fill(out, failure)
    return failure.status
}

/// Writes `failure` into the caller's error struct: the code, and the message cut at a UTF-8
/// character boundary to fit, NUL-terminated.
private func fill(_ error: UnsafeMutablePointer<hashidx_error>?, _ failure: CFailure) {
    guard let error else { return }
    error.pointee.code = Int32(bitPattern: failure.status.rawValue)
    withUnsafeMutableBytes(of: &error.pointee.message) { raw in
        let bytes = Array(failure.message.utf8)
        var n = min(bytes.count, raw.count - 1)
        // Back off to the start of a character: never cut a multi-byte sequence.
        while n > 0 && n < bytes.count && bytes[n] & 0xC0 == 0x80 { n -= 1 }
        for i in 0..<n { raw[i] = bytes[i] }
        raw[n] = 0
    }
}

/// Copies `text` and its NUL into `buffer` when it fits in `capacity` bytes; `needed` gets the
/// size it takes. Throws ``HASHIDX_ERR_BUFFER_TOO_SMALL`` when it does not fit.
func copyOut(_ text: String, to buffer: UnsafeMutablePointer<CChar>?, capacity: Int, needed: UnsafeMutablePointer<Int>?) throws {
    let bytes = Array(text.utf8)
    needed?.pointee = bytes.count + 1
    guard bytes.count + 1 <= capacity else {
        throw CFailure(HASHIDX_ERR_BUFFER_TOO_SMALL, "the output needs \(bytes.count + 1) bytes but the buffer holds \(capacity); call again with a buffer of the size `needed` says")
    }
    guard let buffer else { throw CFailure.argument("buffer", "is NULL") }
    for (i, b) in bytes.enumerated() { buffer[i] = CChar(bitPattern: b) }
    buffer[bytes.count] = 0
}
