// The read entry points that stream records to a C callback: a key's token, a user's
// tokens, the sendable tokens, a user's state and changelog.

import CTokenStoreHeader
import TokenStore

/// Calls `fn` once with a zero-copy view of a key's token; `TS_NOTFOUND` when there is none.
///
/// Hot path: the arguments are validated in place and handed to the store as bytes, with no
/// `String` built.
@c @implementation
public func ts_get(
    _ handle: OpaquePointer?, _ deviceID: UnsafePointer<CChar>?, _ appID: UnsafePointer<CChar>?,
    _ function: ts_token_fn?, _ context: UnsafeMutableRawPointer?
) -> Int32 {
    withStore(handle) { store in
        guard let function else { return invalid(Refusal.callback) }
        guard let device = argumentBytes(deviceID, limit: Limits.maxDeviceIDBytes) else {
            return invalid(Refusal.deviceIDText)
        }
        guard let app = argumentBytes(appID, limit: Limits.maxAppIDBytes) else { return invalid(Refusal.appIDText) }
        do {
            let found: Int32? = try store.withToken(deviceID: device, appID: app) { view in
                deliver(view, to: function, context: context)
            }
            return found == nil ? notFound("no token for that key") : TS_OK
        } catch {
            return statusCode(of: error)
        }
    }
}

/// Calls `fn` with a zero-copy view of each token the user owns, until it returns non-zero.
///
/// Hot path: the user id is validated in place and handed to the store as bytes.
@c @implementation
public func ts_user_tokens(
    _ handle: OpaquePointer?, _ userID: UnsafePointer<CChar>?, _ function: ts_token_fn?,
    _ context: UnsafeMutableRawPointer?
) -> Int32 {
    withStore(handle) { store in
        guard let function else { return invalid(Refusal.callback) }
        guard let user = argumentBytes(userID, limit: Limits.maxUserIDBytes) else { return invalid(Refusal.userIDText) }
        do {
            try store.forEachToken(userID: user) { view in deliver(view, to: function, context: context) == 0 }
            return TS_OK
        } catch {
            return statusCode(of: error)
        }
    }
}

/// Calls `fn` with each token a campaign may push to now for a user and app.
@c @implementation
public func ts_sendable_tokens(
    _ handle: OpaquePointer?, _ userID: UnsafePointer<CChar>?, _ appID: UnsafePointer<CChar>?,
    _ pushKind: Int32, _ function: ts_token_fn?, _ context: UnsafeMutableRawPointer?
) -> Int32 {
    withStore(handle) { store in
        guard let function else { return invalid(Refusal.callback) }
        guard let user = argument(userID, limit: Limits.maxUserIDBytes) else { return invalid(Refusal.userIDText) }
        guard let app = argument(appID, limit: Limits.maxAppIDBytes) else { return invalid(Refusal.appIDText) }
        guard let kind = PushKind(c: pushKind) else { return invalid(Refusal.pushKind) }
        do throws(TokenStoreError) {
            for record in try store.sendableTokens(userID: user, appID: app, kind: kind) {
                if deliver(record, to: function, context: context) != 0 { break }
            }
            return TS_OK
        } catch {
            return failed(error)
        }
    }
}

/// Reads a user's subscription state; `TS_NOTFOUND` for an unknown user.
@c @implementation
public func ts_get_user(
    _ handle: OpaquePointer?, _ userID: UnsafePointer<CChar>?, _ outSubscription: UnsafeMutablePointer<Int32>?,
    _ outOptedInAt: UnsafeMutablePointer<Int64>?, _ outUnsubscribedAt: UnsafeMutablePointer<Int64>?
) -> Int32 {
    guard let outSubscription else { return invalid("out_subscription: NULL") }
    outSubscription.pointee = 0
    outOptedInAt?.pointee = 0
    outUnsubscribedAt?.pointee = 0
    return withStore(handle) { store in
        guard let user = argument(userID, limit: Limits.maxUserIDBytes) else { return invalid(Refusal.userIDText) }
        do throws(TokenStoreError) {
            guard let state = try store.user(userID: user) else { return notFound("no user with that id") }
            outSubscription.pointee = Int32(c: state.subscription)
            outOptedInAt?.pointee = state.optedInAt ?? 0
            outUnsubscribedAt?.pointee = state.unsubscribedAt ?? 0
            return TS_OK
        } catch {
            return failed(error)
        }
    }
}

/// Calls `fn` with each entry of a user's changelog, oldest first, until it returns non-zero.
@c @implementation
public func ts_changelog(
    _ handle: OpaquePointer?, _ userID: UnsafePointer<CChar>?, _ function: ts_change_fn?,
    _ context: UnsafeMutableRawPointer?
) -> Int32 {
    withStore(handle) { store in
        guard let function else { return invalid(Refusal.callback) }
        guard let user = argument(userID, limit: Limits.maxUserIDBytes) else { return invalid(Refusal.userIDText) }
        do {
            try store.forEachChange(userID: user) { view in
                var cView = ts_change_view(view)
                return function(context, &cView) == 0
            }
            return TS_OK
        } catch {
            return statusCode(of: error)
        }
    }
}
