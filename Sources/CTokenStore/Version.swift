// Version and status text: static C strings, never freed.

import TokenStore

/// Returns the library version, "MAJOR.MINOR.PATCH"; static, never freed.
@_cdecl("ts_version")
public func ts_version() -> UnsafePointer<CChar> {
    staticText(TokenStore.libraryVersion)
}

/// Returns static text describing a status code; never NULL, never freed.
@_cdecl("ts_strerror")
public func ts_strerror(_ status: Int32) -> UnsafePointer<CChar> {
    switch status {
    case 0: return staticText("success")
    case 1: return staticText("stale write ignored: older than the stored event time")
    case -1: return staticText("not found")
    case -2: return staticText("invalid argument")
    case -3: return staticText("I/O error")
    case -4: return staticText("store is corrupt")
    case -5: return staticText("store is locked by another process")
    case -6: return staticText("no space left on device")
    case -7: return staticText("unknown store format version")
    case -8: return staticText("value too large")
    case -9: return staticText("store is closed")
    default: return staticText("unknown status")
    }
}
