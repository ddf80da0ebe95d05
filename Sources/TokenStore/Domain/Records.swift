/// One token as stored for a `(device, app)` key, copied out of the store.
public struct TokenRecord: Sendable, Equatable, Hashable {
    /// The device the app is installed on.
    public var deviceID: String
    /// The app (bundle or package) the token is for.
    public var appID: String
    /// The provider's opaque token, compared as bytes.
    public var token: String
    /// The owner; `nil` means an anonymous profile.
    public var userID: String?
    /// The provider family.
    public var platform: Platform
    /// What the device lets the app show.
    public var authorization: Authorization
    /// True after a misconfiguration bounce in quarantine mode; such a token is never sendable.
    public var isQuarantined: Bool
    /// When the key first got a token (ms since the epoch).
    public var createdAt: Int64
    /// The last registration or session (ms since the epoch).
    public var updatedAt: Int64

    /// Creates a record value.
    public init(
        deviceID: String, appID: String, token: String, userID: String?, platform: Platform,
        authorization: Authorization, isQuarantined: Bool = false, createdAt: Int64, updatedAt: Int64
    ) {
        self.deviceID = deviceID
        self.appID = appID
        self.token = token
        self.userID = userID
        self.platform = platform
        self.authorization = authorization
        self.isQuarantined = isQuarantined
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A zero-copy view of a stored token, valid only inside the closure that receives it.
///
/// The buffers point into the store's mapped memory. Do not escape them; copy with
/// `record` or `String(decoding:as:)` if the value must outlive the call.
public struct TokenView {
    /// The device id's UTF-8 bytes.
    public let deviceID: UnsafeRawBufferPointer
    /// The app id's UTF-8 bytes.
    public let appID: UnsafeRawBufferPointer
    /// The token's bytes.
    public let token: UnsafeRawBufferPointer
    /// The owner's UTF-8 bytes; empty for an anonymous profile.
    public let userID: UnsafeRawBufferPointer
    /// The provider family.
    public let platform: Platform
    /// What the device lets the app show.
    public let authorization: Authorization
    /// True when a misconfiguration bounce quarantined the token.
    public let isQuarantined: Bool
    /// When the key first got a token (ms since the epoch).
    public let createdAt: Int64
    /// The last registration or session (ms since the epoch).
    public let updatedAt: Int64
    /// The event time of the key's last write (ms since the epoch): a write older than this
    /// is stale. At least `updatedAt`; later after a `changeUser` or `setAuthorization`.
    public let eventAt: Int64
    /// Bounces that kept the token (transient, payload, unknown codes) since it was
    /// registered on this key.
    public let keptBounces: Int

    /// Copies the view into an owned value.
    public var record: TokenRecord {
        TokenRecord(
            deviceID: String(decoding: deviceID, as: UTF8.self),
            appID: String(decoding: appID, as: UTF8.self),
            token: String(decoding: token, as: UTF8.self),
            userID: userID.isEmpty ? nil : String(decoding: userID, as: UTF8.self),
            platform: platform, authorization: authorization, isQuarantined: isQuarantined,
            createdAt: createdAt, updatedAt: updatedAt)
    }
}

/// One entry of a user's push changelog, oldest first.
public struct ChangeEntry: Sendable, Equatable {
    /// The event time of the write that made the change.
    public var at: Int64
    /// What changed.
    public var kind: ChangeKind
    /// The key's device.
    public var deviceID: String
    /// The key's app.
    public var appID: String
    /// The token concerned.
    public var token: String
    /// For moves, the user the token moved to or from; `nil` for anonymous or not applicable.
    public var otherUserID: String?
    /// The bounce code, or the new authorization or subscription; `nil` when not applicable.
    public var detail: String?

    /// Creates an entry.
    public init(
        at: Int64, kind: ChangeKind, deviceID: String, appID: String, token: String,
        otherUserID: String? = nil, detail: String? = nil
    ) {
        self.at = at
        self.kind = kind
        self.deviceID = deviceID
        self.appID = appID
        self.token = token
        self.otherUserID = otherUserID
        self.detail = detail
    }
}

/// A zero-copy view of a changelog entry, valid only inside the closure that receives it.
public struct ChangeView {
    /// The event time of the write that made the change.
    public let at: Int64
    /// What changed.
    public let kind: ChangeKind
    /// The key's device bytes.
    public let deviceID: UnsafeRawBufferPointer
    /// The key's app bytes.
    public let appID: UnsafeRawBufferPointer
    /// The token bytes.
    public let token: UnsafeRawBufferPointer
    /// The user moved to or from; empty when none.
    public let otherUserID: UnsafeRawBufferPointer
    /// The bounce code or new state; empty when none.
    public let detail: UnsafeRawBufferPointer

    /// Copies the view into an owned value.
    public var entry: ChangeEntry {
        ChangeEntry(
            at: at, kind: kind,
            deviceID: String(decoding: deviceID, as: UTF8.self),
            appID: String(decoding: appID, as: UTF8.self),
            token: String(decoding: token, as: UTF8.self),
            otherUserID: otherUserID.isEmpty ? nil : String(decoding: otherUserID, as: UTF8.self),
            detail: detail.isEmpty ? nil : String(decoding: detail, as: UTF8.self))
    }
}

/// A user as a backup reads it, valid only inside the closure that receives it.
public struct UserView {
    /// The user id's UTF-8 bytes.
    public let userID: UnsafeRawBufferPointer
    /// The subscription state.
    public let state: UserState
    /// The event time of the last subscription write (ms since the epoch), which orders
    /// later ones; `nil` if the subscription was never set.
    public let subscriptionAt: Int64?
    /// The push changelog, oldest first.
    public let changelog: [ChangeView]
}

/// A user's subscription state.
public struct UserState: Sendable, Equatable {
    /// The current preference.
    public var subscription: Subscription
    /// When the user last opted in, if ever (ms since the epoch).
    public var optedInAt: Int64?
    /// When the user last unsubscribed, if ever (ms since the epoch).
    public var unsubscribedAt: Int64?

    /// Creates a state value (for `TokenStore.restoreUser`).
    public init(subscription: Subscription, optedInAt: Int64? = nil, unsubscribedAt: Int64? = nil) {
        self.subscription = subscription
        self.optedInAt = optedInAt
        self.unsubscribedAt = unsubscribedAt
    }
}

/// Counts over the whole store.
public struct StoreStatistics: Sendable, Equatable {
    /// Live tokens.
    public var tokens: Int = 0
    /// Users known to the store.
    public var users: Int = 0
    /// Tokens held in quarantine.
    public var quarantined: Int = 0
    /// Tombstones kept, expired ones a sweep has not dropped yet included. They are never
    /// counted in `tokens` or anywhere else.
    public var tombstones: Int = 0
    /// Tokens per platform.
    public var byPlatform: [Platform: Int] = [:]
    /// Tokens per authorization.
    public var byAuthorization: [Authorization: Int] = [:]
    /// Bounces applied since the store was created, by outcome.
    public var bouncesByOutcome: [BounceOutcome: Int] = [:]
    /// Bounces applied since the store was created, by category.
    public var bouncesByCategory: [BounceCategory: Int] = [:]
}

/// A removal's tombstone as a backup reads it (`TokenStore.forEachBackupTombstone`) and
/// writes it back (`TokenStore.restore(_:)`).
public struct Tombstone: Sendable, Equatable {
    /// The device of the removed key.
    public var deviceID: String
    /// The app of the removed key.
    public var appID: String
    /// The removed token's hash: only the hash is kept, never the token. It is the store's
    /// own 64-bit hash, opaque to callers and stable within a format version, so a backup
    /// restores it as read.
    public var tokenHash: UInt64
    /// The event time of the removal, in milliseconds.
    public var at: Int64
    /// Whether a removing bounce left it, so that its token is dead on every key for
    /// registrations older than `at`.
    public var bounced: Bool

    /// A tombstone with the given fields.
    public init(deviceID: String, appID: String, tokenHash: UInt64, at: Int64, bounced: Bool) {
        (self.deviceID, self.appID, self.tokenHash, self.at, self.bounced) = (deviceID, appID, tokenHash, at, bounced)
    }
}
