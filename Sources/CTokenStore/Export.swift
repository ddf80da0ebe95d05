// Whole-user and whole-store reads: JSON export (library-allocated, freed by `ts_free`),
// the token count and the statistics.

import TokenStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Exports a user as JSON into a `malloc`ed, NUL-terminated buffer the caller frees with `ts_free`.
@_cdecl("ts_export_user_json")
public func ts_export_user_json(
    _ handle: OpaquePointer?, _ userID: UnsafePointer<CChar>?,
    _ outJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ outLength: UnsafeMutablePointer<Int>?
) -> Int32 {
    guard let outJSON else { return invalid("out_json: NULL") }
    outJSON.pointee = nil
    outLength?.pointee = 0
    return withStore(handle) { store in
        guard let user = argument(userID, limit: Limits.maxUserIDBytes) else { return invalid(Refusal.userIDText) }
        do throws(TokenStoreError) {
            guard var json = try store.exportJSON(userID: user) else { return notFound("no user with that id") }
            return json.withUTF8 { bytes in
                guard let buffer = malloc(bytes.count + 1) else {
                    recordLastError("out of memory for the export")
                    return TS_EIO
                }
                if let base = bytes.baseAddress { memcpy(buffer, base, bytes.count) }
                buffer.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self)
                outJSON.pointee = buffer.assumingMemoryBound(to: CChar.self)
                outLength?.pointee = bytes.count
                return TS_OK
            }
        } catch {
            return failed(error)
        }
    }
}

/// Frees memory the library allocated; NULL is a no-op.
@_cdecl("ts_free")
public func ts_free(_ pointer: UnsafeMutableRawPointer?) {
    free(pointer)
}

/// Counts the live tokens.
@_cdecl("ts_count")
public func ts_count(_ handle: OpaquePointer?, _ outTokens: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let outTokens else { return invalid("out_tokens: NULL") }
    outTokens.pointee = 0
    return withStore(handle) { store in
        do throws(TokenStoreError) {
            outTokens.pointee = cCount(try store.count())
            return TS_OK
        } catch {
            return failed(error)
        }
    }
}

/// The only `ts_store_stats` layout this library writes.
let statsVersion: UInt32 = 1

/// Byte offsets of `ts_store_stats` version 1 (all `uint64_t` after an 8-byte header).
enum StatsLayout {
    static let tokens = 8
    static let users = 16
    static let quarantined = 24
    static let byPlatform = 32
    static let byAuthorization = 64
    static let bouncesByOutcome = 96
    static let bouncesByCategory = 136
    static let size = 184
}

/// Fills a caller's `ts_store_stats`, whose `version` it set, with counts over the store.
@_cdecl("ts_stats")
public func ts_stats(_ handle: OpaquePointer?, _ out: UnsafeMutableRawPointer?) -> Int32 {
    guard let out else { return invalid("out: NULL") }
    guard out.loadUnaligned(as: UInt32.self) == statsVersion else {
        return invalid("ts_store_stats.version: not TS_STATS_VERSION")
    }
    return withStore(handle) { store in
        do throws(TokenStoreError) {
            let stats = try store.statistics()
            memset(out + 4, 0, StatsLayout.size - 4)
            out.storeBytes(of: cCount(stats.tokens), toByteOffset: StatsLayout.tokens, as: UInt64.self)
            out.storeBytes(of: cCount(stats.users), toByteOffset: StatsLayout.users, as: UInt64.self)
            out.storeBytes(of: cCount(stats.quarantined), toByteOffset: StatsLayout.quarantined, as: UInt64.self)
            for (platform, n) in stats.byPlatform {
                out.storeBytes(
                    of: cCount(n), toByteOffset: StatsLayout.byPlatform + 8 * Int(platform.rawValue), as: UInt64.self)
            }
            for (authorization, n) in stats.byAuthorization {
                out.storeBytes(
                    of: cCount(n), toByteOffset: StatsLayout.byAuthorization + 8 * Int(authorization.rawValue),
                    as: UInt64.self)
            }
            for (outcome, n) in stats.bouncesByOutcome {
                out.storeBytes(
                    of: cCount(n), toByteOffset: StatsLayout.bouncesByOutcome + 8 * Int(outcome.rawValue),
                    as: UInt64.self)
            }
            for (category, n) in stats.bouncesByCategory {
                out.storeBytes(
                    of: cCount(n), toByteOffset: StatsLayout.bouncesByCategory + 8 * Int(category.rawValue),
                    as: UInt64.self)
            }
            return TS_OK
        } catch {
            return failed(error)
        }
    }
}
