/// The store's shards as unretained references, for reads that reach a shard per item.
///
/// Reading a class reference out of an array retains it, and a retain is a locked
/// instruction, which waits for every load before it: in a batched read it would wait out
/// the very cache misses the batch means to overlap. The table lives on the stack for one
/// call, while the caller's `shards` array keeps every shard alive.
struct ShardTable {
    private let references: UnsafeMutableBufferPointer<Unmanaged<Shard>>

    /// Calls `body` with a table of `shards`, valid during the call only.
    @inline(__always)
    static func with<R>(_ shards: [Shard], _ body: (ShardTable) throws -> R) rethrows -> R {
        try withExtendedLifetime(shards) {
            try withUnsafeTemporaryAllocation(of: Unmanaged<Shard>.self, capacity: shards.count) { references in
                for (i, shard) in shards.enumerated() { references[i] = .passUnretained(shard) }
                return try body(ShardTable(references: references))
            }
        }
    }

    /// Calls `body` with shard `number`, borrowed: no retain, no release.
    @inline(__always)
    func with<R>(_ number: Int, _ body: (Shard) throws -> R) rethrows -> R {
        try references[number]._withUnsafeGuaranteedRef(body)
    }
}
