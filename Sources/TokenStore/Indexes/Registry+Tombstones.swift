/// Tombstones: what a removal leaves so that a late write cannot bring the token back
/// (DOMAIN.md "Edge cases"; the rules are in the README's domain section).
///
/// A tombstone lives in its key's shard under the key's hash, with its own entry kind, so
/// that every reader of key records (reads, segments, campaigns, exports, backups) passes it
/// by without a test. A removing bounce's tombstone also has an entry under the token's hash
/// in the token's shard, which `register` meets on the probe it already makes for the token.
///
/// Invariants: a key has a live record or a tombstone, never both; a token has a dead mark
/// only while no key holds it (a registration at or after the bounce clears the mark).
///
/// Retention is measured against each shard's `tombstoneClock`, the latest removal or sweep
/// it applied: a tombstone older than the clock by more than the retention is expired, acts
/// nowhere and is dropped by the next registration that meets it or the next sweep. The clock moves
/// only in logged writes, so replay judges every write as it was judged live.
extension Registry {
    /// A key's live record or its tombstone, as a write finds them in one probe.
    struct KeyOrTombstone {
        /// As `findKey` returns it.
        var key: (slot: Int, record: KeyRecord)?
        var tombstone: TombstoneRecord?
    }

    /// A bounced token's dead mark: the tombstone, and the shard that holds it.
    struct DeadMark {
        var tombstone: TombstoneRecord
        var shard: Int
    }

    /// The key's record or tombstone, in one probe of the key's shard.
    @inline(__always)
    func findKeyOrTombstone(_ device: Bytes, _ app: Bytes, hash: UInt64) throws -> KeyOrTombstone {
        let shard = self.shard(hash)
        var key: KeyRecord?
        var out = KeyOrTombstone()
        let slot = try shard.index.find(hash) { ref in
            if ref.kindBits == Ref.Kind.key.rawValue {
                let r = try keyRecord(ref, in: shard)
                guard equalBytes(r.device, device) && equalBytes(r.app, app) else { return false }
                key = r
                return true
            }
            guard ref.kindBits == Ref.Kind.tombstone.rawValue else { return false }
            let t = try tombstoneRecord(ref, in: shard)
            guard equalBytes(t.device, device) && equalBytes(t.app, app) else { return false }
            out.tombstone = t
            return true
        }
        if let slot, let key { out.key = (slot, key) }
        return out
    }

    /// The key's tombstone, when it has one (callers have found no live record).
    func findTombstone(_ device: Bytes, _ app: Bytes, hash: UInt64) throws -> TombstoneRecord? {
        let shard = self.shard(hash)
        var found: TombstoneRecord?
        _ = try shard.index.find(hash) { ref in
            guard ref.kindBits == Ref.Kind.tombstone.rawValue else { return false }
            let t = try tombstoneRecord(ref, in: shard)
            guard equalBytes(t.device, device) && equalBytes(t.app, app) else { return false }
            found = t
            return true
        }
        return found
    }

    /// Whether the key's tombstone makes a write at `at` stale (for the writes that need a
    /// live key, which ask only when they found none).
    func tombstoneRefuses(_ device: Bytes, _ app: Bytes, hash: UInt64, at: Int64) throws -> Bool {
        guard let t = try findTombstone(device, app, hash: hash) else { return false }
        return refuses(t, in: shard(hash), at: at)
    }

    /// Resolves a reference to a tombstone, checking that it is plausible before any field
    /// is read, as `keyRecord` does.
    func tombstoneRecord(_ ref: Ref, in shard: ShardPages) throws -> TombstoneRecord {
        guard ref.shard == shard.number, shard.heap.isPlausibleBlock(ref.offset) else {
            throw shard.corrupt("index entry points outside the heap")
        }
        let t = TombstoneRecord(file: shard.heap.file, offset: ref.offset)
        guard t.isPlausible else { throw shard.corrupt("damaged tombstone") }
        return t
    }

    /// Whether the retention has run out for `t`, by the clock of `shard` (which holds it).
    func isExpired(_ t: TombstoneRecord, in shard: ShardPages) -> Bool {
        let (bound, overflow) = shard.heap.counter(.tombstoneClock).subtractingReportingOverflow(tombstoneRetention)
        return !overflow && t.eventAt < bound
    }

    /// Whether `t` makes a write at `at` stale: the write is older than the removal, and the
    /// tombstone has not expired.
    func refuses(_ t: TombstoneRecord, in shard: ShardPages, at: Int64) -> Bool {
        at < t.eventAt && !isExpired(t, in: shard)
    }

    /// Leaves a tombstone for a key that a removal is about to take away; call it before
    /// `removeKey`, which frees the strings it copies. The key's shard, and for a bounce the
    /// token's shard, are held.
    func insertTombstone(for record: KeyRecord, at: Int64, bounced: Bool) throws {
        try writeTombstone(
            keyHash: Registry.keyHash(record.device, record.app), sizes: (record.device.count, record.app.count),
            tokenHash: record.tokenHash, at: at, bounced: bounced) { (record.device, record.app) }
    }

    /// Writes a tombstone as a backup gives it (`restoreTombstone`).
    func insertTombstone(device: Bytes, app: Bytes, tokenHash: UInt64, at: Int64, bounced: Bool) throws {
        try writeTombstone(
            keyHash: Registry.keyHash(device, app), sizes: (device.count, app.count), tokenHash: tokenHash, at: at,
            bounced: bounced) { (device, app) }
    }

    /// `strings` gives the device and app once the block is allocated: an allocation may
    /// move the heap's mapping, and with it a record's strings.
    private func writeTombstone(
        keyHash: UInt64, sizes: (device: Int, app: Int), tokenHash: UInt64, at: Int64, bounced: Bool,
        strings: () -> (Bytes, Bytes)
    ) throws {
        let keyShard = shard(keyHash)
        let offset = try keyShard.heap.allocate(TombstoneRecord.size(device: sizes.device, app: sizes.app))
        let (device, app) = strings()
        _ = TombstoneRecord.write(keyShard.heap.file, at: offset, device: device, app: app, tokenHash: tokenHash, eventAt: at, bounced: bounced)
        let ref = Ref(kind: .tombstone, shard: keyShard.number, offset: offset)
        keyShard.index.insert(keyHash, ref)
        if bounced { shard(tokenHash).index.insert(tokenHash, ref.with(kind: .deadToken)) }
        keyShard.heap.add(.tombstones, 1)
        keyShard.heap.raise(.tombstoneClock, to: at)
    }

    /// Removes a tombstone, with its dead mark when it has one. Holds the key's shard and,
    /// for a bounced tombstone, the token's.
    func removeTombstone(_ t: TombstoneRecord) throws {
        let keyHash = Registry.keyHash(t.device, t.app)
        let keyShard = shard(keyHash)
        let ref = Ref(kind: .tombstone, shard: keyShard.number, offset: t.offset)
        guard let slot = keyShard.index.find(keyHash, { $0 == ref }) else {
            throw keyShard.corrupt("tombstone missing from its index")
        }
        if t.isBounced { removeDeadMarkEntry(t, ref: ref) }
        keyShard.index.remove(at: slot)
        keyShard.heap.add(.tombstones, -1)
        keyShard.heap.free(t.offset)
    }

    /// Ends a token's death (a registration at or after the bounce, or an expired mark met by
    /// a write): the tombstone stays for its key, without the mark.
    func clearDeadMark(_ mark: DeadMark) {
        removeDeadMarkEntry(mark.tombstone, ref: Ref(kind: .tombstone, shard: mark.shard, offset: mark.tombstone.offset))
        mark.tombstone.clearBounced()
    }

    private func removeDeadMarkEntry(_ t: TombstoneRecord, ref: Ref) {
        let tokenShard = shard(t.tokenHash)
        let entry = ref.with(kind: .deadToken)
        if let slot = tokenShard.index.find(t.tokenHash, { $0 == entry }) { tokenShard.index.remove(at: slot) }
    }

    /// Calls `body` with each tombstone of `shard`, resolved and checked. The caller holds
    /// the shard's lock.
    func tombstoneRecords(in shard: ShardPages, _ body: (TombstoneRecord) throws -> Void) throws {
        for slot in 0..<shard.index.capacity where shard.index.hash(at: slot) != 0 {
            let ref = shard.index.ref(at: slot)
            if ref.kindBits == Ref.Kind.tombstone.rawValue { try body(try tombstoneRecord(ref, in: shard)) }
        }
    }

    /// Calls `body` with every tombstone that has not expired, shard by shard, by device then
    /// app bytes within a shard, until it returns `false` (the backup order of key records).
    func forEachTombstoneSorted(_ body: (Tombstone) throws -> Bool) throws {
        for (i, shard) in store.allPages.enumerated() {
            store.locks.lockShared(i)
            defer { store.locks.unlock(i) }
            var records: [TombstoneRecord] = []
            try tombstoneRecords(in: shard) { t in
                if !isExpired(t, in: shard) { records.append(t) }
            }
            records.sort { a, b in
                equalBytes(a.device, b.device) ? a.app.lexicographicallyPrecedes(b.app) : a.device.lexicographicallyPrecedes(b.device)
            }
            for t in records {
                let tombstone = Tombstone(
                    deviceID: String(decoding: t.device, as: UTF8.self), appID: String(decoding: t.app, as: UTF8.self),
                    tokenHash: t.tokenHash, at: t.eventAt, bounced: t.isBounced)
                if try !body(tombstone) { return }
            }
        }
    }

    // MARK: The writes that act on tombstones alone

    /// Drops the expired tombstones of one shard (`op.aux`) at the time of a sweep (`op.at`),
    /// which also moves the shard's clock. Logged only when it drops something.
    /// - Returns: how many it dropped.
    func purgeTombstones(_ op: Operation, logging: Bool) throws -> (Int, UInt64) {
        guard op.aux >= 0, op.aux < Int64(store.shards.count) else {
            throw TokenStoreError(.invalidArgument, "tombstone purge: no such shard")
        }
        let s = Int(op.aux)
        let shard = store.pages(ofShard: s)
        return try locked(ShardSet(s), exclusive: true) { scope in
            let clock = max(shard.heap.counter(.tombstoneClock), op.at)
            let (bound, overflow) = clock.subtractingReportingOverflow(tombstoneRetention)
            if overflow { return (0, 0) }
            var doomed: [TombstoneRecord] = []
            try tombstoneRecords(in: shard) { t in
                guard t.eventAt < bound else { return }
                doomed.append(t)
                if t.isBounced { try scope.require(store.shard(of: t.tokenHash)) }
            }
            if doomed.isEmpty { return (0, 0) }
            try reserve(scope)
            let lsn = try logAndApply(op, logging: logging) {
                shard.heap.raise(.tombstoneClock, to: op.at)
                for t in doomed { try removeTombstone(t) }
            }
            return (doomed.count, lsn)
        }
    }

    /// Writes a tombstone as a backup gives it (`op.at` its time, `op.aux` the token hash's
    /// bits, `op.a` bit 0 bounced). Stale when the key holds a token or a later tombstone; an
    /// earlier tombstone is replaced.
    func restoreTombstone(_ op: Operation, logging: Bool) throws -> (WriteOutcome, UInt64) {
        let device = op.s0, app = op.s1, bounced = op.a & 1 != 0, tokenHash = UInt64(bitPattern: op.aux)
        guard op.a & ~1 == 0, op.at >= 0 else { throw TokenStoreError(.invalidArgument, "restored tombstone: bad flags or time") }
        let keyHash = Registry.keyHash(device, app)
        var initial = ShardSet(store.shard(of: keyHash))
        if bounced { initial.insert(store.shard(of: tokenHash)) }
        return try locked(initial, exclusive: true) { scope in
            let found = try findKeyOrTombstone(device, app, hash: keyHash)
            if found.key != nil { return (.stale, 0) }
            if let t = found.tombstone {
                if op.at < t.eventAt { return (.stale, 0) }
                if t.isBounced { try scope.require(store.shard(of: t.tokenHash)) }
            }
            try reserve(scope)
            let lsn = try logAndApply(op, logging: logging) {
                if let t = found.tombstone { try removeTombstone(t) }
                try insertTombstone(device: device, app: app, tokenHash: tokenHash, at: op.at, bounced: bounced)
            }
            return (.applied, lsn)
        }
    }
}
