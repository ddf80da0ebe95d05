#if canImport(Glibc)
import Glibc
#endif

/// Argument checks at the API boundary: every caller-supplied string is checked before it
/// can reach the engine, so bad input gets a typed error and changes nothing.
package enum Validate {
    /// Non-empty, within `max` bytes, with no NUL (C callers could not pass it back); when
    /// `utf8` is set, also well-formed UTF-8, for bytes that did not come from a Swift
    /// `String` (C callers' buffers, replayed log records), whose contents views promise to be UTF-8.
    static func text(_ bytes: UnsafeRawBufferPointer, _ what: String, max: Int, utf8: Bool = false) throws(TokenStoreError) {
        guard bytes.count > 0 else { throw TokenStoreError(.invalidArgument, "\(what) is empty") }
        guard bytes.count <= max else { throw TokenStoreError(.tooLarge, "\(what) is \(bytes.count) bytes; the limit is \(max)") }
        if memchr(bytes.baseAddress!, 0, bytes.count) != nil {
            throw TokenStoreError(.invalidArgument, "\(what) contains a NUL byte")
        }
        if utf8 && !isValidUTF8(bytes) { throw TokenStoreError(.invalidArgument, "\(what) is not UTF-8") }
    }

    /// `text` with the UTF-8 check.
    static func utf8Text(_ bytes: UnsafeRawBufferPointer, _ what: String, max: Int) throws(TokenStoreError) {
        try text(bytes, what, max: max, utf8: true)
    }

    /// True when `bytes` are well-formed UTF-8 (no overlongs, surrogates or values past
    /// U+10FFFF). Uses the standard library's validator, which skips ASCII a word at a time.
    package static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let span = unsafe Span(_unsafeElements: bytes.assumingMemoryBound(to: UInt8.self))
        do {
            _ = try UTF8Span(validating: span)
            return true
        } catch {
            return false
        }
    }

    static func key(_ device: UnsafeRawBufferPointer, _ app: UnsafeRawBufferPointer, utf8: Bool = false) throws(TokenStoreError) {
        try text(device, "device id", max: Limits.maxDeviceIDBytes, utf8: utf8)
        try text(app, "app id", max: Limits.maxAppIDBytes, utf8: utf8)
    }

    static func token(_ token: UnsafeRawBufferPointer, utf8: Bool = false) throws(TokenStoreError) {
        try text(token, "token", max: Limits.maxTokenBytes, utf8: utf8)
    }

    static func user(_ user: UnsafeRawBufferPointer, utf8: Bool = false) throws(TokenStoreError) {
        try text(user, "user id", max: Limits.maxUserIDBytes, utf8: utf8)
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
