// The one store the C ABI harness drives, reused across inputs (1–4 shards, kept small), and
// the header constants the harness checks statuses against.

#if canImport(Glibc)
import Glibc
#endif
import CTokenStore
import TokenStore

// MARK: tokenstore.h constants, as a C caller sees them

let TS_OK: Int32 = 0
let TS_STALE: Int32 = 1
let TS_NOTFOUND: Int32 = -1
let TS_EINVAL: Int32 = -2
let TS_EIO: Int32 = -3
let TS_ECORRUPT: Int32 = -4
let TS_ELOCKED: Int32 = -5
let TS_ENOSPC: Int32 = -6
let TS_EVERSION: Int32 = -7
let TS_ETOOBIG: Int32 = -8
let TS_ECLOSED: Int32 = -9

/// `ts_options`, version 1, as the header lays it out (40 bytes on LP64).
struct OptionsMirror {
    var version: UInt32 = 0
    var shards: UInt32 = 0
    var durability: Int32 = 0
    var syncIntervalMilliseconds: UInt32 = 0
    var quarantineMisconfigured: Int32 = 0
    var changelogLimit: Int32 = 0
    var mustExist: Int32 = 0
    var checkpointLogBytes: UInt64 = 0
}

/// `sizeof(ts_store_stats)` for version 1.
let statsSize = 184

/// The harness's store: a handle from `ts_open`, and whether the Swift object behind it was
/// closed through the Swift API (so that calls on a live handle hit `TS_ECLOSED`).
final class CABIStore {
    nonisolated(unsafe) static let shared = CABIStore()

    let directory = FuzzEnvironment.scratchRoot + "/main"
    private(set) var handle: OpaquePointer?
    /// The Swift store behind the handle was closed; the handle is still allocated.
    var swiftClosed = false

    /// The Swift object behind the handle. The C library's handle is an unmanaged reference
    /// to it (`Unmanaged.passRetained(store).toOpaque()` in `ts_open`).
    var swiftStore: TokenStore? {
        guard let handle else { return nil }
        return Unmanaged<TokenStore>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    }

    /// Opens the store if it is not open, or reopens it after a Swift-side close.
    func ensureOpen(_ options: OptionsMirror? = nil) {
        if handle != nil && !swiftClosed { return }
        if let handle {
            fuzzCheck(ts_close(handle) == TS_OK, "ts_close of a Swift-closed store failed")
            self.handle = nil
            swiftClosed = false
        }
        var opts = options ?? CABIStore.defaultOptions
        var out: OpaquePointer? = nil
        let status = withUnsafePointer(to: &opts) { ts_open(&out, directory, UnsafeRawPointer($0)) }
        fuzzCheck(status == TS_OK, "ts_open of the harness store failed: \(status)")
        fuzzCheck(out != nil, "ts_open returned TS_OK and a NULL handle")
        handle = out
    }

    /// Closes the handle (freeing it) and, when `wipe`, deletes the store.
    func close(wipe: Bool) {
        if let handle {
            let status = ts_close(handle)
            fuzzCheck(status == TS_OK, "ts_close failed: \(status)")
        }
        handle = nil
        swiftClosed = false
        if wipe { removeTree(directory) }
    }

    /// Small and fast: two shards, no forced syncs, short changelogs, frequent checkpoints.
    static var defaultOptions: OptionsMirror {
        var opts = OptionsMirror()
        withUnsafeMutablePointer(to: &opts) { ts_options_init(UnsafeMutableRawPointer($0)) }
        opts.shards = 2
        opts.durability = 0
        opts.changelogLimit = 8
        opts.checkpointLogBytes = 4096
        return opts
    }

    /// A digest of everything a write could change: counters, every record and every user's
    /// state. Equal digests before and after a rejected call prove it changed nothing.
    func digest() -> UInt64 {
        guard let store = swiftStore, !swiftClosed else { return 0 }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ v: UInt64) { h = (h ^ v) &* 0x0000_0100_0000_01B3 }
        func mix(_ bytes: UnsafeRawBufferPointer) {
            mix(UInt64(bytes.count))
            for b in bytes { mix(UInt64(b)) }
        }
        do {
            let s = try store.statistics()
            mix(UInt64(s.tokens))
            mix(UInt64(s.users))
            mix(UInt64(s.quarantined))
            try store.forEachRecord { v in
                mix(v.deviceID)
                mix(v.appID)
                mix(v.token)
                mix(v.userID)
                mix(UInt64(v.platform.rawValue) << 8 | UInt64(v.authorization.rawValue))
                mix(UInt64(bitPattern: v.createdAt))
                mix(UInt64(bitPattern: v.updatedAt))
                mix(v.isQuarantined ? 1 : 0)
                return true
            }
            try store.forEachUserState { user, state in
                mix(user)
                mix(UInt64(state.subscription.rawValue))
                mix(UInt64(bitPattern: state.optedInAt ?? -1))
                mix(UInt64(bitPattern: state.unsubscribedAt ?? -1))
                return true
            }
        } catch {
            fuzzFailure("reading the harness store failed: \(error)")
        }
        return h
    }
}
