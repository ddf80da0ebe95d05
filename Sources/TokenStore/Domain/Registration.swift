/// A registration: what the SDK reports at session start.
public struct Registration: Sendable, Equatable {
    /// The device.
    public var deviceID: String
    /// The app.
    public var appID: String
    /// The provider token.
    public var token: String
    /// The provider family.
    public var platform: Platform
    /// What the device lets the app show.
    public var authorization: Authorization
    /// The logged-in user; `nil` keeps the key's current owner (or leaves it anonymous).
    public var userID: String?
    /// The event time (ms since the epoch).
    public var at: Int64

    /// Creates a registration.
    public init(
        deviceID: String, appID: String, token: String, platform: Platform,
        authorization: Authorization, userID: String? = nil, at: Int64
    ) {
        self.deviceID = deviceID
        self.appID = appID
        self.token = token
        self.platform = platform
        self.authorization = authorization
        self.userID = userID
        self.at = at
    }
}

/// The permission state an SDK reads from the OS at session start.
public enum PermissionState: Sendable, Equatable {
    /// The user granted visible notifications.
    case granted
    /// iOS 12+ provisional (quiet) authorization, granted without a prompt.
    case provisional
    /// The user declined.
    case denied
    /// Nothing was asked yet.
    case notDetermined
}

/// A session's facts, from which `Registration.init?(session:…)` derives the authorization.
public struct SessionFacts: Sendable, Equatable {
    /// The provider family.
    public var platform: Platform
    /// The OS major version (Android API level is not used: pass 12, 13, …; iOS 11, 12, …).
    /// Ignored for web.
    public var osMajorVersion: Int
    /// The OS permission state.
    public var permission: PermissionState
    /// Whether the permission prompt was shown and answered.
    public var promptAnswered: Bool

    /// Creates the facts.
    public init(platform: Platform, osMajorVersion: Int, permission: PermissionState, promptAnswered: Bool) {
        self.platform = platform
        self.osMajorVersion = osMajorVersion
        self.permission = permission
        self.promptAnswered = promptAnswered
    }

    /// The authorization a token registered in this session carries, or `nil` when the
    /// platform issues no token in this state (DOMAIN.md, "Registration by platform").
    ///
    /// - Android 12 and earlier: a token from install, `foreground` after the first session.
    /// - Android 13+: `background` until the user grants, then `foreground`.
    /// - iOS: a standard grant gives `foreground`; iOS 12+ may hold `provisional`; before iOS 12
    ///   a token exists only after a grant. A declined or unanswered prompt on iOS 12+ still
    ///   yields a token for background push.
    /// - Web: a token exists only after the user grants in the browser dialog.
    public var authorization: Authorization? {
        switch platform {
        case .android:
            if osMajorVersion <= 12 { return .foreground }
            return permission == .granted ? .foreground : .background
        case .ios:
            switch permission {
            case .granted: return .foreground
            case .provisional: return osMajorVersion >= 12 ? .provisional : nil
            case .denied, .notDetermined:
                // Background push works without the prompt from iOS 12 on; earlier iOS issues
                // a token only after an explicit grant.
                return osMajorVersion >= 12 ? .background : nil
            }
        case .web:
            return permission == .granted ? .foreground : nil
        }
    }
}

extension Registration {
    /// Turns a session's facts into a registration, following DOMAIN.md's platform rules.
    ///
    /// Returns `nil` when the platform issues no token in this state (web before the grant,
    /// iOS before 12 without a grant), so there is nothing to register.
    public init?(
        session: SessionFacts, deviceID: String, appID: String, token: String,
        userID: String? = nil, at: Int64
    ) {
        guard let authorization = session.authorization else { return nil }
        self.init(
            deviceID: deviceID, appID: appID, token: token, platform: session.platform,
            authorization: authorization, userID: userID, at: at)
    }
}
