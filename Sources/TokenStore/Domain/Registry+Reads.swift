/// The read paths: zero-copy views under shared stripe locks.
extension Registry {
    @inline(__always) func view(_ r: KeyRecord) -> TokenView {
        TokenView(
            deviceID: r.device, appID: r.app, token: r.token, userID: r.user, platform: r.platform,
            authorization: r.authorization, isQuarantined: r.isQuarantined, createdAt: r.createdAt, updatedAt: r.updatedAt,
            eventAt: r.eventAt, keptBounces: r.failures)
    }

    func withKey<R>(_ device: Bytes, _ app: Bytes, _ body: (TokenView) throws -> R) throws -> R? {
        let keyHash = Registry.keyHash(device, app)
        let s = store.shard(of: keyHash)
        store.locks.lockShared(s)
        defer { store.locks.unlock(s) }
        guard let (_, record) = try findKey(device, app, hash: keyHash) else { return nil }
        return try body(view(record))
    }

    /// Calls `body` with each of the user's tokens; `false` stops. Returns false for an
    /// unknown user.
    func forEachToken(ofUser user: Bytes, _ body: (TokenView, Subscription) throws -> Bool) throws {
        let userHash = Registry.userHash(user)
        try locked(ShardSet(store.shard(of: userHash)), exclusive: false) { scope in
            guard let (_, record) = try findUser(user, hash: userHash) else { return }
            try record.forEachEntry { ref, _ in
                guard ref.shard < store.shards.count else { throw shard(userHash).corrupt("user entry names a missing shard") }
                try scope.require(ref.shard)
                return true
            }
            let subscription = record.subscription
            try record.forEachEntry { ref, _ in try body(view(try keyRecord(ref, in: store.pages(ofShard: ref.shard))), subscription) }
        }
    }

    func userState(_ user: Bytes) throws -> UserState? {
        let userHash = Registry.userHash(user)
        let s = store.shard(of: userHash)
        store.locks.lockShared(s)
        defer { store.locks.unlock(s) }
        return try findUser(user, hash: userHash)?.record.state
    }

    func forEachChange(ofUser user: Bytes, _ body: (ChangeView) throws -> Bool) throws {
        let userHash = Registry.userHash(user)
        let s = store.shard(of: userHash)
        store.locks.lockShared(s)
        defer { store.locks.unlock(s) }
        guard let (_, record) = try findUser(user, hash: userHash) else { return }
        try forEachChange(of: record, body)
    }

    // MARK: Whole-store reads, one stripe at a time

    func sum(_ counters: Counter...) -> [Int] {
        var totals = [Int](repeating: 0, count: counters.count)
        for (i, shard) in store.allPages.enumerated() {
            store.locks.lockShared(i)
            for (j, c) in counters.enumerated() { totals[j] &+= Int(shard.heap.counter(c)) }
            store.locks.unlock(i)
        }
        return totals
    }

    func count(_ segment: Segment) throws -> Int {
        switch segment {
        case .foregroundPushEnabled: return sum(.foregroundEnabledUsers)[0]
        case .backgroundOrForegroundPushEnabled: return sum(.anyEnabledUsers)[0]
        case .subscription(let s): return sum(.subscription(s))[0]
        case .foregroundPushEnabledForApp(let app):
            var app = app
            return try app.withUTF8 { app in
                let hash = Registry.appHash(UnsafeRawBufferPointer(app))
                var total = 0
                for (i, shard) in store.allPages.enumerated() {
                    store.locks.lockShared(i)
                    defer { store.locks.unlock(i) }
                    total &+= Int(try findAppCounter(UnsafeRawBufferPointer(app), hash: hash, in: shard)?.count ?? 0)
                }
                return total
            }
        }
    }

    /// Streams the users of a segment, one stripe at a time, straight from the index.
    func forEachUser(in segment: Segment, _ body: (Bytes) throws -> Bool) throws {
        let appHash = Registry.appHash(of: segment)
        let slots = UserRecord.SlotFilter(segment, foregroundEnabled: false)
        for (i, shard) in store.allPages.enumerated() {
            store.locks.lockShared(i)
            defer { store.locks.unlock(i) }
            guard try forEachMember(of: segment, appHash: appHash, in: shard, slots: slots, { try body($0.user) }) else { return }
        }
    }

    /// The app hash a segment's membership test needs: its app's for the per-app segment,
    /// any value for the others (which never read it).
    static func appHash(of segment: Segment) -> UInt64 {
        guard case .foregroundPushEnabledForApp(var app) = segment else { return 0 }
        return app.withUTF8 { Registry.appHash(UnsafeRawBufferPointer($0)) }
    }

    /// Calls `body` with each user record of `shard` that belongs to `segment` and whose index
    /// slot `slots` keeps, straight from the index. The caller holds the shard's lock.
    ///
    /// User records are visited in batches, in three steps: gather the batch's offsets from the
    /// index; touch every record's header (the plausibility check reads it) and the lines its
    /// entries sit on, in a tight loop of independent loads, so that the CPU overlaps their
    /// cache misses instead of waiting for each in turn; then read them. The index holds keys
    /// and tokens too, so the users' slots are far apart: touching while scanning would leave
    /// too few loads in flight. Nothing is allocated: the batch is on the stack.
    /// - Returns: false when `body` stopped the scan.
    @inline(__always)
    func forEachMember(
        of segment: Segment, appHash: UInt64, in shard: ShardPages, slots: UserRecord.SlotFilter,
        _ body: (UserRecord) throws -> Bool
    ) throws -> Bool {
        let batchSize = 32
        return try withUnsafeTemporaryAllocation(of: Int.self, capacity: batchSize) { batch in
            let index = shard.index, heap = shard.heap
            let capacity = index.capacity
            var slot = 0
            while slot < capacity {
                var n = 0
                // Branch-free: every slot's offset is written, and kept only when the filter
                // keeps the slot, since which slots match is too random to predict.
                while n < batchSize && slot < capacity {
                    let ref = index.ref(at: slot)
                    batch[n] = ref.offset
                    n &+= slots.keeps(ref.raw) ? 1 : 0
                    slot &+= 1
                }
                var touched: UInt64 = 0
                for k in 0..<n {
                    guard heap.isPlausibleBlock(batch[k]) else { throw shard.corrupt("index entry points outside the heap") }
                    // The membership counts sit at bytes 72–80 and the app slots after the
                    // padded id: on the next line or the one after, as the block's alignment falls.
                    touched &+= heap.touch(batch[k] + 64) &+ heap.touch(batch[k] + 128)
                }
                Heap.keep(touched)
                for k in 0..<n {
                    let user = UserRecord(file: heap.file, offset: batch[k])
                    guard user.isPlausible else { throw shard.corrupt("damaged user record") }
                    if user.isMember(of: segment, appHash: appHash), try !body(user) { return false }
                }
            }
            return true
        }
    }

    func forEachKeyRecord(_ body: (TokenView) throws -> Bool) throws {
        for (i, shard) in store.allPages.enumerated() {
            store.locks.lockShared(i)
            defer { store.locks.unlock(i) }
            for slot in 0..<shard.index.capacity where shard.index.hash(at: slot) != 0 {
                let ref = shard.index.ref(at: slot)
                guard ref.kindBits == Ref.Kind.key.rawValue else { continue }
                if try !body(view(try keyRecord(ref, in: shard))) { return }
            }
        }
    }

    func forEachUserRecord(_ body: (Bytes, UserState) throws -> Bool) throws {
        for (i, shard) in store.allPages.enumerated() {
            store.locks.lockShared(i)
            defer { store.locks.unlock(i) }
            guard try userRecords(in: shard, { try body($0.user, $0.state) }) else { return }
        }
    }

    /// Calls `body` with each key record of `shard`, resolved and checked. The caller holds
    /// the shard's lock.
    func keyRecords(in shard: ShardPages, _ body: (KeyRecord) throws -> Void) throws {
        for slot in 0..<shard.index.capacity where shard.index.hash(at: slot) != 0 {
            let ref = shard.index.ref(at: slot)
            if ref.kindBits == Ref.Kind.key.rawValue { try body(try keyRecord(ref, in: shard)) }
        }
    }

    /// Calls `body` with each user record of `shard`, checked to be plausible, until it
    /// returns false; returns whether it ran to the end. The caller holds the shard's lock.
    func userRecords(in shard: ShardPages, _ body: (UserRecord) throws -> Bool) throws -> Bool {
        for slot in 0..<shard.index.capacity where shard.index.hash(at: slot) != 0 {
            let ref = shard.index.ref(at: slot)
            guard ref.kindBits == Ref.Kind.user.rawValue else { continue }
            guard shard.heap.isPlausibleBlock(ref.offset) else { throw shard.corrupt("index entry points outside the heap") }
            let user = UserRecord(file: shard.heap.file, offset: ref.offset)
            guard user.isPlausible else { throw shard.corrupt("damaged user record") }
            if try !body(user) { return false }
        }
        return true
    }
}
