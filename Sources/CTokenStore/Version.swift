// Version and status text: static C strings, never freed.

import CTokenStoreHeader
import TokenStore

/// Returns the library version, "MAJOR.MINOR.PATCH"; static, never freed.
@c @implementation
public func ts_version() -> UnsafePointer<CChar>! {
    staticText(TokenStore.libraryVersion)
}

/// Returns static text describing a status code; never NULL, never freed.
///
/// A failure's text is its `TokenStoreError.Code`'s, so that C and Swift callers log the same
/// words; the two statuses that are not errors have theirs here.
@c @implementation
public func ts_strerror(_ status: Int32) -> UnsafePointer<CChar>! {
    switch status {
    case TS_OK: staticText("success")
    case TS_STALE: staticText("stale write ignored: older than the stored event time")
    default: staticText(TokenStoreError.Code(rawValue: status).text ?? "unknown status")
    }
}
