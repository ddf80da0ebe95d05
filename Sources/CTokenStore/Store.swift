// Opening, closing and flushing a store: `ts_options_init`, `ts_open`, `ts_close`,
// `ts_sync`, `ts_checkpoint`.

import TokenStore

/// The C `ts_options` struct, version 1, field for field.
///
/// Swift lays out a struct's stored properties in declaration order at their natural
/// alignment, which for these field types is the C layout (size 40 on LP64). The ABI tests
/// check every field's effect.
struct COptions {
    /// `TS_OPTIONS_VERSION` the caller was compiled against.
    var version: UInt32
    /// Lock stripes.
    var shards: UInt32
    /// A `TS_DURABILITY_*` constant.
    var durability: Int32
    /// Interval for `TS_DURABILITY_INTERVAL`.
    var syncIntervalMilliseconds: UInt32
    /// Non-zero quarantines misconfiguration bounces.
    var quarantineMisconfigured: Int32
    /// Most changelog entries per user.
    var changelogLimit: Int32
    /// Non-zero opens only an existing store.
    var mustExist: Int32
    /// Log bytes between checkpoints.
    var checkpointLogBytes: UInt64
}

/// The only `ts_options` layout this library reads.
let optionsVersion: UInt32 = 1

extension COptions {
    /// The C defaults, equal to `StoreOptions()`'s.
    static var defaults: COptions {
        let swift = StoreOptions()
        var interval: UInt32 = 1000
        var durability: Int32 = 1
        switch swift.durability {
        case .none: durability = 0
        case .interval(let milliseconds):
            durability = 1
            interval = UInt32(clamping: milliseconds)
        case .always: durability = 2
        }
        return COptions(
            version: optionsVersion, shards: UInt32(clamping: swift.shards), durability: durability,
            syncIntervalMilliseconds: interval,
            quarantineMisconfigured: swift.quarantineMisconfigured ? 1 : 0,
            changelogLimit: Int32(clamping: swift.changelogLimit), mustExist: swift.mustExist ? 1 : 0,
            checkpointLogBytes: UInt64(clamping: swift.checkpointLogBytes))
    }

    /// The Swift options these C options describe.
    ///
    /// - Throws: `InvalidArgument` naming the first field out of range and its range.
    func storeOptions() throws(InvalidArgument) -> StoreOptions {
        guard version == optionsVersion else {
            throw InvalidArgument(detail: "ts_options.version: not TS_OPTIONS_VERSION")
        }
        var options = StoreOptions()
        guard shards >= 1, shards <= 4096, shards & (shards &- 1) == 0 else {
            throw InvalidArgument(detail: "ts_options.shards: not a power of two from 1 to 4096")
        }
        options.shards = Int(shards)
        switch durability {
        case 0: options.durability = .none
        case 1:
            guard syncIntervalMilliseconds >= 1 else {
                throw InvalidArgument(detail: "ts_options.sync_interval_ms: 0 with TS_DURABILITY_INTERVAL")
            }
            options.durability = .interval(milliseconds: Int(syncIntervalMilliseconds))
        case 2: options.durability = .always
        default: throw InvalidArgument(detail: "ts_options.durability: not a TS_DURABILITY_* constant")
        }
        options.quarantineMisconfigured = quarantineMisconfigured != 0
        guard changelogLimit >= 1, changelogLimit <= 4096 else {
            throw InvalidArgument(detail: "ts_options.changelog_limit: not from 1 to 4096")
        }
        options.changelogLimit = Int(changelogLimit)
        options.mustExist = mustExist != 0
        guard checkpointLogBytes >= 4096, let logBytes = Int(exactly: checkpointLogBytes) else {
            throw InvalidArgument(detail: "ts_options.checkpoint_log_bytes: under 4096 or over INT64_MAX")
        }
        options.checkpointLogBytes = logBytes
        return options
    }
}

/// Fills a `ts_options` with the defaults and the layout version; NULL is a no-op.
@_cdecl("ts_options_init")
public func ts_options_init(_ options: UnsafeMutableRawPointer?) {
    guard let options else { return }
    options.assumingMemoryBound(to: COptions.self).pointee = .defaults
}

/// Opens (or creates) the store in a directory; `*out` is the handle, or NULL on failure.
@_cdecl("ts_open")
public func ts_open(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ path: UnsafePointer<CChar>?,
    _ options: UnsafeRawPointer?
) -> Int32 {
    guard let out else { return invalid("out: NULL") }
    out.pointee = nil
    guard let directory = argument(path, limit: maxPathBytes) else {
        return invalid("path: NULL, empty, over 4096 bytes or not UTF-8")
    }
    var storeOptions = StoreOptions()
    if let options {
        // Read the version alone first: an older caller's struct may be shorter than ours.
        guard options.loadUnaligned(as: UInt32.self) == optionsVersion else {
            return invalid("ts_options.version: not TS_OPTIONS_VERSION")
        }
        do {
            storeOptions = try options.assumingMemoryBound(to: COptions.self).pointee.storeOptions()
        } catch {
            return invalid(error.detail)
        }
    }
    do {
        let store = try TokenStore(path: directory, options: storeOptions)
        out.pointee = OpaquePointer(Unmanaged.passRetained(store).toOpaque())
        return TS_OK
    } catch {
        return failed(error)
    }
}

/// Flushes and closes the store and frees the handle, whatever the status; NULL is a no-op.
@_cdecl("ts_close")
public func ts_close(_ handle: OpaquePointer?) -> Int32 {
    guard let handle else { return TS_OK }
    let store = Unmanaged<TokenStore>.fromOpaque(UnsafeRawPointer(handle)).takeRetainedValue()
    return status { () throws(TokenStoreError) in try store.close() }
}

/// Forces every acknowledged write to disk.
@_cdecl("ts_sync")
public func ts_sync(_ handle: OpaquePointer?) -> Int32 {
    withStore(handle) { store in status { () throws(TokenStoreError) in try store.sync() } }
}

/// Checkpoints the store: writes the shard files and trims the log.
@_cdecl("ts_checkpoint")
public func ts_checkpoint(_ handle: OpaquePointer?) -> Int32 {
    withStore(handle) { store in status { () throws(TokenStoreError) in try store.checkpoint() } }
}
