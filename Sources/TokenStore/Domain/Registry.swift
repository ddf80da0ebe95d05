/// The domain layer over the storage engine: where each entity lives, the lock protocol,
/// and the primitives every operation is built from.
///
/// Placement: a key record lives in the shard of `hash(device, app)`; a token's entry in
/// the shard of `hash(token)`; a user record, its changelog and its per-app counters in the
/// shard of `hash(user)`. An operation locks exactly those shards, in ascending order.
final class Registry: @unchecked Sendable {
    let store: ShardedStore
    let quarantineMisconfigured: Bool
    let changelogLimit: Int
    /// How long a tombstone holds, in milliseconds of event time (fixed at creation).
    let tombstoneRetention: Int64

    init(store: ShardedStore, options: StoreOptions) {
        self.store = store
        self.quarantineMisconfigured = options.quarantineMisconfigured
        self.changelogLimit = options.changelogLimit
        self.tombstoneRetention = options.tombstoneRetention
    }

    // MARK: Hashes

    @inline(__always) static func keyHash(_ device: UnsafeRawBufferPointer, _ app: UnsafeRawBufferPointer) -> UInt64 {
        hash64(device, app)
    }
    @inline(__always) static func tokenHash(_ token: UnsafeRawBufferPointer) -> UInt64 { hash64(token, seed: 0x746F_6B65_6E00) }
    @inline(__always) static func userHash(_ user: UnsafeRawBufferPointer) -> UInt64 { hash64(user, seed: 0x7573_6572_0000) }
    @inline(__always) static func appHash(_ app: UnsafeRawBufferPointer) -> UInt64 { hash64(app, seed: 0x6170_7000_0000) }

    @inline(__always) func shard(_ hash: UInt64) -> ShardPages { store.pages(ofShard: store.shard(of: hash)) }

    // MARK: Locking

    /// Thrown inside a locked section that found it needs a stripe it could not take. The
    /// section has changed nothing; it runs again with the larger set.
    struct NeedMoreLocks: Error {}

    /// The stripes one operation holds, and those it found it needs.
    ///
    /// The lock order is: the checkpoint lock, then stripes in ascending order, then the
    /// log. `require` keeps it: a stripe above every held one is simply locked; one below
    /// is only *tried*, and when another thread holds it the section unwinds and runs again
    /// with every stripe it needs, locked in order. So a write that runs alone never
    /// repeats its lookups.
    struct LockScope {
        fileprivate(set) var held: ShardSet
        fileprivate var wanted = ShardSet()
        fileprivate let locks: StripeLocks
        fileprivate let exclusive: Bool

        @inline(__always) mutating func require(_ shard: Int) throws {
            if held.contains(shard) { return }
            if shard > held.highest {
                exclusive ? locks.lockExclusive(shard) : locks.lockShared(shard)
            } else if !locks.tryLock(shard, exclusive: exclusive) {
                wanted.insert(shard)
                throw NeedMoreLocks()
            }
            held.insert(shard)
        }
    }

    /// Runs `body` with the stripes in `initial` locked, plus those it `require`s; when one
    /// cannot be taken in order, unlocks and runs `body` again with the larger set.
    func locked<R>(_ initial: ShardSet, exclusive: Bool, _ body: (inout LockScope) throws -> R) throws -> R {
        var set = initial
        while true {
            store.locks.lock(set, exclusive: exclusive)
            var scope = LockScope(held: set, locks: store.locks, exclusive: exclusive)
            do {
                // Whatever the outcome, the records the write changed get their checksums
                // before the locks go (a failed write poisons the handle, but reads go on).
                defer {
                    if exclusive { sealQueued(in: scope.held) }
                    store.locks.unlock(scope.held)
                }
                return try body(&scope)
            } catch is NeedMoreLocks {
                set = scope.held
                scope.wanted.forEach { set.insert($0) }
            }
        }
    }

    /// Restamps the checksums of the records that the write holding `shards` changed.
    func sealQueued(in shards: ShardSet) {
        shards.forEach { s in
            let pages = store.pages(ofShard: s)
            Registry.sealQueued(in: pages.heap.file)
            Registry.sealQueued(in: pages.changes.file)
        }
    }

    private static func sealQueued(in file: MappedPages) {
        guard file.hasQueuedSeals else { return }
        file.drainQueuedSeals { offset in
            switch RecordKind(rawValue: file.load(offset + 4)) {
            case .key: KeyRecord(pages: file, offset: offset).sealNow()
            case .user: UserRecord(pages: file, offset: offset).sealNow()
            case .change: ChangeRecord(pages: file, offset: offset).sealNow()
            case .app: AppCounterRecord(pages: file, offset: offset).sealNow()
            case .tombstone: TombstoneRecord(pages: file, offset: offset).sealNow()
            case .free, nil: break  // freed later in the same write
            }
        }
    }

    // MARK: Lookups (stripe locks held)

    /// The key record for `(device, app)` and its index slot.
    func findKey(_ device: UnsafeRawBufferPointer, _ app: UnsafeRawBufferPointer, hash: UInt64) throws -> (slot: Int, record: KeyRecord)? {
        try findKey(device, app, hash: hash, in: shard(hash))
    }

    /// `findKey` in the key's shard, which the caller already holds (batched reads reach it
    /// without a retain).
    @inline(__always)
    func findKey(
        _ device: UnsafeRawBufferPointer, _ app: UnsafeRawBufferPointer, hash: UInt64, in shard: ShardPages
    ) throws -> (slot: Int, record: KeyRecord)? {
        var found: KeyRecord?
        let slot = try shard.index.find(hash) { ref in
            guard ref.kindBits == Ref.Kind.key.rawValue else { return false }
            let r = try keyRecord(ref, in: shard)
            if equalBytes(r.device, device) && equalBytes(r.app, app) {
                found = r
                return true
            }
            return false
        }
        guard let slot, let found else { return nil }
        return (slot, found)
    }

    /// Resolves a reference to a key record, checking that it is plausible before any field
    /// is read: a damaged file gives `corrupt`, never a wild read.
    @inline(__always) func keyRecord(_ ref: Ref, in shard: ShardPages) throws -> KeyRecord {
        guard ref.shard == shard.number, shard.heap.isPlausibleBlock(ref.offset) else {
            throw shard.corrupt("index entry points outside the heap")
        }
        let r = KeyRecord(file: shard.heap.file, offset: ref.offset)
        guard r.isPlausible else { throw shard.corrupt("damaged key record") }
        return r
    }

    // MARK: Overlapped misses (stripe locks held)

    /// Starts the misses of looking up `hash` in its shard without waiting for them
    /// (`ShardPages.touch`): a write touches every record it is about to need before it
    /// resolves any, so that the misses of its independent lookups overlap.
    @inline(__always) func touch(_ hash: UInt64, _ kind: Ref.Kind) -> UInt64 { shard(hash).touch(hash, kind) }

    /// Starts the misses of the lines a change to `record`'s entry for `ref` and an append to
    /// its changelog will read: the entry's home slot and the newest changelog entry.
    @inline(__always) func touchEntryAndChangelog(of record: UserRecord, _ ref: Ref, in shard: ShardPages) -> UInt64 {
        record.touchEntrySlot(of: ref) &+ shard.changes.touch(record.newestChange)
    }

    /// The key record holding `token`, with the token entry's slot in the token's shard.
    /// Requires the key record's stripe, which it adds to `scope` when missing.
    func findToken(_ token: UnsafeRawBufferPointer, hash: UInt64, scope: inout LockScope) throws -> (slot: Int, record: KeyRecord)? {
        var unused: DeadMark?
        return try findToken(token, hash: hash, scope: &scope, deadMark: &unused, lookingForDeadMark: false)
    }

    /// `findToken`, noting on the same probe a removing bounce's dead mark on the token (see
    /// `Registry+Tombstones.swift`) when `lookingForDeadMark`; it takes the tombstone's stripe.
    func findToken(
        _ token: UnsafeRawBufferPointer, hash: UInt64, scope: inout LockScope, deadMark: inout DeadMark?,
        lookingForDeadMark: Bool
    ) throws -> (slot: Int, record: KeyRecord)? {
        let tokenShard = shard(hash)
        while true {
            var found: KeyRecord?
            var missing: Int?
            var mark: DeadMark?
            let held = scope.held
            let slot = try tokenShard.index.find(hash) { ref in
                guard ref.kindBits == Ref.Kind.token.rawValue else {
                    guard lookingForDeadMark, ref.kindBits == Ref.Kind.deadToken.rawValue else { return false }
                    guard ref.shard < store.shards.count else { throw tokenShard.corrupt("dead-token entry names a missing shard") }
                    guard held.contains(ref.shard) else {
                        missing = ref.shard
                        return true
                    }
                    let t = try tombstoneRecord(ref.with(kind: .tombstone), in: store.pages(ofShard: ref.shard))
                    if t.tokenHash == hash, mark.map({ $0.tombstone.eventAt < t.eventAt }) ?? true {
                        mark = DeadMark(tombstone: t, shard: ref.shard)
                    }
                    return false
                }
                guard ref.shard < store.shards.count else { throw tokenShard.corrupt("token entry names a missing shard") }
                guard held.contains(ref.shard) else {
                    missing = ref.shard
                    return true
                }
                let r = try keyRecord(ref.with(kind: .key), in: store.pages(ofShard: ref.shard))
                if equalBytes(r.token, token) {
                    found = r
                    return true
                }
                return false
            }
            // A candidate in a stripe not held: take it (or unwind, see `require`) and probe again.
            if let missing {
                try scope.require(missing)
                continue
            }
            deadMark = mark
            guard let slot, let found else { return nil }
            return (slot, found)
        }
    }

    /// The user record and its slot.
    func findUser(_ user: UnsafeRawBufferPointer, hash: UInt64) throws -> (slot: Int, record: UserRecord)? {
        let shard = self.shard(hash)
        var found: UserRecord?
        let slot = try shard.index.find(hash) { ref in
            guard ref.kindBits == Ref.Kind.user.rawValue else { return false }
            guard ref.shard == shard.number, shard.heap.isPlausibleBlock(ref.offset) else {
                throw shard.corrupt("index entry points outside the heap")
            }
            let r = UserRecord(file: shard.heap.file, offset: ref.offset)
            guard r.isPlausible else { throw shard.corrupt("damaged user record") }
            if equalBytes(r.user, user) {
                found = r
                return true
            }
            return false
        }
        guard let slot, let found else { return nil }
        return (slot, found)
    }

    /// The per-app counter of `app` in `shard`.
    func findAppCounter(_ app: UnsafeRawBufferPointer, hash: UInt64, in shard: ShardPages) throws -> AppCounterRecord? {
        var found: AppCounterRecord?
        _ = try shard.index.find(hash) { ref in
            guard ref.kindBits == Ref.Kind.app.rawValue else { return false }
            guard ref.shard == shard.number, shard.heap.isPlausibleBlock(ref.offset) else {
                throw shard.corrupt("index entry points outside the heap")
            }
            let r = AppCounterRecord(file: shard.heap.file, offset: ref.offset)
            guard r.isPlausible else { throw shard.corrupt("damaged app counter") }
            if equalBytes(r.app, app) {
                found = r
                return true
            }
            return false
        }
        return found
    }

    /// A key record a write is about to rewrite or copy from: its checksum must hold, so that
    /// damage is reported instead of being copied into a fresh, correctly sealed record.
    @inline(__always) func checked(_ record: KeyRecord) throws -> KeyRecord {
        guard record.isSealed else {
            throw TokenStoreError(.corrupt, "\(Shard.heapName(keyShardNumber(record))): key record at \(record.offset) fails its checksum")
        }
        return record
    }

    /// Makes room in every held stripe for one operation's writes, before it is logged.
    func reserve(_ scope: LockScope, extraBytes: Int = 0) throws {
        let bytes = (48 << 10) + extraBytes
        try scope.held.forEach { s in
            guard !store.pages(ofShard: s).hasRoom(slots: 8, bytes: bytes) else { return }
            do { try store.shards[s].reserve(slots: 8, bytes: bytes) } catch {
                throw TokenStoreError(converting: error)
            }
        }
    }

    /// Logs `op` (unless replaying) and applies it with `apply`. A failure inside `apply`
    /// after the log record exists poisons the handle; reopening recovers from the log.
    func logAndApply(_ op: Operation, logging: Bool, _ apply: () throws -> Void) throws -> UInt64 {
        var lsn: UInt64 = 0
        if logging {
            lsn = try store.log(length: op.encodedLength) { op.encode(into: $0) }
        }
        do { try apply() } catch {
            store.poison()
            throw error
        }
        return lsn
    }
}
