// Whole-user and whole-store reads: JSON export (library-allocated, freed by `ts_free`),
// the token count and the statistics.

import CTokenStoreHeader
import TokenStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Exports a user as JSON into a `malloc`ed, NUL-terminated buffer the caller frees with `ts_free`.
@c @implementation
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
@c @implementation
public func ts_free(_ pointer: UnsafeMutableRawPointer?) {
    free(pointer)
}

/// Counts the live tokens.
@c @implementation
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

/// Fills a caller's `ts_store_stats`, whose `version` it set, with counts over the store.
@c @implementation
public func ts_stats(_ handle: OpaquePointer?, _ out: UnsafeMutablePointer<ts_store_stats>?) -> Int32 {
    guard let out else { return invalid("out: NULL") }
    // Read the version, the first field, alone first: a caller built against another header
    // may have passed a shorter struct.
    guard UnsafeRawPointer(out).loadUnaligned(as: UInt32.self) == TS_STATS_VERSION else {
        return invalid("ts_store_stats.version: not TS_STATS_VERSION")
    }
    return withStore(handle) { store in
        do throws(TokenStoreError) {
            let counts = try store.statistics()
            var stats = ts_store_stats()
            stats.version = UInt32(TS_STATS_VERSION)
            stats.tokens = cCount(counts.tokens)
            stats.users = cCount(counts.users)
            stats.quarantined = cCount(counts.quarantined)
            fill(&stats.by_platform, counts.byPlatform)
            fill(&stats.by_authorization, counts.byAuthorization)
            fill(&stats.bounces_by_outcome, counts.bouncesByOutcome)
            fill(&stats.bounces_by_category, counts.bouncesByCategory)
            out.pointee = stats
            return TS_OK
        } catch {
            return failed(error)
        }
    }
}

/// Stores each count at its enum constant's index of a C `uint64_t` array (imported as a
/// tuple). A constant past the array's end is dropped, never written out of bounds; the
/// C-boundary parity tests check that every constant fits.
private func fill<Slots, Key: RawRepresentable>(_ array: inout Slots, _ counts: [Key: Int])
where Key.RawValue == UInt8 {
    withUnsafeMutableBytes(of: &array) { slots in
        for (key, n) in counts {
            let offset = Int(key.rawValue) * MemoryLayout<UInt64>.stride
            guard offset + MemoryLayout<UInt64>.size <= slots.count else { continue }
            slots.storeBytes(of: cCount(n), toByteOffset: offset, as: UInt64.self)
        }
    }
}
