// The campaign-side entry points: segment counts and segment membership.

import CTokenStoreHeader
import TokenStore

/// Counts the users in a segment.
@c @implementation
public func ts_segment_count(
    _ handle: OpaquePointer?, _ segment: Int32, _ appID: UnsafePointer<CChar>?,
    _ outCount: UnsafeMutablePointer<UInt64>?
) -> Int32 {
    guard let outCount else { return invalid("out_count: NULL") }
    outCount.pointee = 0
    return withStore(handle) { store in
        guard let segment = Segment(c: segment, appID: appID) else { return invalid(Refusal.segment) }
        do throws(TokenStoreError) {
            outCount.pointee = cCount(try store.count(segment))
            return TS_OK
        } catch {
            return failed(error)
        }
    }
}

/// Calls `fn` with each user id in a segment, until it returns non-zero.
@c @implementation
public func ts_segment_users(
    _ handle: OpaquePointer?, _ segment: Int32, _ appID: UnsafePointer<CChar>?, _ function: ts_user_fn?,
    _ context: UnsafeMutableRawPointer?
) -> Int32 {
    withStore(handle) { store in
        guard let function else { return invalid(Refusal.callback) }
        guard let segment = Segment(c: segment, appID: appID) else { return invalid(Refusal.segment) }
        do {
            try store.forEachUser(in: segment) { user in function(context, viewText(user), user.count) == 0 }
            return TS_OK
        } catch {
            return statusCode(of: error)
        }
    }
}
