/// User records: the user → keys index, subscription state, the changelog, and the segment
/// counters, which change exactly when a user's membership does.
extension Registry {
    /// The user's record for a write, created (subscribed, with no tokens) when `create` is
    /// set. An existing record's checksum must hold, as a key record's must (`checked`): a
    /// write, or replay, that rewrote a damaged record would seal the damage in as sound.
    func user(_ user: UnsafeRawBufferPointer, create: Bool) throws -> (slot: Int, record: UserRecord)? {
        let hash = Registry.userHash(user)
        if let found = try findUser(user, hash: hash) {
            guard found.record.isSealed else {
                throw self.shard(hash).corrupt("user record at \(found.record.offset) fails its checksum")
            }
            return found
        }
        guard create else { return nil }
        let shard = self.shard(hash)
        let offset = try shard.heap.allocate(UserRecord.size(user: user.count, appSlots: 1, entrySlots: 2))
        let record = UserRecord.initialize(shard.heap.file, at: offset, user: user, appSlots: 1, entrySlots: 2)
        record.seal()
        let slot = shard.index.insert(hash, Ref(kind: .user, shard: shard.number, offset: offset, flags: record.slotFlags))
        shard.heap.add(.users, 1)
        shard.heap.add(.subscription(.subscribed), 1)
        return (slot, record)
    }

    /// Runs `change` on a user record and moves the segment counters by the difference in
    /// membership it made, for the segments in general and for `app`.
    func changingMembership(
        _ record: UserRecord, app: UnsafeRawBufferPointer?, _ change: () throws -> UserRecord
    ) throws -> UserRecord {
        let shard = self.shard(Registry.userHash(record.user))
        let appHash = app.map(Registry.appHash)
        let before = record.membership(app: appHash)
        let subscriptionBefore = record.subscription
        let flagsBefore = record.slotFlags
        let after = try change()
        let flagsAfter = after.slotFlags
        if flagsAfter != flagsBefore {
            let ref = Ref(kind: .user, shard: shard.number, offset: after.offset, flags: flagsAfter)
            if let slot = shard.index.find(Registry.userHash(after.user), {
                $0.kindBits == Ref.Kind.user.rawValue && $0.offset == after.offset
            }) {
                shard.index.setRef(ref, at: slot)
            }
        }
        let now = after.membership(app: appHash)
        let subscriptionAfter = after.subscription
        let wasEnabled = subscriptionBefore != .unsubscribed, isEnabled = subscriptionAfter != .unsubscribed
        shard.heap.add(.foregroundEnabledUsers, Int64((isEnabled && now.visible) ? 1 : 0) - Int64((wasEnabled && before.visible) ? 1 : 0))
        shard.heap.add(.anyEnabledUsers, Int64((isEnabled && now.any) ? 1 : 0) - Int64((wasEnabled && before.any) ? 1 : 0))
        if subscriptionBefore != subscriptionAfter {
            shard.heap.add(.subscription(subscriptionBefore), -1)
            shard.heap.add(.subscription(subscriptionAfter), 1)
        }
        if let app, let appHash, before.app != now.app {
            var counter = try findAppCounter(app, hash: appHash, in: shard)
            if counter == nil {
                let offset = try shard.heap.allocate(24 + app.count)
                counter = AppCounterRecord.write(shard.heap.file, at: offset, app: app)
                shard.index.insert(appHash, Ref(kind: .app, shard: shard.number, offset: offset))
            }
            counter!.add(now.app ? 1 : -1)
        }
        after.seal()
        return after
    }

    /// Adds a key to the user's index entries, growing the record when full.
    /// - Returns: the user's record, which may have moved.
    @discardableResult
    func addUserEntry(_ user: UnsafeRawBufferPointer, ref: Ref, app: UnsafeRawBufferPointer, flags: UInt64) throws -> UserRecord? {
        guard let (slot, record) = try self.user(user, create: true) else { return nil }
        let appHash = Registry.appHash(app)
        return try changingMembership(record, app: app) {
            let r = try withRoom(record, slot: slot, entry: true, visibleApp: flags & UserRecord.visible != 0 ? appHash : nil)
            r.insertEntry(ref: ref, appHash: appHash, flags: flags)
            return r
        }
    }

    @discardableResult
    func removeUserEntry(_ user: UnsafeRawBufferPointer, ref: Ref, app: UnsafeRawBufferPointer) throws -> UserRecord? {
        guard let (_, record) = try self.user(user, create: false), let entry = record.slot(of: ref) else { return nil }
        return try changingMembership(record, app: app) {
            record.removeEntry(atSlot: entry)
            return record
        }
    }

    func setUserEntryFlags(_ user: UnsafeRawBufferPointer, ref: Ref, app: UnsafeRawBufferPointer, flags: UInt64) throws {
        guard let (slot, record) = try self.user(user, create: false), record.slot(of: ref) != nil else { return }
        _ = try changingMembership(record, app: app) {
            let visibleApp = flags & UserRecord.visible != 0 ? Registry.appHash(app) : nil
            let r = try withRoom(record, slot: slot, entry: false, visibleApp: visibleApp)
            guard let entry = r.slot(of: ref) else { return r }
            r.setEntryFlags(atSlot: entry, flags)
            return r
        }
    }

    /// The record, or a copy with larger tables when it has no room for one more entry
    /// (`entry`) or for one more app with visible entries (`visibleApp`).
    private func withRoom(_ record: UserRecord, slot: Int, entry: Bool, visibleApp: UInt64?) throws -> UserRecord {
        let needsEntries = entry && !record.hasRoomForEntry
        let needsApps = visibleApp.map { !record.hasRoomForVisible(app: $0) } ?? false
        guard needsEntries || needsApps else { return record }
        guard !needsEntries || record.entryCount < UserRecord.maxEntries else {
            throw TokenStoreError(.tooLarge, "a user may own at most \(UserRecord.maxEntries) tokens")
        }
        return try grow(record, slot: slot, entrySlots: record.entrySlots * (needsEntries ? 2 : 1),
            appSlots: record.appSlots * (needsApps ? 2 : 1))
    }

    /// Moves a user record to a block with larger tables (amortized O(1) per entry).
    private func grow(_ record: UserRecord, slot: Int, entrySlots: Int, appSlots: Int) throws -> UserRecord {
        let shard = self.shard(Registry.userHash(record.user))
        let offset = try shard.heap.allocate(UserRecord.size(user: record.userLength, appSlots: appSlots, entrySlots: entrySlots))
        let moved = record.copy(to: offset, appSlots: appSlots, entrySlots: entrySlots)
        moved.seal()
        shard.index.setRef(Ref(kind: .user, shard: shard.number, offset: offset, flags: moved.slotFlags), at: slot)
        shard.heap.free(record.offset)
        return moved
    }

    /// Sets the subscription; counters follow.
    func setSubscription(_ record: UserRecord, _ subscription: Subscription, at: Int64) throws {
        _ = try changingMembership(record, app: nil) {
            record.setSubscription(subscription, at: at)
            return record
        }
    }

    // MARK: Changelog

    /// Appends an entry to the user's changelog, dropping the oldest beyond the limit.
    func appendChange(
        to user: UnsafeRawBufferPointer, _ kind: ChangeKind, at: Int64, device: UnsafeRawBufferPointer,
        app: UnsafeRawBufferPointer, token: UnsafeRawBufferPointer, other: UnsafeRawBufferPointer = .init(start: nil, count: 0),
        detail: UnsafeRawBufferPointer = .init(start: nil, count: 0)
    ) throws {
        guard user.count > 0, let (_, record) = try self.user(user, create: true) else { return }
        try appendChange(to: record, kind, at: at, device: device, app: app, token: token, other: other, detail: detail)
    }

    /// Appends an entry to the changelog of a user record already at hand.
    func appendChange(
        to record: UserRecord, _ kind: ChangeKind, at: Int64, device: UnsafeRawBufferPointer,
        app: UnsafeRawBufferPointer, token: UnsafeRawBufferPointer, other: UnsafeRawBufferPointer = .init(start: nil, count: 0),
        detail: UnsafeRawBufferPointer = .init(start: nil, count: 0)
    ) throws {
        let shard = self.shard(Registry.userHash(record.user))
        let heap = shard.changes
        let size = ChangeRecord.fixedSize + device.count + app.count + token.count + other.count + detail.count
        let offset = try heap.allocate(size)
        _ = ChangeRecord.write(heap.file, at: offset, kind: kind, time: at, device: device, app: app, token: token,
            other: other, detail: detail)
        var oldest = record.oldestChange, count = record.changeCount
        if count > 0, heap.isPlausibleBlock(record.newestChange),
            ChangeRecord(file: heap.file, offset: record.newestChange).isPlausible
        {
            ChangeRecord(file: heap.file, offset: record.newestChange).setNext(offset)
        } else {
            oldest = offset
            count = 0
        }
        count += 1
        while count > changelogLimit, heap.isPlausibleBlock(oldest), ChangeRecord(file: heap.file, offset: oldest).isPlausible {
            let drop = ChangeRecord(file: heap.file, offset: oldest)
            // A link that fails its check is damage: refuse before changing anything.
            let next = drop.next
            guard heap.isPlausibleBlock(next) else { throw shard.corruptChangelog("changelog chain broken") }
            oldest = next
            heap.free(drop.offset)
            count -= 1
        }
        record.setChangelog(oldest: oldest, newest: offset, count: count)
        record.seal()
    }

    /// Calls `body` with each changelog entry of the user, oldest first.
    func forEachChange(of record: UserRecord, _ body: (ChangeView) throws -> Bool) throws {
        let shard = self.shard(Registry.userHash(record.user))
        var offset = record.oldestChange
        var remaining = record.changeCount
        while remaining > 0 {
            guard shard.changes.isPlausibleBlock(offset) else { throw shard.corruptChangelog("changelog chain broken") }
            let entry = ChangeRecord(file: shard.changes.file, offset: offset)
            guard entry.isPlausible else { throw shard.corruptChangelog("damaged changelog entry") }
            guard try body(entry.view()) else { return }
            offset = entry.next
            remaining -= 1
        }
    }
}
