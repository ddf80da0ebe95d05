/// Lookups by key in batches, with the cache misses of a batch overlapped.
///
/// A lookup by key pays two dependent misses: the index slot, then the key record it points
/// at. One key at a time, the CPU waits for each in turn. A batch first touches every key's
/// home slot, then follows every first matching entry to its record and touches that, and
/// only then resolves the keys one by one, from lines that are already on their way in.
/// Shards are reached through their pages (`ShardPages`): a retain would wait for the misses.
extension Registry {
    /// Keys per batch: enough independent misses to fill the memory pipeline, few enough that
    /// the touched lines are still in L1 when the batch resolves them.
    static let keyBatch = 64

    /// Looks up the keys `range` (at most `keyBatch` of them) that `key` gives, and calls
    /// `body` with each index and a view of its token (`nil` when the key holds none), in index
    /// order, until it returns false.
    ///
    /// Takes the lock `withKey` takes for each key (its stripe, shared), all at once in the
    /// global order for the batch. Nothing is allocated for stores of up to 64 stripes: the
    /// hashes are on the stack.
    /// - Returns: false when `body` stopped.
    func withKeyBatch(
        _ range: Range<Int>, key: (Int) -> (deviceID: Bytes, appID: Bytes), _ body: (Int, TokenView?) throws -> Bool
    ) throws -> Bool {
        assert(range.count <= Registry.keyBatch)
        let n = range.count
        return try withUnsafeTemporaryAllocation(of: UInt64.self, capacity: Registry.keyBatch) { hashes in
            try withUnsafeTemporaryAllocation(of: UInt64.self, capacity: Registry.keyBatch) { homes in
                var stripes = ShardSet()
                for k in 0..<n {
                    let (device, app) = key(range.lowerBound + k)
                    hashes[k] = Registry.keyHash(device, app)
                    stripes.insert(store.shard(of: hashes[k]))
                }
                return try store.locks.with(stripes, exclusive: false) { () throws -> Bool in
                    // 1. Every home slot: independent loads.
                    for k in 0..<n {
                        let index = shard(hashes[k]).index
                        homes[k] = index.hash(at: index.homeSlot(hashes[k]))
                    }
                    // 2. Every first key entry with the key's hash, to its record's first two
                    //    lines (the plausibility check reads the header). An empty home slot
                    //    means no such key.
                    var touched: UInt64 = 0
                    for k in 0..<n where homes[k] != 0 {
                        let shard = shard(hashes[k])
                        guard let slot = shard.index.find(hashes[k], { $0.kindBits == Ref.Kind.key.rawValue }) else { continue }
                        let ref = shard.index.ref(at: slot)
                        guard ref.shard == shard.number, shard.heap.isPlausibleBlock(ref.offset) else {
                            throw shard.corrupt("index entry points outside the heap")
                        }
                        touched &+= shard.heap.touch(ref.offset + 64)
                    }
                    Heap.keep(touched)
                    // 3. Resolve each key as `withKey` does, from warm lines.
                    for k in 0..<n {
                        let (device, app) = key(range.lowerBound + k)
                        let found = homes[k] == 0 ? nil : try findKey(device, app, hash: hashes[k], in: shard(hashes[k]))
                        if try !body(range.lowerBound + k, found.map { view($0.record) }) { return false }
                    }
                    return true
                }
            }
        }
    }
}
