/// Key records and the token index: creating, removing and updating a key keeps the key
/// slot, the token entry, the owner's user entry and the token counters in step.
extension Registry {
    struct KeyFields {
        var device: UnsafeRawBufferPointer
        var app: UnsafeRawBufferPointer
        var token: UnsafeRawBufferPointer
        var user: UnsafeRawBufferPointer
        var platform: Platform
        var authorization: Authorization
        var quarantined = false
        var failures = 0
        var created: Int64
        var updated: Int64
        var event: Int64
    }

    /// Adds a key record with its token entry and, when owned, its user entry.
    /// - Returns: the key record and the owner's record, if owned.
    @discardableResult
    func insertKey(_ f: KeyFields) throws -> (key: KeyRecord, owner: UserRecord?) {
        let keyHash = Registry.keyHash(f.device, f.app)
        let tokenHash = Registry.tokenHash(f.token)
        let keyShard = shard(keyHash)
        let offset = try keyShard.heap.allocate(KeyRecord.size(device: f.device.count, app: f.app.count, token: f.token.count, user: f.user.count))
        let record = KeyRecord.write(
            keyShard.heap.file, at: offset, device: f.device, app: f.app, token: f.token, tokenHash: tokenHash, user: f.user,
            platform: f.platform, authorization: f.authorization, quarantined: f.quarantined, failures: f.failures,
            created: f.created, updated: f.updated, event: f.event)
        let ref = Ref(kind: .key, shard: keyShard.number, offset: offset)
        keyShard.index.insert(keyHash, ref)
        shard(tokenHash).index.insert(tokenHash, ref.with(kind: .token))
        countToken(record, in: keyShard, sign: 1)
        guard f.user.count > 0 else { return (record, nil) }
        return (record, try addUserEntry(f.user, ref: ref, app: f.app, flags: record.entryFlags))
    }

    /// Gives a key record a new owner in place when the new id fits the block, so that no
    /// index entry moves: only the two users' entries change.
    /// - Returns: false when it does not fit; the caller then removes and reinserts.
    func changeOwnerInPlace(_ record: KeyRecord, to user: UnsafeRawBufferPointer) -> Bool {
        let start = KeyRecord.fixedSize + record.u16(48) + record.u16(50) + record.u16(52)
        guard start + user.count <= record.capacity else { return false }
        record.file.copy(user, to: record.offset + start)
        record.set(UInt16(user.count), 54)
        return true
    }

    /// Removes a key record, its token entry and its user entry.
    func removeKey(_ record: KeyRecord) throws {
        let keyHash = Registry.keyHash(record.device, record.app)
        let keyShard = shard(keyHash)
        let ref = Ref(kind: .key, shard: keyShard.number, offset: record.offset)
        guard let slot = keyShard.index.find(keyHash, { $0 == ref }) else {
            throw keyShard.corrupt("key record missing from its index")
        }
        let tokenShard = shard(record.tokenHash)
        if let tokenSlot = tokenShard.index.find(record.tokenHash, { $0.kindBits == Ref.Kind.token.rawValue && $0.with(kind: .key) == ref }) {
            tokenShard.index.remove(at: tokenSlot)
        }
        if record.user.count > 0 {
            try removeUserEntry(record.user, ref: ref, app: record.app)
        }
        countToken(record, in: keyShard, sign: -1)
        keyShard.index.remove(at: slot)
        keyShard.heap.free(record.offset)
    }

    /// Changes a key's state in place, keeping counters and the user entry's flags in step.
    func updateKey(
        _ record: KeyRecord, platform: Platform? = nil, authorization: Authorization? = nil, quarantined: Bool? = nil,
        updated: Int64? = nil, event: Int64? = nil
    ) throws {
        let keyShard = store.pages(ofShard: keyShardNumber(record))
        let oldFlags = record.entryFlags
        countToken(record, in: keyShard, sign: -1)
        record.setState(
            platform: platform ?? record.platform, authorization: authorization ?? record.authorization,
            quarantined: quarantined ?? record.isQuarantined)
        record.setTimes(updated: updated, event: event)
        record.seal()
        countToken(record, in: keyShard, sign: 1)
        if record.user.count > 0 && record.entryFlags != oldFlags {
            try setUserEntryFlags(record.user, ref: Ref(kind: .key, shard: keyShard.number, offset: record.offset),
                app: record.app, flags: record.entryFlags)
        }
    }

    @inline(__always) func keyShardNumber(_ record: KeyRecord) -> Int {
        store.shard(of: Registry.keyHash(record.device, record.app))
    }

    private func countToken(_ record: KeyRecord, in shard: ShardPages, sign: Int64) {
        let heap = shard.heap
        heap.add(.tokens, sign)
        heap.add(.platform(record.platform), sign)
        heap.add(.authorization(record.authorization), sign)
        if record.isQuarantined { heap.add(.quarantined, sign) }
    }
}
