// `ts_last_error`: the detail of the calling thread's last failed call, as `dlerror` keeps it.
//
// A status code says what kind of failure happened; the detail says where: the file and the
// check for a damaged store, the argument and its limit for a bad call. It lives in
// thread-local storage, so that threads sharing a handle never see each other's failures and
// no lock is taken. Only failures write it, so that a successful call costs nothing here.
// Every detail is either a static text of this module or a `TokenStoreError.detail`, and
// neither ever holds a token or an id.

import CTokenStoreHeader
import TokenStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Each thread's detail: the text `ts_last_error` returns, static or owned.
private let textKey: pthread_key_t = makeKey(destructor: nil)
/// The `malloc`ed copy behind the text when it is not static, freed when the next failure
/// replaces it or when the thread exits.
private let ownedKey: pthread_key_t = makeKey(destructor: { free($0) })

private func makeKey(destructor: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?) -> pthread_key_t {
    var key = pthread_key_t()
    // Without keys there is nowhere to keep details: ts_last_error then gives "" always.
    _ = pthread_key_create(&key, destructor)
    return key
}

/// Makes `text` this thread's detail, and `owned` (when not nil) the buffer to free with it.
private func replaceLastError(_ text: UnsafePointer<CChar>, owned: UnsafeMutablePointer<CChar>?) {
    let previous = pthread_getspecific(ownedKey)
    guard pthread_setspecific(textKey, text) == 0 else {
        free(owned)
        return
    }
    // Should this fail, the previous buffer is kept rather than freed under a live pointer.
    guard pthread_setspecific(ownedKey, owned) == 0 else { return }
    free(previous)
}

/// Replaces this thread's last error detail with a copy of `text`.
func recordLastError(_ text: String) {
    guard let copy = strdup(text) else {
        recordLastError("out of memory for the error detail")
        return
    }
    replaceLastError(copy, owned: copy)
}

/// Replaces this thread's last error detail with static text: no allocation, so that a miss
/// on a hot path (`ts_get` of an absent key) stays cheap.
func recordLastError(_ text: StaticString) {
    replaceLastError(staticText(text), owned: nil)
}

/// Records `error`'s detail (its code's text when it has none) and returns its status.
@inline(never)
func failed(_ error: TokenStoreError) -> Int32 {
    if !error.detail.isEmpty {
        recordLastError(error.detail)
    } else if let text = error.code.text {
        recordLastError(text)
    } else {
        recordLastError(error.code.description)
    }
    return error.code.rawValue
}

/// Records `detail` for an argument the boundary refused and returns `TS_EINVAL`.
@inline(never)
func invalid(_ detail: StaticString) -> Int32 {
    recordLastError(detail)
    return TS_EINVAL
}

/// Records `detail` for a lookup that found nothing and returns `TS_NOTFOUND`.
@inline(never)
func notFound(_ detail: StaticString) -> Int32 {
    recordLastError(detail)
    return TS_NOTFOUND
}

/// The details of the arguments the boundary refuses: the argument's C name and its rule,
/// never its value.
enum Refusal {
    /// A required device id that is NULL, empty or too long.
    static let deviceID: StaticString = "device_id: NULL, empty or over 256 bytes"
    /// A required app id that is NULL, empty or too long.
    static let appID: StaticString = "app_id: NULL, empty or over 256 bytes"
    /// A token that is NULL, empty or too long.
    static let token: StaticString = "token: NULL, empty or over 4096 bytes"
    /// A required user id that is NULL, empty or too long.
    static let userID: StaticString = "user_id: NULL, empty or over 256 bytes"
    /// An optional user id (NULL allowed) that is empty or too long.
    static let optionalUserID: StaticString = "user_id: empty or over 256 bytes"
    /// A device id a read checks in full, UTF-8 included.
    static let deviceIDText: StaticString = "device_id: NULL, empty, over 256 bytes or not UTF-8"
    /// An app id a read checks in full, UTF-8 included.
    static let appIDText: StaticString = "app_id: NULL, empty, over 256 bytes or not UTF-8"
    /// A user id a read checks in full, UTF-8 included.
    static let userIDText: StaticString = "user_id: NULL, empty, over 256 bytes or not UTF-8"
    /// An unknown platform.
    static let platform: StaticString = "platform: not a TS_PLATFORM_* constant"
    /// An unknown authorization.
    static let authorization: StaticString = "authorization: not a TS_AUTH_* constant"
    /// An unknown push kind.
    static let pushKind: StaticString = "push_kind: not a TS_PUSH_* constant"
    /// A negative event time.
    static let time: StaticString = "at_ms: negative"
    /// A NULL callback.
    static let callback: StaticString = "fn: NULL"
    /// A segment that `Segment(c:appID:)` refused.
    static let segment: StaticString = """
        segment: not a TS_SEGMENT_* constant, or app_id not given exactly for \
        TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, or app_id over 256 bytes or not UTF-8
        """
}

/// An argument the boundary refused, with the detail that names it and its limit.
struct InvalidArgument: Error {
    /// What was wrong, e.g. "device_id: NULL, empty or over 256 bytes".
    let detail: StaticString
}

/// `value`, or throws `InvalidArgument(detail)` when it is `nil` (a parse or check failed).
@inline(__always)
func require<T>(_ value: T?, _ detail: StaticString) throws(InvalidArgument) -> T {
    guard let value else { throw InvalidArgument(detail: detail) }
    return value
}

/// Runs the validation and the call of an entry point; an `InvalidArgument` becomes
/// `TS_EINVAL` with its detail recorded.
@inline(__always)
func validated(_ body: () throws(InvalidArgument) -> Int32) -> Int32 {
    do {
        return try body()
    } catch {
        return invalid(error.detail)
    }
}

/// Returns the detail of the calling thread's last failed call, or "" when none has failed.
///
/// The text is owned by the library and valid until this thread's next call into it; it is
/// never a token or an id.
@c @implementation
public func ts_last_error() -> UnsafePointer<CChar>! {
    guard let text = pthread_getspecific(textKey) else { return staticText("") }
    return UnsafePointer(text.assumingMemoryBound(to: CChar.self))
}
