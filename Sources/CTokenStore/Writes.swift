// The write entry points: register, change user, authorization, subscription, bounce,
// uninstall and sweep. Each validates every argument before the store sees it.

import CTokenStoreHeader
import TokenStore

/// Upserts a key's token; `user_id` NULL keeps the key's owner.
@c @implementation
public func ts_register(
    _ handle: OpaquePointer?, _ deviceID: UnsafePointer<CChar>?, _ appID: UnsafePointer<CChar>?,
    _ token: UnsafePointer<CChar>?, _ platform: Int32, _ authorization: Int32,
    _ userID: UnsafePointer<CChar>?, _ at: Int64
) -> Int32 {
    withStore(handle) { store in validated { () throws(InvalidArgument) -> Int32 in
        let device = try require(rawArgument(deviceID, limit: Limits.maxDeviceIDBytes), Refusal.deviceID)
        let app = try require(rawArgument(appID, limit: Limits.maxAppIDBytes), Refusal.appID)
        let tokenBytes = try require(rawArgument(token, limit: Limits.maxTokenBytes), Refusal.token)
        let platform = try require(Platform(c: platform), Refusal.platform)
        let authorization = try require(Authorization(c: authorization), Refusal.authorization)
        let at = try require(eventTime(at), Refusal.time)
        let user: UnsafeRawBufferPointer?
        switch OptionalArgument(userID, limit: Limits.maxUserIDBytes) {
        case .absent: user = nil
        case .present(let value): user = value
        case .invalid: throw InvalidArgument(detail: Refusal.optionalUserID)
        }
        return writeStatus { () throws(TokenStoreError) in
            try store.register(deviceID: device, appID: app, token: tokenBytes, platform: platform,
                authorization: authorization, userID: user, at: at)
        }
    } }
}

/// Moves a key's token to another user; `user_id` NULL makes it anonymous (logout).
@c @implementation
public func ts_change_user(
    _ handle: OpaquePointer?, _ deviceID: UnsafePointer<CChar>?, _ appID: UnsafePointer<CChar>?,
    _ userID: UnsafePointer<CChar>?, _ at: Int64
) -> Int32 {
    withStore(handle) { store in validated { () throws(InvalidArgument) -> Int32 in
        let device = try require(rawArgument(deviceID, limit: Limits.maxDeviceIDBytes), Refusal.deviceID)
        let app = try require(rawArgument(appID, limit: Limits.maxAppIDBytes), Refusal.appID)
        let at = try require(eventTime(at), Refusal.time)
        let user: UnsafeRawBufferPointer?
        switch OptionalArgument(userID, limit: Limits.maxUserIDBytes) {
        case .absent: user = nil
        case .present(let value): user = value
        case .invalid: throw InvalidArgument(detail: Refusal.optionalUserID)
        }
        return writeStatus { () throws(TokenStoreError) in
            try store.changeUser(deviceID: device, appID: app, userID: user, at: at)
        }
    } }
}

/// Records that visible notifications were turned off or back on for a key.
@c @implementation
public func ts_set_authorization(
    _ handle: OpaquePointer?, _ deviceID: UnsafePointer<CChar>?, _ appID: UnsafePointer<CChar>?,
    _ authorization: Int32, _ at: Int64
) -> Int32 {
    withStore(handle) { store in validated { () throws(InvalidArgument) -> Int32 in
        let device = try require(rawArgument(deviceID, limit: Limits.maxDeviceIDBytes), Refusal.deviceID)
        let app = try require(rawArgument(appID, limit: Limits.maxAppIDBytes), Refusal.appID)
        let authorization = try require(Authorization(c: authorization), Refusal.authorization)
        let at = try require(eventTime(at), Refusal.time)
        return writeStatus { () throws(TokenStoreError) in
            try store.setAuthorization(deviceID: device, appID: app, authorization: authorization, at: at)
        }
    } }
}

/// Sets a user's subscription, creating the user if needed.
@c @implementation
public func ts_set_subscription(
    _ handle: OpaquePointer?, _ userID: UnsafePointer<CChar>?, _ subscription: Int32, _ at: Int64
) -> Int32 {
    withStore(handle) { store in validated { () throws(InvalidArgument) -> Int32 in
        let user = try require(rawArgument(userID, limit: Limits.maxUserIDBytes), Refusal.userID)
        let subscription = try require(Subscription(c: subscription), "subscription: not a TS_SUB_* constant")
        let at = try require(eventTime(at), Refusal.time)
        return writeStatus { () throws(TokenStoreError) in
            try store.setSubscription(userID: user, subscription: subscription, at: at)
        }
    } }
}

/// Applies a provider's rejection of a token and reports the outcome.
@c @implementation
public func ts_bounce(
    _ handle: OpaquePointer?, _ token: UnsafePointer<CChar>?, _ errorCode: UnsafePointer<CChar>?,
    _ providerTimestamp: Int64, _ at: Int64, _ outOutcome: UnsafeMutablePointer<Int32>?
) -> Int32 {
    var category: Int32 = 0
    return withUnsafeMutablePointer(to: &category) { category in
        ts_bounce_ex(handle, token, errorCode, providerTimestamp, at, outOutcome, category)
    }
}

/// Applies a provider's rejection of a token and reports the outcome and the classification.
@c @implementation
public func ts_bounce_ex(
    _ handle: OpaquePointer?, _ token: UnsafePointer<CChar>?, _ errorCode: UnsafePointer<CChar>?,
    _ providerTimestamp: Int64, _ at: Int64, _ outOutcome: UnsafeMutablePointer<Int32>?,
    _ outCategory: UnsafeMutablePointer<Int32>?
) -> Int32 {
    guard let outOutcome, let outCategory else { return invalid("out_outcome or out_category: NULL") }
    outOutcome.pointee = 0
    outCategory.pointee = 0
    return withStore(handle) { store in validated { () throws(InvalidArgument) -> Int32 in
        let tokenBytes = try require(rawArgument(token, limit: Limits.maxTokenBytes), Refusal.token)
        let code = try require(rawArgument(errorCode, limit: Limits.maxErrorCodeBytes),
            "error_code: NULL, empty or over 128 bytes")
        let providerTime = try require(eventTime(providerTimestamp), "provider_ts_ms: negative")
        let at = try require(eventTime(at), Refusal.time)
        do throws(TokenStoreError) {
            let result = try store.bounce(
                token: tokenBytes, errorCode: code, providerTimestamp: providerTime == 0 ? nil : providerTime,
                at: at)
            outOutcome.pointee = Int32(c: result.outcome)
            outCategory.pointee = Int32(c: result.category)
            return TS_OK
        } catch {
            return failed(error)
        }
    } }
}

/// Removes a key's token because the app was uninstalled.
@c @implementation
public func ts_uninstall(
    _ handle: OpaquePointer?, _ deviceID: UnsafePointer<CChar>?, _ appID: UnsafePointer<CChar>?, _ at: Int64
) -> Int32 {
    withStore(handle) { store in validated { () throws(InvalidArgument) -> Int32 in
        let device = try require(rawArgument(deviceID, limit: Limits.maxDeviceIDBytes), Refusal.deviceID)
        let app = try require(rawArgument(appID, limit: Limits.maxAppIDBytes), Refusal.appID)
        let at = try require(eventTime(at), Refusal.time)
        return writeStatus { () throws(TokenStoreError) in try store.uninstall(deviceID: device, appID: app, at: at) }
    } }
}

/// Expires stale tokens, stamping the changelog with the current wall clock.
@c @implementation
public func ts_sweep(
    _ handle: OpaquePointer?, _ platform: Int32, _ olderThan: Int64, _ outRemoved: UnsafeMutablePointer<UInt64>?
) -> Int32 {
    ts_sweep_at(handle, platform, olderThan, currentTimeMilliseconds(), outRemoved)
}

/// Expires stale tokens, stamping the changelog with the given event time.
@c @implementation
public func ts_sweep_at(
    _ handle: OpaquePointer?, _ platform: Int32, _ olderThan: Int64, _ at: Int64,
    _ outRemoved: UnsafeMutablePointer<UInt64>?
) -> Int32 {
    guard let outRemoved else { return invalid("out_removed: NULL") }
    outRemoved.pointee = 0
    return withStore(handle) { store in
        let only: Platform?
        if platform == 0 {
            only = nil
        } else {
            guard let parsed = Platform(c: platform) else {
                return invalid("platform: neither 0 nor a TS_PLATFORM_* constant")
            }
            only = parsed
        }
        guard let at = eventTime(at) else { return invalid(Refusal.time) }
        do throws(TokenStoreError) {
            outRemoved.pointee = cCount(try store.sweep(olderThan: olderThan, platform: only, at: at))
            return TS_OK
        } catch {
            return failed(error)
        }
    }
}
