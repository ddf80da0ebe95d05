/// One shard's three files through their pages: the handle that reads and writes reach a
/// shard by.
///
/// `Shard` is a class, and taking one out of the store's array retains it. A retain is a
/// locked instruction: it waits for every load before it, so on a write that touches several
/// records it would serialise the cache misses the write means to overlap, and it costs tens
/// of cycles even when nothing is pending. A `ShardPages` is plain pointers, copied freely.
/// Growth (`Shard.reserve`), validation and checkpoints stay with `Shard`.
///
/// Valid while the store is open, and only under the shard's stripe lock.
struct ShardPages {
    let number: Int
    let index: IndexPages
    let heap: HeapPages
    let changes: HeapPages

    /// Whether one operation's writes fit without growing a file (see `Shard.reserve`): the
    /// check every write makes, answered without touching the `Shard` object.
    @inline(__always) func hasRoom(slots: Int, bytes: Int) -> Bool {
        index.hasRoom(for: slots) && heap.hasRoom(for: bytes) && changes.hasRoom(for: bytes)
    }

    /// The error for damage found in this shard's records or index.
    func corrupt(_ what: String) -> TokenStoreError {
        TokenStoreError(.corrupt, "\(Shard.heapName(number)): \(what)")
    }

    /// The error for damage found in this shard's changelog file.
    func corruptChangelog(_ what: String) -> TokenStoreError {
        TokenStoreError(.corrupt, "\(Shard.changesName(number)): \(what)")
    }
}
