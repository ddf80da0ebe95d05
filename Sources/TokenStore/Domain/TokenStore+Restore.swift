/// Restoring a backup: writes that put state back exactly as `forEachBackupRecord` and
/// `forEachBackupUser` read it, times and counters included, which the ordinary writes
/// cannot do (they derive times and counters from the events they apply).
///
/// Each call is one logged write, crash-safe like `register`. None of them adds changelog
/// entries; `restoreChange` puts the changelog back entry by entry. Restoring into a store
/// that already holds data merges: records and users go by event time (a later stored write
/// wins), changelog entries are appended, and bounce statistics add up.
extension TokenStore {
    /// Writes the record for `(record.deviceID, record.appID)` with its times, quarantine
    /// state and kept-bounce count as given. A record already on the key, and another key
    /// holding the same token, are replaced, so the token stays unique.
    ///
    /// - Parameters:
    ///   - eventAt: the key's last event time (see `TokenView.eventAt`).
    ///   - keptBounces: the bounces that kept the token (see `TokenView.keptBounces`).
    /// - Returns: `.stale` when the key holds a record whose event time is later.
    /// - Throws: `invalidArgument` unless `0 ≤ createdAt ≤ updatedAt ≤ eventAt` and
    ///   `keptBounces` fits 32 bits; `tooLarge` for over-long strings.
    @discardableResult
    public func restore(_ record: TokenRecord, eventAt: Int64, keptBounces: Int) throws(TokenStoreError) -> WriteOutcome {
        let r = record
        guard Registry.isPlausibleRestore(created: r.createdAt, updated: r.updatedAt, event: eventAt) else {
            throw TokenStoreError(.invalidArgument, "restored record times must satisfy 0 ≤ created ≤ updated ≤ event")
        }
        guard keptBounces >= 0, keptBounces <= Int(UInt32.max) else {
            throw TokenStoreError(.invalidArgument, "kept bounces must be 0...\(UInt32.max)")
        }
        return try write {
            try withArguments(r.deviceID, r.appID, r.token, r.userID ?? "") { device, app, token, user in
                try Validate.key(device, app)
                try Validate.token(token)
                if r.userID != nil { try Validate.user(user) }
                var op = Operation(
                    code: .restoreKey, a: r.platform.rawValue, b: r.authorization.rawValue,
                    c: (r.userID == nil ? 0 : 1) | (r.isQuarantined ? 2 : 0), at: eventAt)
                (op.n0, op.n1, op.n2) = (r.createdAt, r.updatedAt, Int64(keptBounces))
                (op.s0, op.s1, op.s2, op.s3) = (device, app, token, user)
                return try registry.restoreKey(op, logging: true)
            }
        }
    }

    /// Sets a user's subscription state and its times as given, creating the user when
    /// absent (a user who owns no token is restored this way too).
    ///
    /// - Parameter subscriptionAt: when the subscription was last set (`UserView`); `nil` if never.
    /// - Returns: `.stale` when the stored subscription was set later.
    /// - Throws: `invalidArgument` for a negative time.
    @discardableResult
    public func restoreUser(userID: String, state: UserState, subscriptionAt: Int64?) throws(TokenStoreError) -> WriteOutcome {
        let times = [subscriptionAt ?? 0, state.optedInAt ?? 0, state.unsubscribedAt ?? 0]
        guard times.allSatisfy({ $0 >= 0 }) else { throw TokenStoreError(.invalidArgument, "restored user times must not be negative") }
        return try write {
            try withArguments(userID, "", "", "") { user, _, _, _ in
                try Validate.user(user)
                var op = Operation(code: .restoreUser, a: state.subscription.rawValue, at: times[0])
                (op.n0, op.n1) = (times[1], times[2])
                op.s0 = user
                return try registry.restoreUser(op, logging: true)
            }
        }
    }

    /// Appends `entry` to the user's changelog as it is, creating the user when absent.
    /// Restore a changelog oldest first, so that it reads back in the same order; beyond the
    /// store's changelog limit the oldest entries drop, as they always do.
    ///
    /// - Throws: `invalidArgument` for a negative time or a string that is not UTF-8;
    ///   `tooLarge` for over-long strings (the detail has the error code's limit).
    public func restoreChange(userID: String, _ entry: ChangeEntry) throws(TokenStoreError) {
        guard entry.at >= 0 else { throw TokenStoreError(.invalidArgument, "restored changelog time must not be negative") }
        try write {
            try withArguments(userID, entry.deviceID, entry.appID, entry.token) { user, device, app, token in
                try withArguments(entry.otherUserID ?? "", entry.detail ?? "", "", "") { other, detail, _, _ in
                    try Validate.changeEntry(user: user, device: device, app: app, token: token, other: other, detail: detail)
                    var op = Operation(code: .restoreChange, a: entry.kind.rawValue, at: entry.at)
                    (op.s0, op.s1, op.s2, op.s3, op.s4, op.s5) = (user, device, app, token, other, detail)
                    return try registry.restoreChange(op, logging: true)
                }
            }
        }
    }

    /// Adds bounce counts, by outcome and by category, to the store's bounce statistics
    /// (`StoreStatistics.bouncesByOutcome` and `bouncesByCategory`), in one write.
    /// - Throws: `invalidArgument` for a negative count.
    public func restoreBounceStatistics(
        byOutcome: [BounceOutcome: Int], byCategory: [BounceCategory: Int]
    ) throws(TokenStoreError) {
        let counts = BounceOutcome.allCases.map { Int64(byOutcome[$0] ?? 0) } + BounceCategory.allCases.map { Int64(byCategory[$0] ?? 0) }
        guard counts.allSatisfy({ $0 >= 0 }) else { throw TokenStoreError(.invalidArgument, "bounce counts must not be negative") }
        guard counts.contains(where: { $0 != 0 }) else { return }
        try write {
            try counts.withUnsafeBytes { bytes in
                var op = Operation(
                    code: .addBounceCounts, a: UInt8(BounceOutcome.allCases.count), b: UInt8(BounceCategory.allCases.count), at: 0)
                op.s0 = bytes
                return try registry.addBounceCounts(op, logging: true)
            }
        }
    }

    /// Writes a tombstone back as `forEachBackupTombstone` read it. An earlier tombstone on
    /// the key is replaced.
    ///
    /// - Returns: `.stale` when the key holds a token, or a tombstone with a later time.
    /// - Throws: `invalidArgument` for a negative time; `tooLarge` for over-long ids.
    @discardableResult
    public func restore(_ tombstone: Tombstone) throws(TokenStoreError) -> WriteOutcome {
        guard tombstone.at >= 0 else { throw TokenStoreError(.invalidArgument, "restored tombstone time must not be negative") }
        return try write {
            try withArguments(tombstone.deviceID, tombstone.appID, "", "") { device, app, _, _ in
                try Validate.key(device, app)
                var op = Operation(code: .restoreTombstone, a: tombstone.bounced ? 1 : 0, at: tombstone.at)
                op.aux = Int64(bitPattern: tombstone.tokenHash)
                (op.s0, op.s1) = (device, app)
                return try registry.restoreTombstone(op, logging: true)
            }
        }
    }
}
