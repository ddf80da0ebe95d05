/// The push provider family a token belongs to.
public enum Platform: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// APNs; tokens are 64 hex characters.
    case ios = 1
    /// FCM; tokens are about 150–200 characters.
    case android = 2
    /// Web Push; the token is an endpoint URL plus keys.
    case web = 3

    public var description: String {
        switch self {
        case .ios: return "ios"
        case .android: return "android"
        case .web: return "web"
        }
    }

    /// Parses `ios`, `android` or `web`.
    public init?(name: String) {
        guard let match = Platform.allCases.first(where: { $0.description == name }) else { return nil }
        self = match
    }
}

/// The device-level capability a token carries.
public enum Authorization: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Visible notifications allowed.
    case foreground = 1
    /// iOS 12+ quiet delivery to Notification Center; counts as foreground-enabled.
    case provisional = 2
    /// A token exists but visible notifications are off; silent push only.
    case background = 3

    /// True for `foreground` and `provisional`: a visible push may be sent.
    public var allowsVisiblePush: Bool { self != .background }

    public var description: String {
        switch self {
        case .foreground: return "foreground"
        case .provisional: return "provisional"
        case .background: return "background"
        }
    }

    /// Parses `foreground`, `provisional` or `background`.
    public init?(name: String) {
        guard let match = Authorization.allCases.first(where: { $0.description == name }) else { return nil }
        self = match
    }
}

/// A user's push subscription preference. The store never changes it by itself.
public enum Subscription: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// The default for a new user.
    case subscribed = 1
    /// An explicit yes.
    case optedIn = 2
    /// An explicit no.
    case unsubscribed = 3

    public var description: String {
        switch self {
        case .subscribed: return "subscribed"
        case .optedIn: return "opted_in"
        case .unsubscribed: return "unsubscribed"
        }
    }

    /// Parses `subscribed`, `opted_in` or `unsubscribed`.
    public init?(name: String) {
        guard let match = Subscription.allCases.first(where: { $0.description == name }) else { return nil }
        self = match
    }
}

/// What a write did.
public enum WriteOutcome: Sendable, Equatable {
    /// The write changed the store (or refreshed `updatedAt`).
    case applied
    /// The write was older than the event time stored for its key and was ignored.
    case stale
}

/// How a provider's bounce code is classified (DOMAIN.md's bounce table).
public enum BounceCategory: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// The token is dead: remove it.
    case dead = 1
    /// Sender or credential mismatch: remove, or quarantine when the store is opened so.
    case misconfigured = 2
    /// Rate limits and server errors: keep the token.
    case transient = 3
    /// The payload was at fault, not the token: keep it.
    case payload = 4
    /// A code the store does not know: keep the token and report it.
    case unknown = 5

    public var description: String {
        switch self {
        case .dead: return "dead"
        case .misconfigured: return "misconfigured"
        case .transient: return "transient"
        case .payload: return "payload"
        case .unknown: return "unknown"
        }
    }
}

/// What a bounce did to the token.
public enum BounceOutcome: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// The token was removed.
    case removed = 1
    /// The token was kept but left out of sends until it registers again.
    case quarantined = 2
    /// The token was kept and the failure counted.
    case kept = 3
    /// The bounce predates the token's latest registration and was ignored.
    case stale = 4

    public var description: String {
        switch self {
        case .removed: return "removed"
        case .quarantined: return "quarantined"
        case .kept: return "kept"
        case .stale: return "stale"
        }
    }
}

/// The result of `TokenStore.bounce`.
public struct BounceResult: Sendable, Equatable {
    /// What happened to the token.
    public let outcome: BounceOutcome
    /// How the error code was classified.
    public let category: BounceCategory
}

/// The kind of push a campaign sends.
public enum PushKind: Sendable {
    /// A visible notification: `foreground` and `provisional` tokens of users not unsubscribed.
    case visible
    /// A silent, background push: any token that is not quarantined.
    case silent
}

/// A campaign segment filter, as DOMAIN.md defines it.
public enum Segment: Sendable, Hashable {
    /// Not unsubscribed, with a foreground or provisional token for any app.
    case foregroundPushEnabled
    /// A foreground or provisional token for this app; subscription is not considered.
    case foregroundPushEnabledForApp(String)
    /// Not unsubscribed, with any token.
    case backgroundOrForegroundPushEnabled
    /// Subscription equals the state.
    case subscription(Subscription)
}

/// What a changelog entry records.
public enum ChangeKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// A token was registered for a key the user had none on.
    case registered = 1
    /// The key's token was replaced by a new one.
    case tokenReplaced = 2
    /// A token moved to this user from `otherUser`.
    case movedIn = 3
    /// A token moved from this user to `otherUser`.
    case movedOut = 4
    /// The token's authorization changed; `detail` holds the new value.
    case authorizationChanged = 5
    /// A bounce removed or quarantined the token; `detail` holds the provider code.
    case bounced = 6
    /// The app was uninstalled.
    case uninstalled = 7
    /// A sweep expired the token.
    case expired = 8
    /// The subscription changed; `detail` holds the new value.
    case subscriptionChanged = 9

    public var description: String {
        switch self {
        case .registered: return "registered"
        case .tokenReplaced: return "token_replaced"
        case .movedIn: return "moved_in"
        case .movedOut: return "moved_out"
        case .authorizationChanged: return "authorization_changed"
        case .bounced: return "bounced"
        case .uninstalled: return "uninstalled"
        case .expired: return "expired"
        case .subscriptionChanged: return "subscription_changed"
        }
    }

    /// Parses a kind's `description` (`registered`, `moved_in`, …).
    public init?(name: String) {
        guard let match = ChangeKind.allCases.first(where: { $0.description == name }) else { return nil }
        self = match
    }
}
