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

    /// Starts the cache misses of looking up `hash` without waiting for them: the home slot's
    /// line and, when that slot holds a `kind` entry for `hash`, its record's first line.
    ///
    /// Each miss costs hundreds of nanoseconds on a large store, and one lookup's misses
    /// follow one another; a write that touches all the records it needs first has them in
    /// flight together. Only reads, bounds-checked: a damaged slot costs a wasted load, and the
    /// lookup that follows reports it. Pass the sum to `Heap.keep`.
    @inline(__always) func touch(_ hash: UInt64, _ kind: Ref.Kind) -> UInt64 {
        let slot = index.homeSlot(hash)
        let stored = index.hash(at: slot)
        guard stored == HashIndex.stored(hash) else { return stored }
        let ref = index.ref(at: slot)
        guard ref.kindBits == kind.rawValue, ref.shard == number else { return stored }
        return stored &+ heap.touch(ref.offset)
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
