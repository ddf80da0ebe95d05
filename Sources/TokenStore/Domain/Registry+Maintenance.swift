#if canImport(Glibc)
import Glibc
#endif

/// Statistics, the storage report and `verify`.
extension Registry {
    func statistics() -> StoreStatistics {
        let all: [Counter] = [
            .tokens, .users, .quarantined, .platformIOS, .platformAndroid, .platformWeb, .authForeground,
            .authProvisional, .authBackground, .bounceRemoved, .bounceQuarantined, .bounceKept, .bounceStale,
            .bounceDead, .bounceMisconfigured, .bounceTransient, .bouncePayload, .bounceUnknown, .tombstones,
        ]
        var totals = [Counter: Int]()
        for (i, shard) in store.allPages.enumerated() {
            store.locks.lockShared(i)
            for c in all { totals[c, default: 0] &+= Int(shard.heap.counter(c)) }
            store.locks.unlock(i)
        }
        var s = StoreStatistics()
        s.tokens = totals[.tokens] ?? 0
        s.users = totals[.users] ?? 0
        s.quarantined = totals[.quarantined] ?? 0
        s.tombstones = totals[.tombstones] ?? 0
        for p in Platform.allCases { s.byPlatform[p] = totals[.platform(p)] ?? 0 }
        for a in Authorization.allCases { s.byAuthorization[a] = totals[.authorization(a)] ?? 0 }
        for o in BounceOutcome.allCases { s.bouncesByOutcome[o] = totals[.outcome(o)] ?? 0 }
        for c in BounceCategory.allCases { s.bouncesByCategory[c] = totals[.category(c)] ?? 0 }
        return s
    }

    func forEachKeyRecord(inShard i: Int, _ body: (TokenView) throws -> Void) throws {
        let shard = store.pages(ofShard: i)
        store.locks.lockShared(i)
        defer { store.locks.unlock(i) }
        try keyRecords(in: shard) { try body(view($0)) }
    }

    func storageReport() throws(TokenStoreError) -> StorageReport {
        var live = 0, dead = 0
        for (i, shard) in store.allPages.enumerated() {
            store.locks.lockShared(i)
            live = live &+ shard.heap.liveBytes &+ shard.changes.liveBytes
            dead = dead &+ shard.heap.deadBytes &+ shard.changes.deadBytes
            store.locks.unlock(i)
        }
        var files: [StorageReport.File] = []
        do throws(SystemError) {
            for name in try StoreDirectory.list(store.directory).sorted() {
                var st = stat()
                guard lstat(store.directory + "/" + name, &st) == 0 else { continue }
                files.append(StorageReport.File(name: name, bytes: Int(st.st_size), allocatedBytes: Int(st.st_blocks) * 512))
            }
        } catch { throw error.storeError }
        return StorageReport(
            formatVersion: TokenStore.formatVersion, shards: store.shards.count, files: files, liveBytes: live,
            deadBytes: dead, lastCheckpointAt: store.lastCheckpointAt, logBytes: store.logBytesSinceCheckpoint)
    }

    /// Checks, with every stripe locked: each record's checksum, that every key has its
    /// token entry and its owner's user entry, that every tombstone stands alone on its key
    /// and a bounced one has its dead-token entry, that every user entry points back at a key the
    /// user owns, and that the counters equal a recount.
    func verify() -> [String] {
        store.locks.withAll { () -> [String] in
            var problems: [String] = []
            var recount = [[Int64]](repeating: [Int64](repeating: 0, count: Heap.counterCount), count: store.shards.count)
            for shard in store.allPages {
                let name = Shard.heapName(shard.number)
                for slot in 0..<shard.index.capacity where shard.index.hash(at: slot) != 0 {
                    let ref = shard.index.ref(at: slot)
                    if ref.kindBits == Ref.Kind.token.rawValue {
                        guard ref.shard < store.shards.count,
                            let k = try? keyRecord(ref.with(kind: .key), in: store.pages(ofShard: ref.shard))
                        else {
                            problems.append("\(Shard.indexName(shard.number)): token entry points outside the heap")
                            continue
                        }
                        if HashIndex.stored(Registry.tokenHash(k.token)) != shard.index.hash(at: slot) {
                            problems.append("\(Shard.indexName(shard.number)): slot \(slot)'s hash is not its token's")
                        }
                        continue
                    }
                    if ref.kindBits == Ref.Kind.deadToken.rawValue {
                        guard ref.shard < store.shards.count,
                            let t = try? tombstoneRecord(ref.with(kind: .tombstone), in: store.pages(ofShard: ref.shard)), t.isBounced
                        else {
                            problems.append("\(Shard.indexName(shard.number)): dead-token entry does not point at a bounced tombstone")
                            continue
                        }
                        if HashIndex.stored(t.tokenHash) != shard.index.hash(at: slot) {
                            problems.append("\(Shard.indexName(shard.number)): slot \(slot)'s hash is not its dead token's")
                        }
                        continue
                    }
                    guard ref.shard == shard.number, shard.heap.isPlausibleBlock(ref.offset) else {
                        problems.append("\(Shard.indexName(shard.number)): slot \(slot) points outside the heap")
                        continue
                    }
                    switch ref.kindBits {
                    case Ref.Kind.key.rawValue:
                        let r = KeyRecord(file: shard.heap.file, offset: ref.offset)
                        guard r.isPlausible, r.isSealed else {
                            problems.append("\(name): key record at \(ref.offset) fails its checksum")
                            continue
                        }
                        let keyHash = Registry.keyHash(r.device, r.app)
                        if HashIndex.stored(keyHash) != shard.index.hash(at: slot) {
                            problems.append("\(Shard.indexName(shard.number)): slot \(slot)'s hash is not its key's")
                        } else if shard.index.find(keyHash, { $0 == ref }) == nil || (try? findKey(r.device, r.app, hash: keyHash))??.record.offset != ref.offset {
                            problems.append("\(Shard.indexName(shard.number)): key at \(ref.offset) is shadowed by a duplicate")
                        }
                        let c = shard.number
                        recount[c][Counter.tokens.rawValue] += 1
                        recount[c][Counter.platform(r.platform).rawValue] += 1
                        recount[c][Counter.authorization(r.authorization).rawValue] += 1
                        if r.isQuarantined { recount[c][Counter.quarantined.rawValue] += 1 }
                        let tokenShard = self.shard(r.tokenHash)
                        if tokenShard.index.find(r.tokenHash, { $0 == ref.with(kind: .token) }) == nil {
                            problems.append("\(name): key record at \(ref.offset) has no token entry")
                        }
                        if r.user.count > 0 {
                            let owner = try? findUser(r.user, hash: Registry.userHash(r.user))
                            if owner?.record.slot(of: ref) == nil {
                                problems.append("\(name): key record at \(ref.offset) is missing from its owner's entries")
                            }
                        }
                    case Ref.Kind.user.rawValue:
                        let u = UserRecord(file: shard.heap.file, offset: ref.offset)
                        guard u.isPlausible, u.isSealed else {
                            problems.append("\(name): user record at \(ref.offset) fails its checksum")
                            continue
                        }
                        if HashIndex.stored(Registry.userHash(u.user)) != shard.index.hash(at: slot) {
                            problems.append("\(Shard.indexName(shard.number)): slot \(slot)'s hash is not its user's")
                        }
                        if ref.userFlags != u.slotFlags {
                            problems.append("\(Shard.indexName(shard.number)): user slot flags disagree with the record at \(ref.offset)")
                        }
                        let c = shard.number
                        recount[c][Counter.users.rawValue] += 1
                        recount[c][Counter.subscription(u.subscription).rawValue] += 1
                        // Membership is recounted from the entries, and the kept counts checked against it.
                        var visible = 0, reachable = 0, entries = 0
                        var visibleByApp: [UInt64: Int] = [:]
                        for slot in 0..<u.entrySlots {
                            guard let e = u.entry(atSlot: slot) else { continue }
                            entries += 1
                            let flags = u.entryFlags(atSlot: slot)
                            if flags & UserRecord.quarantined == 0 {
                                reachable += 1
                                if flags & UserRecord.visible != 0 {
                                    visible += 1
                                    visibleByApp[u.entryAppHash(atSlot: slot) | 1, default: 0] += 1
                                }
                            }
                            guard e.shard < store.shards.count, let k = try? keyRecord(e, in: store.pages(ofShard: e.shard)),
                                equalBytes(k.user, u.user), k.entryFlags == flags
                            else {
                                problems.append("\(name): user record at \(ref.offset) has an entry that does not match its key")
                                continue
                            }
                        }
                        if u.recomputedEntryDigest != u.entryDigest {
                            problems.append("\(name): user record at \(ref.offset) has entries that fail their digest")
                        }
                        var keptByApp: [UInt64: Int] = [:]
                        u.forEachApp { hash, count in if count != 0 { keptByApp[hash] = count } }
                        if entries != u.entryCount || visible != u.visibleEntries || reachable != u.reachableEntries
                            || keptByApp != visibleByApp
                        {
                            problems.append("\(name): user record at \(ref.offset) keeps counts that disagree with its entries")
                        }
                        if u.subscription != .unsubscribed && visible > 0 { recount[c][Counter.foregroundEnabledUsers.rawValue] += 1 }
                        if u.subscription != .unsubscribed && reachable > 0 { recount[c][Counter.anyEnabledUsers.rawValue] += 1 }
                        do {
                            var n = 0
                            try forEachChange(of: u) { _ in
                                n += 1
                                return true
                            }
                            var offset = u.oldestChange
                            for _ in 0..<n {
                                let entry = ChangeRecord(file: shard.changes.file, offset: offset)
                                if !entry.isSealed {
                                    problems.append("\(name): changelog entry at \(offset) fails its checksum")
                                }
                                offset = entry.next
                            }
                        } catch {
                            problems.append("\(name): changelog of user record at \(ref.offset): \(error)")
                        }
                    case Ref.Kind.tombstone.rawValue:
                        let t = TombstoneRecord(file: shard.heap.file, offset: ref.offset)
                        guard t.isPlausible, t.isSealed else {
                            problems.append("\(name): tombstone at \(ref.offset) fails its checksum")
                            continue
                        }
                        let keyHash = Registry.keyHash(t.device, t.app)
                        if HashIndex.stored(keyHash) != shard.index.hash(at: slot) {
                            problems.append("\(Shard.indexName(shard.number)): slot \(slot)'s hash is not its tombstone's")
                        } else if (try? findKey(t.device, t.app, hash: keyHash)) != nil {
                            problems.append("\(name): tombstone at \(ref.offset) shares its key with a live record")
                        }
                        recount[shard.number][Counter.tombstones.rawValue] += 1
                        if t.isBounced, self.shard(t.tokenHash).index.find(t.tokenHash, { $0 == ref.with(kind: .deadToken) }) == nil {
                            problems.append("\(name): bounced tombstone at \(ref.offset) has no dead-token entry")
                        }
                    case Ref.Kind.app.rawValue:
                        let a = AppCounterRecord(file: shard.heap.file, offset: ref.offset)
                        if !(a.isPlausible && a.isSealed) { problems.append("\(name): app counter at \(ref.offset) fails its checksum") }
                    default:
                        problems.append("\(Shard.indexName(shard.number)): slot \(slot) has an unknown kind")
                    }
                }
            }
            let checked: [Counter] = [
                .tokens, .platformIOS, .platformAndroid, .platformWeb, .authForeground, .authProvisional, .authBackground,
                .quarantined, .users, .subscribed, .optedIn, .unsubscribed, .foregroundEnabledUsers, .anyEnabledUsers,
                .tombstones,
            ]
            for shard in store.allPages {
                for c in checked where shard.heap.counter(c) != recount[shard.number][c.rawValue] {
                    problems.append("\(Shard.heapName(shard.number)): counter \(c) is \(shard.heap.counter(c)), recount \(recount[shard.number][c.rawValue])")
                }
            }
            return problems
        }
    }
}
