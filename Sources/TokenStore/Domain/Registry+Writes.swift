/// The write operations. Each one locks its stripes, decides under the locks, reserves
/// space, logs itself, then applies; replay runs the same code with `logging: false`.
extension Registry {
    typealias Bytes = UnsafeRawBufferPointer

    /// Applies a logged operation during recovery.
    func replay(_ payload: Bytes) throws {
        guard let op = Operation.decode(payload) else {
            throw TokenStoreError(.corrupt, "write-ahead log: undecodable operation")
        }
        // The log is input like any other: what the API would refuse is not applied.
        func check(_ b: Bytes, _ what: String, _ max: Int) throws { try Validate.utf8Text(b, what, max: max) }
        switch op.code {
        case .register:
            try check(op.s0, "device id", Limits.maxDeviceIDBytes)
            try check(op.s1, "app id", Limits.maxAppIDBytes)
            try check(op.s2, "token", Limits.maxTokenBytes)
            if op.c != 0 { try check(op.s3, "user id", Limits.maxUserIDBytes) }
        case .changeUser:
            try check(op.s0, "device id", Limits.maxDeviceIDBytes)
            try check(op.s1, "app id", Limits.maxAppIDBytes)
            if op.c != 0 { try check(op.s2, "user id", Limits.maxUserIDBytes) }
        case .setAuthorization, .uninstall, .expire, .restoreTombstone:
            try check(op.s0, "device id", Limits.maxDeviceIDBytes)
            try check(op.s1, "app id", Limits.maxAppIDBytes)
        case .setSubscription: try check(op.s0, "user id", Limits.maxUserIDBytes)
        case .bounce:
            try check(op.s0, "token", Limits.maxTokenBytes)
            try check(op.s1, "error code", Limits.maxErrorCodeBytes)
        case .restoreKey:
            try check(op.s0, "device id", Limits.maxDeviceIDBytes)
            try check(op.s1, "app id", Limits.maxAppIDBytes)
            try check(op.s2, "token", Limits.maxTokenBytes)
            if op.c & 1 != 0 { try check(op.s3, "user id", Limits.maxUserIDBytes) }
        case .restoreUser: try check(op.s0, "user id", Limits.maxUserIDBytes)
        case .restoreChange: try Validate.changeEntry(user: op.s0, device: op.s1, app: op.s2, token: op.s3, other: op.s4, detail: op.s5)
        case .addBounceCounts, .purgeTombstones: break  // only numbers, checked where they are applied
        }
        do {
            switch op.code {
            case .register: _ = try register(op, logging: false)
            case .changeUser: _ = try changeUser(op, logging: false)
            case .setAuthorization: _ = try setAuthorization(op, logging: false)
            case .setSubscription: _ = try setSubscription(op, logging: false)
            case .bounce: _ = try bounce(op, logging: false)
            case .uninstall: _ = try uninstall(op, logging: false)
            case .expire: _ = try expire(op, logging: false)
            case .restoreKey: _ = try restoreKey(op, logging: false)
            case .restoreUser: _ = try restoreUser(op, logging: false)
            case .restoreChange: _ = try restoreChange(op, logging: false)
            case .addBounceCounts: _ = try addBounceCounts(op, logging: false)
            case .purgeTombstones: _ = try purgeTombstones(op, logging: false)
            case .restoreTombstone: _ = try restoreTombstone(op, logging: false)
            }
        } catch let error as TokenStoreError where error.code == .notFound {
            // Not-found outcomes are never logged; nothing to do.
        }
    }

    static var none: Bytes { Bytes(start: nil, count: 0) }

    func register(_ op: Operation, logging: Bool) throws -> (WriteOutcome, UInt64) {
        let device = op.s0, app = op.s1, token = op.s2, user = op.s3, hasUser = op.c != 0
        guard let platform = Platform(rawValue: op.a), let authorization = Authorization(rawValue: op.b) else {
            throw TokenStoreError(.invalidArgument, "unknown platform or authorization")
        }
        let keyHash = Registry.keyHash(device, app), tokenHash = Registry.tokenHash(token), userHash = Registry.userHash(user)
        var initial = ShardSet(store.shard(of: keyHash), store.shard(of: tokenHash))
        if hasUser { initial.insert(store.shard(of: userHash)) }
        return try locked(initial, exclusive: true) { scope in
            // The key's, the token's and the owner's misses, together (see `touch`).
            Heap.keep(
                touch(keyHash, .key) &+ touch(tokenHash, .token)
                    &+ (hasUser ? touch(userHash, .user) : 0))
            // The owner's newest changelog entry, which the registration's entry links from.
            if hasUser, let owner = try findUser(user, hash: userHash)?.record {
                Heap.keep(shard(userHash).changes.touch(owner.newestChange))
            }
            let found = try findKeyOrTombstone(device, app, hash: keyHash)
            let existing = found.key
            if let e = existing?.record { _ = try checked(e) }
            if let e = existing?.record, op.at < e.eventAt { return (.stale, 0) }
            // A removal's tombstone: a registration older than the removal is stale.
            let tombstone = found.tombstone
            if let t = tombstone, refuses(t, in: shard(keyHash), at: op.at) { return (.stale, 0) }
            var deadMark: DeadMark?
            let holder = try findToken(token, hash: tokenHash, scope: &scope, deadMark: &deadMark, lookingForDeadMark: true)
            if let h = holder?.record { _ = try checked(h) }
            // A bounced token stays dead on every key for registrations older than the bounce.
            if let d = deadMark, refuses(d.tombstone, in: store.pages(ofShard: d.shard), at: op.at) { return (.stale, 0) }
            if let e = existing?.record {
                if e.user.count > 0 { try scope.require(store.shard(of: Registry.userHash(e.user))) }
                try scope.require(store.shard(of: e.tokenHash))
            }
            if let t = tombstone, t.isBounced { try scope.require(store.shard(of: t.tokenHash)) }
            let holderIsElsewhere = holder.map { $0.record.offset != existing?.record.offset || keyShardNumber($0.record) != store.shard(of: keyHash) } ?? false
            if holderIsElsewhere, let h = holder?.record, h.user.count > 0 {
                try scope.require(store.shard(of: Registry.userHash(h.user)))
            }
            try reserve(scope)
            let lsn = try logAndApply(op, logging: logging) {
                // The registration is at or after the removal (or the tombstone expired): it
                // reinstalls, and the tombstone and the token's dead mark go.
                if let t = tombstone { try removeTombstone(t) }
                if let d = deadMark, d.tombstone.offset != tombstone?.offset || d.shard != store.shard(of: keyHash) {
                    clearDeadMark(d)
                }
                // Copied: the key's current owner may be freed below with its record.
                let newOwner: [UInt8] = hasUser ? Array(user) : Array(existing?.record.user ?? Registry.none)
                // The token moves here from another key: it is never duplicated.
                var movedFrom: [UInt8] = []
                if holderIsElsewhere, let h = holder?.record {
                    movedFrom = Array(h.user)
                    let hDevice = Array(h.device), hApp = Array(h.app)
                    try removeKey(h)
                    if movedFrom != newOwner {
                        try Registry.withBytes(movedFrom, hDevice, hApp, newOwner) { o, d, a, n in
                            try appendChange(to: o, .movedOut, at: op.at, device: d, app: a, token: token, other: n)
                        }
                    }
                }
                guard let e = existing?.record else {
                    try Registry.withBytes(newOwner, movedFrom, [], []) { n, from, _, _ in
                        let (_, owner) = try insertKey(KeyFields(device: device, app: app, token: token, user: n, platform: platform,
                            authorization: authorization, created: op.at, updated: op.at, event: op.at))
                        guard let owner else { return }
                        if from.count > 0 && !equalBytes(from, n) {
                            try appendChange(to: owner, .movedIn, at: op.at, device: device, app: app, token: token, other: from)
                        } else {
                            try appendChange(to: owner, .registered, at: op.at, device: device, app: app, token: token)
                        }
                    }
                    return
                }
                let sameToken = equalBytes(e.token, token)
                let sameOwner = newOwner.withUnsafeBytes { equalBytes($0, e.user) }
                let authorizationChanged = e.authorization != authorization
                if sameToken && sameOwner {
                    try updateKey(e, platform: platform, authorization: authorization, quarantined: false, updated: op.at, event: op.at)
                } else {
                    let created = e.createdAt, failures = sameToken ? e.failures : 0
                    let oldOwner = Array(e.user), oldToken = Array(e.token)
                    try removeKey(e)
                    try Registry.withBytes(newOwner, oldOwner, oldToken, []) { n, o, t, _ in
                        try insertKey(KeyFields(device: device, app: app, token: token, user: n, platform: platform,
                            authorization: authorization, failures: failures, created: created, updated: op.at, event: op.at))
                        if !sameOwner {
                            // The key's token moves with the device to the new owner, as in changeUser.
                            try appendChange(to: o, .movedOut, at: op.at, device: device, app: app, token: t, other: n)
                            try appendChange(to: n, .movedIn, at: op.at, device: device, app: app, token: t, other: o)
                        }
                    }
                }
                try newOwner.withUnsafeBytes { n in
                    if !sameToken {
                        try appendChange(to: n, .tokenReplaced, at: op.at, device: device, app: app, token: token)
                    } else if authorizationChanged {
                        try appendChange(to: n, .authorizationChanged, at: op.at, device: device, app: app, token: token,
                            detail: Registry.name(authorization))
                    }
                }
            }
            return (.applied, lsn)
        }
    }

    func changeUser(_ op: Operation, logging: Bool) throws -> (WriteOutcome, UInt64) {
        let device = op.s0, app = op.s1, user = op.c != 0 ? op.s2 : Registry.none
        let keyHash = Registry.keyHash(device, app)
        let userHash = Registry.userHash(user)
        var initial = ShardSet(store.shard(of: keyHash))
        if user.count > 0 { initial.insert(store.shard(of: userHash)) }
        return try locked(initial, exclusive: true) { scope in
            // The key's and the new owner's misses, together; then the old owner's with the
            // new owner's entry and changelog lines (see `touch`).
            let keyShard = shard(keyHash), userShard = shard(userHash)
            Heap.keep(touch(keyHash, .key) &+ (user.count > 0 ? touch(userHash, .user) : 0))
            guard let found = try findKey(device, app, hash: keyHash, in: keyShard)?.record else {
                if try tombstoneRefuses(device, app, hash: keyHash, at: op.at) { return (.stale, 0) }
                throw TokenStoreError(.notFound, "no token for that device and app")
            }
            let e = try checked(found)
            if op.at < e.eventAt { return (.stale, 0) }
            let oldUserHash = Registry.userHash(e.user)
            if e.user.count > 0 { try scope.require(store.shard(of: oldUserHash)) }
            try scope.require(store.shard(of: e.tokenHash))
            try reserve(scope)
            let keyRef = Ref(kind: .key, shard: keyShard.number, offset: e.offset)
            if !equalBytes(e.user, user) {
                let oldShard = shard(oldUserHash)
                var warm = e.user.count > 0 ? touch(oldUserHash, .user) : 0
                if user.count > 0, let new = try findUser(user, hash: userHash)?.record {
                    warm &+= touchEntryAndChangelog(of: new, keyRef, in: userShard)
                }
                Heap.keep(warm)
                if e.user.count > 0, let old = try findUser(e.user, hash: oldUserHash)?.record {
                    Heap.keep(touchEntryAndChangelog(of: old, keyRef, in: oldShard))
                }
            }
            let lsn = try logAndApply(op, logging: logging) {
                if equalBytes(e.user, user) {
                    try updateKey(e, event: op.at)
                    return
                }
                let start = KeyRecord.fixedSize + e.u16(48) + e.u16(50) + e.u16(52)
                if start + user.count <= e.capacity {
                    // In place: the key, its token entry and its block stay where they are.
                    if e.user.count > 0, let old = try removeUserEntry(e.user, ref: keyRef, app: app) {
                        try appendChange(to: old, .movedOut, at: op.at, device: device, app: app, token: e.token, other: user)
                    }
                    if user.count > 0, let new = try addUserEntry(user, ref: keyRef, app: app, flags: e.entryFlags) {
                        try appendChange(to: new, .movedIn, at: op.at, device: device, app: app, token: e.token, other: e.user)
                    }
                    _ = changeOwnerInPlace(e, to: user)
                    try updateKey(e, event: op.at)
                    return
                }
                let oldOwner = Array(e.user), token = Array(e.token)
                let fields = KeyFields(device: device, app: app, token: Registry.none, user: user, platform: e.platform,
                    authorization: e.authorization, quarantined: e.isQuarantined, failures: e.failures,
                    created: e.createdAt, updated: e.updatedAt, event: op.at)
                try removeKey(e)
                try token.withUnsafeBytes { t in
                    var f = fields
                    f.token = t
                    let (_, new) = try insertKey(f)
                    try oldOwner.withUnsafeBytes { o in
                        try appendChange(to: o, .movedOut, at: op.at, device: device, app: app, token: t, other: user)
                        if let new {
                            try appendChange(to: new, .movedIn, at: op.at, device: device, app: app, token: t, other: o)
                        }
                    }
                }
            }
            return (.applied, lsn)
        }
    }

    func setAuthorization(_ op: Operation, logging: Bool) throws -> (WriteOutcome, UInt64) {
        let device = op.s0, app = op.s1
        guard let authorization = Authorization(rawValue: op.b) else {
            throw TokenStoreError(.invalidArgument, "unknown authorization")
        }
        let keyHash = Registry.keyHash(device, app)
        return try locked(ShardSet(store.shard(of: keyHash)), exclusive: true) { scope in
            guard let e = try findKey(device, app, hash: keyHash)?.record else {
                if try tombstoneRefuses(device, app, hash: keyHash, at: op.at) { return (.stale, 0) }
                throw TokenStoreError(.notFound, "no token for that device and app")
            }
            if op.at < e.eventAt { return (.stale, 0) }
            if e.user.count > 0 { try scope.require(store.shard(of: Registry.userHash(e.user))) }
            try reserve(scope)
            let lsn = try logAndApply(op, logging: logging) {
                let changed = e.authorization != authorization
                try updateKey(e, authorization: authorization, event: op.at)
                if changed {
                    try appendChange(to: e.user, .authorizationChanged, at: op.at, device: device, app: app, token: e.token,
                        detail: Registry.name(authorization))
                }
            }
            return (.applied, lsn)
        }
    }

    func setSubscription(_ op: Operation, logging: Bool) throws -> (WriteOutcome, UInt64) {
        let user = op.s0
        guard let subscription = Subscription(rawValue: op.a) else {
            throw TokenStoreError(.invalidArgument, "unknown subscription")
        }
        let userHash = Registry.userHash(user)
        return try locked(ShardSet(store.shard(of: userHash)), exclusive: true) { scope in
            if let u = try findUser(user, hash: userHash)?.record, op.at < u.subscriptionEventAt { return (.stale, 0) }
            try reserve(scope)
            let lsn = try logAndApply(op, logging: logging) {
                guard let (_, record) = try self.user(user, create: true) else { return }
                let changed = record.subscription != subscription
                try setSubscription(record, subscription, at: op.at)
                if changed {
                    try appendChange(to: user, .subscriptionChanged, at: op.at, device: Registry.none, app: Registry.none,
                        token: Registry.none, detail: Registry.name(subscription))
                }
            }
            return (.applied, lsn)
        }
    }

    func bounce(_ op: Operation, logging: Bool) throws -> (BounceResult, UInt64) {
        let token = op.s0, code = op.s1, providerTime: Int64? = op.c != 0 ? op.aux : nil
        let tokenHash = Registry.tokenHash(token)
        let category = BounceClassifier.classify(String(decoding: code, as: UTF8.self))
        return try locked(ShardSet(store.shard(of: tokenHash)), exclusive: true) { scope in
            guard let found = try findToken(token, hash: tokenHash, scope: &scope)?.record else {
                throw TokenStoreError(.notFound, "no key holds that token")
            }
            let e = try checked(found)
            let userHash = Registry.userHash(e.user)
            if e.user.count > 0 { try scope.require(store.shard(of: userHash)) }
            let removing = category == .dead || (category == .misconfigured && !quarantineMisconfigured)
            let quarantining = category == .misconfigured && quarantineMisconfigured
            let outcome: BounceOutcome
            if (removing || quarantining), let providerTime, e.updatedAt > providerTime {
                outcome = .stale
            } else {
                outcome = removing ? .removed : quarantining ? .quarantined : .kept
            }
            try reserve(scope)
            let keyHash = Registry.keyHash(e.device, e.app)
            let keyShard = shard(keyHash)
            if outcome == .removed || outcome == .quarantined {
                // The key's slot and the owner's record, together; then the owner's entry and
                // changelog lines (see `touch`).
                let userShard = shard(userHash)
                Heap.keep(touch(keyHash, .key) &+ (e.user.count > 0 ? touch(userHash, .user) : 0))
                if e.user.count > 0, let owner = try findUser(e.user, hash: userHash)?.record {
                    Heap.keep(touchEntryAndChangelog(of: owner, Ref(kind: .key, shard: keyShard.number, offset: e.offset), in: userShard))
                }
            }
            let keyHeap = keyShard.heap
            let lsn = try logAndApply(op, logging: logging) {
                keyHeap.add(.outcome(outcome), 1)
                keyHeap.add(.category(category), 1)
                switch outcome {
                case .removed:
                    try appendChange(to: e.user, .bounced, at: op.at, device: e.device, app: e.app, token: token, detail: code)
                    try insertTombstone(for: e, at: op.at, bounced: true)
                    try removeKey(e)
                case .quarantined:
                    if !e.isQuarantined {
                        try updateKey(e, quarantined: true)
                        try appendChange(to: e.user, .bounced, at: op.at, device: e.device, app: e.app, token: token, detail: code)
                    }
                case .kept:
                    e.setFailures(e.failures + 1)
                    e.seal()
                case .stale:
                    break
                }
            }
            return (BounceResult(outcome: outcome, category: category), lsn)
        }
    }

    func uninstall(_ op: Operation, logging: Bool) throws -> (WriteOutcome, UInt64) {
        let device = op.s0, app = op.s1
        let keyHash = Registry.keyHash(device, app)
        return try locked(ShardSet(store.shard(of: keyHash)), exclusive: true) { scope in
            guard let e = try findKey(device, app, hash: keyHash)?.record else {
                if try tombstoneRefuses(device, app, hash: keyHash, at: op.at) { return (.stale, 0) }
                throw TokenStoreError(.notFound, "no token for that device and app")
            }
            if op.at < e.eventAt { return (.stale, 0) }
            if e.user.count > 0 { try scope.require(store.shard(of: Registry.userHash(e.user))) }
            try scope.require(store.shard(of: e.tokenHash))
            try reserve(scope)
            let lsn = try logAndApply(op, logging: logging) {
                try appendChange(to: e.user, .uninstalled, at: op.at, device: device, app: app, token: e.token)
                try insertTombstone(for: e, at: op.at, bounced: false)
                try removeKey(e)
            }
            return (.applied, lsn)
        }
    }

    /// Expires one key of a sweep if it is still older than the bound.
    func expire(_ op: Operation, logging: Bool) throws -> (Bool, UInt64) {
        let device = op.s0, app = op.s1, bound = op.aux, platform = Platform(rawValue: op.a)
        let keyHash = Registry.keyHash(device, app)
        return try locked(ShardSet(store.shard(of: keyHash)), exclusive: true) { scope in
            guard let e = try findKey(device, app, hash: keyHash)?.record, e.updatedAt < bound,
                platform == nil || e.platform == platform
            else { return (false, 0) }
            if e.user.count > 0 { try scope.require(store.shard(of: Registry.userHash(e.user))) }
            try scope.require(store.shard(of: e.tokenHash))
            try reserve(scope)
            let lsn = try logAndApply(op, logging: logging) {
                try appendChange(to: e.user, .expired, at: op.at, device: device, app: app, token: e.token)
                try insertTombstone(for: e, at: op.at, bounced: false)
                try removeKey(e)
            }
            return (true, lsn)
        }
    }

    /// Calls `body` with four owned byte arrays as buffers (copies taken before a record
    /// they came from is freed).
    static func withBytes<R>(
        _ a: [UInt8], _ b: [UInt8], _ c: [UInt8], _ d: [UInt8], _ body: (Bytes, Bytes, Bytes, Bytes) throws -> R
    ) throws -> R {
        try a.withUnsafeBytes { a in
            try b.withUnsafeBytes { b in try c.withUnsafeBytes { c in try d.withUnsafeBytes { d in try body(a, b, c, d) } } }
        }
    }

    // MARK: Names written into changelog details

    static func name(_ a: Authorization) -> Bytes { staticBytes(a.description) }
    static func name(_ s: Subscription) -> Bytes { staticBytes(s.description) }

    private static func staticBytes(_ s: String) -> Bytes {
        switch s {
        case "foreground": return bytes(of: "foreground")
        case "provisional": return bytes(of: "provisional")
        case "background": return bytes(of: "background")
        case "subscribed": return bytes(of: "subscribed")
        case "opted_in": return bytes(of: "opted_in")
        default: return bytes(of: "unsubscribed")
        }
    }

    private static func bytes(of s: StaticString) -> Bytes { Bytes(start: s.utf8Start, count: s.utf8CodeUnitCount) }
}
