#if canImport(Glibc)
import Glibc
#endif

/// Argument checks at the API boundary: every caller-supplied string is checked before it
/// can reach the engine, so bad input gets a typed error and changes nothing.
enum Validate {
    /// Non-empty, within `max` bytes, with no NUL (C callers could not pass it back).
    static func text(_ bytes: UnsafeRawBufferPointer, _ what: String, max: Int) throws(TokenStoreError) {
        guard bytes.count > 0 else { throw TokenStoreError(.invalidArgument, "\(what) is empty") }
        guard bytes.count <= max else { throw TokenStoreError(.tooLarge, "\(what) is \(bytes.count) bytes; the limit is \(max)") }
        if memchr(bytes.baseAddress!, 0, bytes.count) != nil {
            throw TokenStoreError(.invalidArgument, "\(what) contains a NUL byte")
        }
    }

    /// `text`, plus a UTF-8 check: for bytes that did not come from a Swift `String`, such as
    /// replayed log records, whose contents C views promise to be UTF-8.
    static func utf8Text(_ bytes: UnsafeRawBufferPointer, _ what: String, max: Int) throws(TokenStoreError) {
        try text(bytes, what, max: max)
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return
            case .error: throw TokenStoreError(.invalidArgument, "\(what) is not UTF-8")
            }
        }
    }

    static func key(_ device: UnsafeRawBufferPointer, _ app: UnsafeRawBufferPointer) throws(TokenStoreError) {
        try text(device, "device id", max: Limits.maxDeviceIDBytes)
        try text(app, "app id", max: Limits.maxAppIDBytes)
    }

    static func token(_ token: UnsafeRawBufferPointer) throws(TokenStoreError) {
        try text(token, "token", max: Limits.maxTokenBytes)
    }

    static func user(_ user: UnsafeRawBufferPointer) throws(TokenStoreError) {
        try text(user, "user id", max: Limits.maxUserIDBytes)
    }

    /// A changelog entry's strings: the user is required; the others may be empty (a
    /// subscription change names no key or token), and each is UTF-8 within its limit.
    static func changeEntry(
        user: UnsafeRawBufferPointer, device: UnsafeRawBufferPointer, app: UnsafeRawBufferPointer,
        token: UnsafeRawBufferPointer, other: UnsafeRawBufferPointer, detail: UnsafeRawBufferPointer
    ) throws(TokenStoreError) {
        try utf8Text(user, "user id", max: Limits.maxUserIDBytes)
        let optional: [(UnsafeRawBufferPointer, String, Int)] = [
            (device, "device id", Limits.maxDeviceIDBytes), (app, "app id", Limits.maxAppIDBytes),
            (token, "token", Limits.maxTokenBytes), (other, "other user id", Limits.maxUserIDBytes),
            (detail, "detail", Limits.maxErrorCodeBytes),
        ]
        for (bytes, what, max) in optional where bytes.count > 0 { try utf8Text(bytes, what, max: max) }
    }
}

/// Calls `body` with the UTF-8 bytes of four strings, without copying native strings.
@inline(__always)
func withArguments<R>(
    _ a: String, _ b: String, _ c: String, _ d: String,
    _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> R
) throws -> R {
    var a = a, b = b, c = c, d = d
    return try a.withUTF8 { a in
        try b.withUTF8 { b in
            try c.withUTF8 { c in
                try d.withUTF8 { d in
                    try body(UnsafeRawBufferPointer(a), UnsafeRawBufferPointer(b), UnsafeRawBufferPointer(c), UnsafeRawBufferPointer(d))
                }
            }
        }
    }
}
