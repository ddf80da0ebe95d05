// The one store the C ABI harness drives, reused across inputs (1–4 shards, kept small). The
// statuses, structs and limits the harness checks against are the header's own
// (CTokenStoreHeader).

#if canImport(Glibc)
import Glibc
#endif
import CTokenStore
import CTokenStoreHeader
import TokenStore

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
    func ensureOpen(_ options: ts_options? = nil) {
        if handle != nil && !swiftClosed { return }
        if let handle {
            fuzzCheck(ts_close(handle) == TS_OK, "ts_close of a Swift-closed store failed")
            self.handle = nil
            swiftClosed = false
        }
        var opts = options ?? CABIStore.defaultOptions
        var out: OpaquePointer? = nil
        let status = ts_open(&out, directory, &opts)
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
    static var defaultOptions: ts_options {
        var opts = ts_options()
        ts_options_init(&opts)
        opts.shards = 2
        opts.durability = TS_DURABILITY_NONE
        opts.changelog_limit = 8
        opts.checkpoint_log_bytes = 4096
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
