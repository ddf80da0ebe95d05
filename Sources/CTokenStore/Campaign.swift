// The campaign sender's entry points: a segment's sendable tokens in one pass, and lookups by
// key in batches.

import CTokenStoreHeader
import TokenStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Calls `fn` with a zero-copy view of each token a campaign for `campaign_app_id` may push to
/// now, over the users of a segment, until it returns non-zero.
///
/// Hot path: the campaign's app id is validated in place and handed to the store as bytes.
@c @implementation
public func ts_campaign_tokens(
    _ handle: OpaquePointer?, _ segment: Int32, _ segmentAppID: UnsafePointer<CChar>?,
    _ campaignAppID: UnsafePointer<CChar>?, _ pushKind: Int32, _ function: ts_token_fn?,
    _ context: UnsafeMutableRawPointer?
) -> Int32 {
    withStore(handle) { store in
        guard let function else { return invalid(Refusal.callback) }
        guard let segment = Segment(c: segment, appID: segmentAppID) else { return invalid(Refusal.segment) }
        guard let app = argumentBytes(campaignAppID, limit: Limits.maxAppIDBytes) else {
            return invalid("campaign_app_id: NULL, empty, over 256 bytes or not UTF-8")
        }
        guard let kind = PushKind(c: pushKind) else { return invalid(Refusal.pushKind) }
        do {
            try store.forEachCampaignToken(in: segment, appID: app, kind: kind) { view in
                deliver(view, to: function, context: context) == 0
            }
            return TS_OK
        } catch {
            return statusCode(of: error)
        }
    }
}

/// Looks up `n` keys at once and calls `fn` once per key, in index order, with `TS_OK` and a
/// zero-copy view, or `TS_NOTFOUND` and NULL, until it returns non-zero.
///
/// Every key is validated before the first call, so a bad one anywhere in the arrays is
/// `TS_EINVAL` with nothing called.
@c @implementation
public func ts_get_many(
    _ handle: OpaquePointer?, _ count: Int, _ deviceIDs: UnsafePointer<UnsafePointer<CChar>?>?,
    _ appIDs: UnsafePointer<UnsafePointer<CChar>?>?, _ function: ts_batch_fn?, _ context: UnsafeMutableRawPointer?
) -> Int32 {
    withStore(handle) { store in
        // A count past `PTRDIFF_MAX` arrives negative: no caller has that many keys.
        guard let function else { return invalid(Refusal.callback) }
        guard let deviceIDs, let appIDs else { return invalid("device_ids or app_ids: NULL") }
        guard count >= 0 else { return invalid("n: over PTRDIFF_MAX") }
        for i in 0..<count {
            guard argumentBytes(deviceIDs[i], limit: Limits.maxDeviceIDBytes) != nil else {
                return invalid("device_ids: an entry is NULL, empty, over 256 bytes or not UTF-8")
            }
            guard argumentBytes(appIDs[i], limit: Limits.maxAppIDBytes) != nil else {
                return invalid("app_ids: an entry is NULL, empty, over 256 bytes or not UTF-8")
            }
        }
        do {
            try store.withTokens(count: count, key: { i in
                (measured(deviceIDs[i], limit: Limits.maxDeviceIDBytes), measured(appIDs[i], limit: Limits.maxAppIDBytes))
            }) { index, view in
                guard let view else { return function(context, index, TS_NOTFOUND, nil) == 0 }
                var cView = ts_token_view(view)
                return function(context, index, TS_OK, &cView) == 0
            }
            return TS_OK
        } catch {
            return statusCode(of: error)
        }
    }
}

/// The bytes of a C string argument already validated by `argumentBytes`, measured again
/// (a bounded scan) rather than stored, so that a batch of any size needs no allocation.
/// NULL gives an empty buffer, which the store rejects, rather than a trap.
@inline(__always)
private func measured(_ pointer: UnsafePointer<CChar>?, limit: Int) -> UnsafeRawBufferPointer {
    guard let pointer else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: UnsafeRawPointer(pointer), count: strnlen(pointer, limit + 1))
}
