/// The writes on raw UTF-8 buffers, for callers that hold bytes rather than strings (the C
/// ABI, a network decoder): no `String` is built and nothing is copied before the log. The
/// bytes are checked to be UTF-8, as a `String` would guarantee, before anything else (so
/// that bad input is `invalidArgument` even on a closed handle, as the C ABI promises). Each
/// write has one implementation, the `…Operation` below, which the `String` overloads share.
extension TokenStore {
    /// `register(_:)` on UTF-8 buffers; a `nil` user keeps the key's owner.
    @discardableResult
    public func register(
        deviceID: UnsafeRawBufferPointer, appID: UnsafeRawBufferPointer, token: UnsafeRawBufferPointer,
        platform: Platform, authorization: Authorization, userID: UnsafeRawBufferPointer?, at: Int64
    ) throws(TokenStoreError) -> WriteOutcome {
        try Validate.key(deviceID, appID, utf8: true)
        try Validate.token(token, utf8: true)
        if let userID { try Validate.user(userID, utf8: true) }
        return try write { try registerOperation(deviceID, appID, token, platform, authorization, userID, at: at) }
    }

    /// `changeUser(deviceID:appID:userID:at:)` on UTF-8 buffers; `nil` makes the key anonymous.
    @discardableResult
    public func changeUser(
        deviceID: UnsafeRawBufferPointer, appID: UnsafeRawBufferPointer, userID: UnsafeRawBufferPointer?, at: Int64
    ) throws(TokenStoreError) -> WriteOutcome {
        try Validate.key(deviceID, appID, utf8: true)
        if let userID { try Validate.user(userID, utf8: true) }
        return try write { try changeUserOperation(deviceID, appID, userID, at: at) }
    }

    /// `setAuthorization(deviceID:appID:authorization:at:)` on UTF-8 buffers.
    @discardableResult
    public func setAuthorization(
        deviceID: UnsafeRawBufferPointer, appID: UnsafeRawBufferPointer, authorization: Authorization, at: Int64
    ) throws(TokenStoreError) -> WriteOutcome {
        try Validate.key(deviceID, appID, utf8: true)
        return try write { try setAuthorizationOperation(deviceID, appID, authorization, at: at) }
    }

    /// `setSubscription(userID:subscription:at:)` on a UTF-8 buffer.
    @discardableResult
    public func setSubscription(userID: UnsafeRawBufferPointer, subscription: Subscription, at: Int64)
        throws(TokenStoreError) -> WriteOutcome
    {
        try Validate.user(userID, utf8: true)
        return try write { try setSubscriptionOperation(userID, subscription, at: at) }
    }

    /// `bounce(token:errorCode:providerTimestamp:at:)` on UTF-8 buffers.
    public func bounce(
        token: UnsafeRawBufferPointer, errorCode: UnsafeRawBufferPointer, providerTimestamp: Int64? = nil, at: Int64
    ) throws(TokenStoreError) -> BounceResult {
        try Validate.token(token, utf8: true)
        try Validate.text(errorCode, "error code", max: Limits.maxErrorCodeBytes, utf8: true)
        return try write { try bounceOperation(token, errorCode, providerTimestamp: providerTimestamp, at: at) }
    }

    /// `uninstall(deviceID:appID:at:)` on UTF-8 buffers.
    @discardableResult
    public func uninstall(deviceID: UnsafeRawBufferPointer, appID: UnsafeRawBufferPointer, at: Int64)
        throws(TokenStoreError) -> WriteOutcome
    {
        try Validate.key(deviceID, appID, utf8: true)
        return try write { try uninstallOperation(deviceID, appID, at: at) }
    }

    // MARK: The one implementation of each write

    typealias Bytes = UnsafeRawBufferPointer

    func registerOperation(
        _ device: Bytes, _ app: Bytes, _ token: Bytes, _ platform: Platform, _ authorization: Authorization,
        _ user: Bytes?, at: Int64
    ) throws -> (WriteOutcome, UInt64) {
        try Validate.key(device, app)
        try Validate.token(token)
        if let user { try Validate.user(user) }
        var op = Operation(code: .register, a: platform.rawValue, b: authorization.rawValue, c: user == nil ? 0 : 1, at: at)
        (op.s0, op.s1, op.s2, op.s3) = (device, app, token, user ?? Registry.none)
        return try registry.register(op, logging: true)
    }

    func changeUserOperation(_ device: Bytes, _ app: Bytes, _ user: Bytes?, at: Int64) throws -> (WriteOutcome, UInt64) {
        try Validate.key(device, app)
        if let user { try Validate.user(user) }
        var op = Operation(code: .changeUser, c: user == nil ? 0 : 1, at: at)
        (op.s0, op.s1, op.s2) = (device, app, user ?? Registry.none)
        return try registry.changeUser(op, logging: true)
    }

    func setAuthorizationOperation(
        _ device: Bytes, _ app: Bytes, _ authorization: Authorization, at: Int64
    ) throws -> (WriteOutcome, UInt64) {
        try Validate.key(device, app)
        var op = Operation(code: .setAuthorization, b: authorization.rawValue, at: at)
        (op.s0, op.s1) = (device, app)
        return try registry.setAuthorization(op, logging: true)
    }

    func setSubscriptionOperation(_ user: Bytes, _ subscription: Subscription, at: Int64) throws -> (WriteOutcome, UInt64) {
        try Validate.user(user)
        var op = Operation(code: .setSubscription, a: subscription.rawValue, at: at)
        op.s0 = user
        return try registry.setSubscription(op, logging: true)
    }

    func bounceOperation(
        _ token: Bytes, _ code: Bytes, providerTimestamp: Int64?, at: Int64
    ) throws -> (BounceResult, UInt64) {
        try Validate.token(token)
        try Validate.text(code, "error code", max: Limits.maxErrorCodeBytes)
        var op = Operation(code: .bounce, c: providerTimestamp == nil ? 0 : 1, at: at)
        op.aux = providerTimestamp ?? 0
        (op.s0, op.s1) = (token, code)
        return try registry.bounce(op, logging: true)
    }

    func uninstallOperation(_ device: Bytes, _ app: Bytes, at: Int64) throws -> (WriteOutcome, UInt64) {
        try Validate.key(device, app)
        var op = Operation(code: .uninstall, at: at)
        (op.s0, op.s1) = (device, app)
        return try registry.uninstall(op, logging: true)
    }
}
