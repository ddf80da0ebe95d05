/// DOMAIN.md "Campaign sends": which tokens a push may go to now.
///
/// The one place the rule is written. `sendableTokens`, the campaign enumeration and its
/// prefilter on the user index's entry flags all ask it, so they cannot drift apart.
extension PushKind {
    /// Whether a push of this kind may go to a token with this authorization, quarantine
    /// state and owner's subscription.
    ///
    /// Visible pushes need a foreground or provisional token and a user who is not
    /// unsubscribed; silent pushes take any token. Quarantined tokens are never sendable.
    @inline(__always)
    func mayPush(allowsVisiblePush: Bool, isQuarantined: Bool, subscription: Subscription) -> Bool {
        guard !isQuarantined else { return false }
        switch self {
        case .silent: return true
        case .visible: return allowsVisiblePush && subscription != .unsubscribed
        }
    }

    /// `mayPush` for a stored token.
    @inline(__always)
    func mayPush(to view: TokenView, ownedBy subscription: Subscription) -> Bool {
        mayPush(allowsVisiblePush: view.authorization.allowsVisiblePush, isQuarantined: view.isQuarantined, subscription: subscription)
    }
}

extension Authorization {
    /// Whether a token with this authorization shows visible pushes once its quarantine is
    /// counted: the token's half of DOMAIN.md's "Foreground Push Enabled", which a user's
    /// "Push registered for" lines print as "Foreground" and the JSON export as
    /// `notifications_enabled`.
    func showsVisiblePush(quarantined: Bool) -> Bool { allowsVisiblePush && !quarantined }
}
