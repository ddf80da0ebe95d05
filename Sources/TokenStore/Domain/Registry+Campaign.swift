/// The campaign sender's hot path: a segment's sendable tokens for one app, in one pass over
/// the user index.
///
/// The composition it replaces walks the user index for the segment, then looks every member
/// up again to find their tokens. Here the user record found by the scan is the one whose
/// entries are read: each entry carries its key's app hash and flags (visible, quarantined),
/// so the campaign rule (`PushKind.mayPush`) discards most entries without visiting the key
/// record in another shard, and the key records that remain are gathered into a batch and
/// touched in a tight loop before any is read, so that their cache misses overlap.
extension Registry {
    /// Key records gathered before any is read: enough independent misses to fill the memory
    /// pipeline, few enough to stay in L1.
    static let campaignBatch = 64

    /// Calls `body` with each token a campaign for `app` may push to now, over the users of
    /// `segment`, until it returns false. Each token once; order unspecified.
    ///
    /// Locks: each user stripe's pass holds every stripe shared, taken in the global ascending
    /// order. A member's keys live in any stripe, and holding the user stripe (whose index must
    /// hold still for the scan) while waiting for a lower one could deadlock with a writer that
    /// holds the lower one and waits for the user stripe. Readers are never held out; a writer
    /// waits for at most one stripe's pass.
    ///
    /// Nothing is allocated or retained per token: the batches are on the stack, and the key
    /// records' shards are reached through their pages (`ShardPages`).
    func forEachCampaignToken(in segment: Segment, app: Bytes, kind: PushKind, _ body: (TokenView) throws -> Bool) throws {
        let segmentAppHash = Registry.appHash(of: segment)
        let campaignAppHash = Registry.appHash(app)
        let shardCount = store.shards.count
        // Visible pushes skip unsubscribed users and users with no visible, unquarantined
        // token for any app straight from the slot flags (bit 0, "Foreground Push Enabled").
        // Silent pushes ignore the subscription, so only the segment's own flags rule users out.
        let slots = UserRecord.SlotFilter(segment, foregroundEnabled: kind == .visible)
        try withUnsafeTemporaryAllocation(of: UInt64.self, capacity: Registry.campaignBatch) { refs in
            try withUnsafeTemporaryAllocation(of: Subscription.self, capacity: Registry.campaignBatch) { owners in
                var pending = 0
                /// Touches the gathered key records' two first lines in a tight loop of
                /// independent loads (the plausibility check reads each header), then reads
                /// them and hands over the sendable ones.
                func drain() throws -> Bool {
                    defer { pending = 0 }
                    var touched: UInt64 = 0
                    for k in 0..<pending {
                        let ref = Ref(raw: refs[k])
                        let shard = store.pages(ofShard: ref.shard)
                        guard shard.heap.isPlausibleBlock(ref.offset) else {
                            throw shard.corrupt("index entry points outside the heap")
                        }
                        touched &+= shard.heap.touch(ref.offset + 64)
                    }
                    Heap.keep(touched)
                    for k in 0..<pending {
                        let ref = Ref(raw: refs[k])
                        let token = view(try keyRecord(ref, in: store.pages(ofShard: ref.shard)))
                        guard equalBytes(token.appID, app), kind.mayPush(to: token, ownedBy: owners[k]) else { continue }
                        if try !body(token) { return false }
                    }
                    return true
                }
                for shard in store.allPages {
                    let finished = try store.locks.withAllShared { () throws -> Bool in
                        let scanned = try forEachMember(of: segment, appHash: segmentAppHash, in: shard, slots: slots) { user in
                            let subscription = user.subscription
                            for slot in 0..<user.entrySlots where user.entryAppHash(atSlot: slot) == campaignAppHash {
                                guard let ref = user.entry(atSlot: slot) else { continue }
                                let flags = user.entryFlags(atSlot: slot)
                                guard kind.mayPush(
                                    allowsVisiblePush: flags & UserRecord.visible != 0,
                                    isQuarantined: flags & UserRecord.quarantined != 0, subscription: subscription)
                                else { continue }
                                guard ref.shard < shardCount else { throw shard.corrupt("user entry names a missing shard") }
                                refs[pending] = ref.raw
                                owners[pending] = subscription
                                pending += 1
                                if pending == Registry.campaignBatch, try !drain() { return false }
                            }
                            return true
                        }
                        return try scanned && drain()
                    }
                    guard finished else { return }
                }
            }
        }
    }
}