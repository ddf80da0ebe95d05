/// The restore operations: a backup's state written back as given, each one locked, logged
/// and replayed like every other write, so a crash during a restore loses nothing that
/// returned. They never add changelog entries of their own: the changelog is restored
/// entry by entry, in its order.
extension Registry {
    /// Writes a key record with the given times, state and kept-bounce count.
    ///
    /// Stale when the key already holds a record with a later event time, or a tombstone, or
    /// the token a dead mark, that refuses it as they refuse a registration. A record already
    /// at the key, and another key holding the same token, are replaced: the token stays
    /// unique; a tombstone it passes goes.
    func restoreKey(_ op: Operation, logging: Bool) throws -> (WriteOutcome, UInt64) {
        let device = op.s0, app = op.s1, token = op.s2, user = op.s3
        let hasUser = op.c & 1 != 0, quarantined = op.c & 2 != 0
        guard let platform = Platform(rawValue: op.a), let authorization = Authorization(rawValue: op.b),
            op.c & ~3 == 0, Registry.isPlausibleRestore(created: op.n0, updated: op.n1, event: op.at),
            op.n2 >= 0, op.n2 <= Int64(UInt32.max)
        else { throw TokenStoreError(.invalidArgument, "restored record: bad state, times or counter") }
        let keyHash = Registry.keyHash(device, app), tokenHash = Registry.tokenHash(token)
        var initial = ShardSet(store.shard(of: keyHash), store.shard(of: tokenHash))
        if hasUser { initial.insert(store.shard(of: Registry.userHash(user))) }
        return try locked(initial, exclusive: true) { scope in
            let found = try findKeyOrTombstone(device, app, hash: keyHash)
            let existing = try found.key.map { try checked($0.record) }
            if let e = existing, op.at < e.eventAt { return (.stale, 0) }
            // Tombstones judge a restored record as they judge a registration.
            let tombstone = found.tombstone
            if let t = tombstone, refuses(t, in: shard(keyHash), at: op.at) { return (.stale, 0) }
            var deadMark: DeadMark?
            let holder = try findToken(token, hash: tokenHash, scope: &scope, deadMark: &deadMark, lookingForDeadMark: true)
                .map { try checked($0.record) }
            if let d = deadMark, refuses(d.tombstone, in: store.pages(ofShard: d.shard), at: op.at) { return (.stale, 0) }
            if let e = existing {
                if e.user.count > 0 { try scope.require(store.shard(of: Registry.userHash(e.user))) }
                try scope.require(store.shard(of: e.tokenHash))
            }
            if let t = tombstone, t.isBounced { try scope.require(store.shard(of: t.tokenHash)) }
            let holderIsElsewhere = holder.map {
                $0.offset != existing?.offset || keyShardNumber($0) != store.shard(of: keyHash)
            } ?? false
            if holderIsElsewhere, let h = holder, h.user.count > 0 {
                try scope.require(store.shard(of: Registry.userHash(h.user)))
            }
            try reserve(scope)
            let lsn = try logAndApply(op, logging: logging) {
                if let t = tombstone { try removeTombstone(t) }
                if let d = deadMark, d.tombstone.offset != tombstone?.offset || d.shard != store.shard(of: keyHash) {
                    clearDeadMark(d)
                }
                if holderIsElsewhere, let h = holder { try removeKey(h) }
                if let e = existing { try removeKey(e) }
                try insertKey(KeyFields(
                    device: device, app: app, token: token, user: hasUser ? user : Registry.noBytes, platform: platform,
                    authorization: authorization, quarantined: quarantined, failures: Int(op.n2), created: op.n0,
                    updated: op.n1, event: op.at))
            }
            return (.applied, lsn)
        }
    }

    /// Sets a user's subscription state and its times, creating the user when absent.
    /// Stale when the stored subscription was set later than the restored one.
    func restoreUser(_ op: Operation, logging: Bool) throws -> (WriteOutcome, UInt64) {
        let user = op.s0
        guard let subscription = Subscription(rawValue: op.a), op.at >= 0, op.n0 >= 0, op.n1 >= 0 else {
            throw TokenStoreError(.invalidArgument, "restored user: bad subscription or times")
        }
        let userHash = Registry.userHash(user)
        return try locked(ShardSet(store.shard(of: userHash)), exclusive: true) { scope in
            if let u = try findUser(user, hash: userHash)?.record, op.at < u.subscriptionEventAt { return (.stale, 0) }
            try reserve(scope)
            let lsn = try logAndApply(op, logging: logging) {
                guard let (_, record) = try self.user(user, create: true) else { return }
                _ = try changingMembership(record, app: nil) {
                    record.restoreSubscription(subscription, eventAt: op.at, optedInAt: op.n0, unsubscribedAt: op.n1)
                    return record
                }
            }
            return (.applied, lsn)
        }
    }

    /// Appends one entry, as given, to a user's changelog (the oldest beyond the limit drop,
    /// as always), creating the user when absent.
    func restoreChange(_ op: Operation, logging: Bool) throws -> (Void, UInt64) {
        let user = op.s0
        guard let kind = ChangeKind(rawValue: op.a), op.at >= 0 else {
            throw TokenStoreError(.invalidArgument, "restored changelog entry: bad kind or time")
        }
        let userHash = Registry.userHash(user)
        return try locked(ShardSet(store.shard(of: userHash)), exclusive: true) { scope in
            try reserve(scope)
            let lsn = try logAndApply(op, logging: logging) {
                try appendChange(to: user, kind, at: op.at, device: op.s1, app: op.s2, token: op.s3, other: op.s4, detail: op.s5)
            }
            return ((), lsn)
        }
    }

    /// Adds bounce counts to the store's statistics (kept in shard 0: only their sum is read).
    func addBounceCounts(_ op: Operation, logging: Bool) throws -> (Void, UInt64) {
        let outcomes = BounceOutcome.allCases, categories = BounceCategory.allCases
        guard Int(op.a) == outcomes.count, Int(op.b) == categories.count,
            op.s0.count == (outcomes.count + categories.count) * 8
        else { throw TokenStoreError(.invalidArgument, "bounce counts: unknown layout") }
        let counts = (0..<(outcomes.count + categories.count)).map { op.s0.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) }
        guard counts.allSatisfy({ $0 >= 0 }) else { throw TokenStoreError(.invalidArgument, "bounce counts: negative") }
        return try locked(ShardSet(0), exclusive: true) { _ in
            let heap = store.pages(ofShard: 0).heap
            let lsn = try logAndApply(op, logging: logging) {
                for (i, outcome) in outcomes.enumerated() { heap.add(.outcome(outcome), counts[i]) }
                for (i, category) in categories.enumerated() { heap.add(.category(category), counts[outcomes.count + i]) }
            }
            return ((), lsn)
        }
    }

    /// Whether restored key times can come from a store: every write moves the event time
    /// forward and sets `updated` to it at most, and `created` is the first registration.
    static func isPlausibleRestore(created: Int64, updated: Int64, event: Int64) -> Bool {
        created >= 0 && created <= updated && updated <= event
    }

    static var noBytes: Bytes { Bytes(start: nil, count: 0) }
}
