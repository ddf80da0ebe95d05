// Opening, closing and flushing a store: `ts_options_init`, `ts_open`, `ts_close`,
// `ts_sync`, `ts_checkpoint`.

import CTokenStoreHeader
import TokenStore

extension ts_options {
    /// The C defaults, equal to `StoreOptions()`'s.
    static var defaults: ts_options {
        let swift = StoreOptions()
        var interval: UInt32 = 1000
        var durability = TS_DURABILITY_INTERVAL
        switch swift.durability {
        case .none: durability = TS_DURABILITY_NONE
        case .interval(let milliseconds):
            durability = TS_DURABILITY_INTERVAL
            interval = UInt32(clamping: milliseconds)
        case .always: durability = TS_DURABILITY_ALWAYS
        }
        return ts_options(
            version: UInt32(TS_OPTIONS_VERSION), shards: UInt32(clamping: swift.shards), durability: durability,
            sync_interval_ms: interval, quarantine_misconfigured: swift.quarantineMisconfigured ? 1 : 0,
            changelog_limit: Int32(clamping: swift.changelogLimit), must_exist: swift.mustExist ? 1 : 0,
            checkpoint_log_bytes: UInt64(clamping: swift.checkpointLogBytes))
    }

    /// The Swift options these C options describe.
    ///
    /// - Throws: `InvalidArgument` naming the first field out of range and its range.
    func storeOptions() throws(InvalidArgument) -> StoreOptions {
        guard version == TS_OPTIONS_VERSION else {
            throw InvalidArgument(detail: "ts_options.version: not TS_OPTIONS_VERSION")
        }
        var options = StoreOptions()
        guard shards >= 1, shards <= 4096, shards & (shards &- 1) == 0 else {
            throw InvalidArgument(detail: "ts_options.shards: not a power of two from 1 to 4096")
        }
        options.shards = Int(shards)
        switch durability {
        case TS_DURABILITY_NONE: options.durability = .none
        case TS_DURABILITY_INTERVAL:
            guard sync_interval_ms >= 1 else {
                throw InvalidArgument(detail: "ts_options.sync_interval_ms: 0 with TS_DURABILITY_INTERVAL")
            }
            options.durability = .interval(milliseconds: Int(sync_interval_ms))
        case TS_DURABILITY_ALWAYS: options.durability = .always
        default: throw InvalidArgument(detail: "ts_options.durability: not a TS_DURABILITY_* constant")
        }
        options.quarantineMisconfigured = quarantine_misconfigured != 0
        guard changelog_limit >= 1, changelog_limit <= 4096 else {
            throw InvalidArgument(detail: "ts_options.changelog_limit: not from 1 to 4096")
        }
        options.changelogLimit = Int(changelog_limit)
        options.mustExist = must_exist != 0
        guard checkpoint_log_bytes >= 4096, let logBytes = Int(exactly: checkpoint_log_bytes) else {
            throw InvalidArgument(detail: "ts_options.checkpoint_log_bytes: under 4096 or over INT64_MAX")
        }
        options.checkpointLogBytes = logBytes
        return options
    }
}

/// Fills a `ts_options` with the defaults and the layout version; NULL is a no-op.
@c @implementation
public func ts_options_init(_ options: UnsafeMutablePointer<ts_options>?) {
    options?.pointee = .defaults
}

/// Opens (or creates) the store in a directory; `*out` is the handle, or NULL on failure.
@c @implementation
public func ts_open(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ path: UnsafePointer<CChar>?,
    _ options: UnsafePointer<ts_options>?
) -> Int32 {
    guard let out else { return invalid("out: NULL") }
    out.pointee = nil
    guard let directory = argument(path, limit: Int(TS_MAX_PATH_BYTES)) else {
        return invalid("path: NULL, empty, over 4096 bytes or not UTF-8")
    }
    var storeOptions = StoreOptions()
    if let options {
        // Read the version, the first field, alone first: a caller built against another
        // header may have passed a shorter struct.
        guard UnsafeRawPointer(options).loadUnaligned(as: UInt32.self) == TS_OPTIONS_VERSION else {
            return invalid("ts_options.version: not TS_OPTIONS_VERSION")
        }
        do {
            storeOptions = try options.pointee.storeOptions()
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
@c @implementation
public func ts_close(_ handle: OpaquePointer?) -> Int32 {
    guard let handle else { return TS_OK }
    let store = Unmanaged<TokenStore>.fromOpaque(UnsafeRawPointer(handle)).takeRetainedValue()
    return status { () throws(TokenStoreError) in try store.close() }
}

/// Forces every acknowledged write to disk.
@c @implementation
public func ts_sync(_ handle: OpaquePointer?) -> Int32 {
    withStore(handle) { store in status { () throws(TokenStoreError) in try store.sync() } }
}

/// Checkpoints the store: writes the shard files and trims the log.
@c @implementation
public func ts_checkpoint(_ handle: OpaquePointer?) -> Int32 {
    withStore(handle) { store in status { () throws(TokenStoreError) in try store.checkpoint() } }
}
