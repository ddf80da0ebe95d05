// The C boundary's plumbing: argument validation, handle access and error mapping.
//
// Every `ts_*` entry point goes through these helpers, so that no value a C caller can pass
// reaches a Swift trap: strings are measured with a bounded scan and validated as UTF-8,
// enums are parsed with failable initialisers, and every error becomes a status code, its
// detail kept for `ts_last_error` (LastError.swift). The status codes, limits and structs are
// the header's own, imported from the CTokenStoreHeader module.

import CTokenStoreHeader
import TokenStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: Strings

/// Turns a C string argument into a `String`, or `nil` when it is NULL, empty, longer than
/// `limit` bytes or not valid UTF-8.
///
/// Reads at most `limit + 1` bytes, so an unterminated buffer is never over-read past that.
@inline(__always)
func argument(_ pointer: UnsafePointer<CChar>?, limit: Int) -> String? {
    guard let bytes = argumentBytes(pointer, limit: limit) else { return nil }
    return String(decoding: bytes, as: UTF8.self)
}

/// A C string argument's bytes in place, or `nil` when it is NULL, empty or longer than
/// `limit` bytes. Not checked for UTF-8: for the store's byte-level writes, which check it
/// themselves, so that it is done once. No copy, no allocation.
///
/// The buffer aliases the caller's memory and is valid for the duration of the C call only.
@inline(__always)
func rawArgument(_ pointer: UnsafePointer<CChar>?, limit: Int) -> UnsafeRawBufferPointer? {
    guard let pointer else { return nil }
    let length = strnlen(pointer, limit + 1)
    guard length != 0, length <= limit else { return nil }
    return UnsafeRawBufferPointer(start: UnsafeRawPointer(pointer), count: length)
}

/// `rawArgument`, and `nil` too when the bytes are not valid UTF-8.
@inline(__always)
func argumentBytes(_ pointer: UnsafePointer<CChar>?, limit: Int) -> UnsafeRawBufferPointer? {
    guard let bytes = rawArgument(pointer, limit: limit), Validate.isValidUTF8(bytes) else { return nil }
    return bytes
}

/// The outcome of parsing an optional C string for a write: absent (NULL), present, or invalid.
enum OptionalArgument {
    /// The caller passed NULL.
    case absent
    /// The caller passed a non-empty string within the limit (its UTF-8 is checked by the write).
    case present(UnsafeRawBufferPointer)
    /// The caller passed an empty or oversize string.
    case invalid

    /// Parses `pointer`, where NULL is allowed and means "absent".
    @inline(__always)
    init(_ pointer: UnsafePointer<CChar>?, limit: Int) {
        guard let pointer else {
            self = .absent
            return
        }
        guard let value = rawArgument(pointer, limit: limit) else {
            self = .invalid
            return
        }
        self = .present(value)
    }
}

/// A static NUL-terminated C string; never freed.
@inline(__always)
func staticText(_ text: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// The pointer handed to C for a view's bytes; an empty value points at a static empty string.
@inline(__always)
func viewText(_ bytes: UnsafeRawBufferPointer) -> UnsafePointer<CChar> {
    guard let base = bytes.baseAddress else { return staticText("") }
    return base.assumingMemoryBound(to: CChar.self)
}

// MARK: Times and counts

/// Validates an event time: milliseconds since the epoch, not negative.
@inline(__always)
func eventTime(_ milliseconds: Int64) -> Int64? {
    milliseconds >= 0 ? milliseconds : nil
}

/// The wall clock in milliseconds since the epoch.
func currentTimeMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) &* 1000 &+ Int64(now.tv_nsec) / 1_000_000
}

/// A count as the C `uint64_t` it is reported in; negative values (never expected) become 0.
@inline(__always)
func cCount(_ value: Int) -> UInt64 {
    UInt64(clamping: value)
}

// MARK: Handles

/// Calls `body` with the store behind a C handle, or returns `TS_EINVAL` for NULL.
///
/// The handle holds a +1 reference from `ts_open` until `ts_close`; the caller promises not
/// to close it during the call, so no retain is taken here.
@inline(__always)
func withStore(_ handle: OpaquePointer?, _ body: (TokenStore) -> Int32) -> Int32 {
    guard let handle else { return invalid("store: the handle is NULL") }
    return Unmanaged<TokenStore>.fromOpaque(UnsafeRawPointer(handle))._withUnsafeGuaranteedRef(body)
}

// MARK: Errors

/// Runs a write and maps its outcome to `TS_OK`/`TS_STALE` and its error to a status.
@inline(__always)
func writeStatus(_ body: () throws(TokenStoreError) -> WriteOutcome) -> Int32 {
    do {
        return try body() == .stale ? TS_STALE : TS_OK
    } catch {
        return failed(error)
    }
}

/// Runs a call and maps its error to a status; `TS_OK` when it returns.
@inline(__always)
func status(_ body: () throws(TokenStoreError) -> Void) -> Int32 {
    do {
        try body()
        return TS_OK
    } catch {
        return failed(error)
    }
}

/// Maps an untyped error from a closure-taking API (`withToken`, `forEach…`) to a status,
/// recording its detail for `ts_last_error`.
func statusCode(of error: any Error) -> Int32 {
    if let error = error as? TokenStoreError { return failed(error) }
    recordLastError("unexpected error")
    return TS_EIO
}
