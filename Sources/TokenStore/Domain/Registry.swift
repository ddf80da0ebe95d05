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

    init(store: ShardedStore, options: StoreOptions) {
        self.store = store
        self.quarantineMisconfigured = options.quarantineMisconfigured
        self.changelogLimit = options.changelogLimit
    }

    // MARK: Hashes

    @inline(__always) static func keyHash(_ device: UnsafeRawBufferPointer, _ app: UnsafeRawBufferPointer) -> UInt64 {
        hash64(device, app)
    }
    @inline(__always) static func tokenHash(_ token: UnsafeRawBufferPointer) -> UInt64 { hash64(token, seed: 0x746F_6B65_6E00) }
    @inline(__always) static func userHash(_ user: UnsafeRawBufferPointer) -> UInt64 { hash64(user, seed: 0x7573_6572_0000) }
    @inline(__always) static func appHash(_ app: UnsafeRawBufferPointer) -> UInt64 { hash64(app, seed: 0x6170_7000_0000) }

    @inline(__always) func shard(_ hash: UInt64) -> Shard { store.shards[store.shard(of: hash)] }

    // MARK: Locking

    /// Thrown inside a locked section that found it needs a stripe it does not hold. The
    /// section has changed nothing; it runs again with the larger set.
    struct NeedMoreLocks: Error {}

    /// The stripes one operation holds, and those it found it needs.
    struct LockScope {
        fileprivate(set) var held: ShardSet
        fileprivate var wanted = ShardSet()

        @inline(__always) mutating func require(_ shard: Int) throws {
            if !held.contains(shard) {
                wanted.insert(shard)
                throw NeedMoreLocks()
            }
        }
    }

    /// Runs `body` with the stripes in `initial` locked, growing the set and retrying when
    /// `body` discovers (by reading under the locks) that it needs more.
    func locked<R>(_ initial: ShardSet, exclusive: Bool, _ body: (inout LockScope) throws -> R) throws -> R {
        var set = initial
        while true {
            var scope = LockScope(held: set)
            do {
                return try store.locks.with(set, exclusive: exclusive) { try body(&scope) }
            } catch is NeedMoreLocks {
                scope.wanted.forEach { set.insert($0) }
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
        _ device: UnsafeRawBufferPointer, _ app: UnsafeRawBufferPointer, hash: UInt64, in shard: Shard
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
    @inline(__always) func keyRecord(_ ref: Ref, in shard: Shard) throws -> KeyRecord {
        guard ref.shard == shard.number, shard.heap.isPlausibleBlock(ref.offset) else {
            throw shard.corrupt("index entry points outside the heap")
        }
        let r = KeyRecord(file: shard.heap.file, offset: ref.offset)
        guard r.isPlausible else { throw shard.corrupt("damaged key record") }
        return r
    }

    /// The key record holding `token`, with the token entry's slot in the token's shard.
    /// Requires the key record's stripe, which it adds to `scope` when missing.
    func findToken(_ token: UnsafeRawBufferPointer, hash: UInt64, scope: inout LockScope) throws -> (slot: Int, record: KeyRecord)? {
        let tokenShard = shard(hash)
        var found: KeyRecord?
        var missing: Int?
        let slot = try tokenShard.index.find(hash) { ref in
            guard ref.kindBits == Ref.Kind.token.rawValue else { return false }
            guard ref.shard < store.shards.count else { throw tokenShard.corrupt("token entry names a missing shard") }
            guard scope.held.contains(ref.shard) else {
                missing = ref.shard
                return true
            }
            let r = try keyRecord(ref.with(kind: .key), in: store.shards[ref.shard])
            if equalBytes(r.token, token) {
                found = r
                return true
            }
            return false
        }
        if let missing { try scope.require(missing) }
        guard let slot, let found else { return nil }
        return (slot, found)
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
    func findAppCounter(_ app: UnsafeRawBufferPointer, hash: UInt64, in shard: Shard) throws -> AppCounterRecord? {
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
        try scope.held.forEach { s in
            do { try store.shards[s].reserve(slots: 8, bytes: (48 << 10) + extraBytes) } catch {
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
