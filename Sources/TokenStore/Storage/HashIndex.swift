/// The hash index of one shard: an open-addressing table of `(hash, Ref)` slots in a mapped
/// file, with linear probing and backward-shift deletion (no tombstones, so probe lengths
/// stay short under churn).
///
/// Layout: a 4096-byte header (magic "TSINDX01", format version, shard, log2 capacity,
/// count, checksum), then `capacity` slots of 16 bytes. A zero hash marks an empty slot.
/// Every kind of entry shares the table: each kind hashes with its own seed.
struct HashIndex {
    static let magic: UInt64 = 0x3130_5844_4E49_5354  // "TSINDX01"
    static let headerSize = 4096
    /// The capacity of a new shard's table: one page of slots, so that a small shard stays
    /// small; `reserve` doubles it as entries arrive.
    static let minimumCapacity = 256

    let file: MappedFile

    static func format(_ file: MappedFile, shard: Int, capacity: Int) {
        file.zero(0, headerSize + capacity * 16)
        file.store(HashIndex.magic, 0)
        file.store(TokenStore.formatVersion, 8)
        file.store(UInt32(shard), 12)
        file.store(UInt32(capacity.trailingZeroBitCount), 16)
        file.store(UInt64(0), 24)
        HashIndex(file: file).seal()
    }

    static func fileSize(capacity: Int) -> Int { headerSize + capacity * 16 }

    /// The hash a slot stores for `hash`: zero marks an empty slot.
    @inline(__always) static func stored(_ hash: UInt64) -> UInt64 { hash == 0 ? 1 : hash }

    func validate(shard: Int) -> String? {
        guard file.size >= HashIndex.headerSize, file.load(0, as: UInt64.self) == HashIndex.magic else {
            return "bad magic"
        }
        guard file.load(8, as: UInt32.self) == TokenStore.formatVersion else { return "format version" }
        guard file.load(12, as: UInt32.self) == UInt32(shard) else { return "belongs to another shard" }
        guard file.load(32, as: UInt64.self) == headerChecksum() else { return "header checksum" }
        let log2 = file.load(16, as: UInt32.self)
        guard log2 >= UInt32(HashIndex.minimumCapacity.trailingZeroBitCount), log2 <= 40, HashIndex.fileSize(capacity: 1 << Int(log2)) <= file.size else {
            return "capacity out of bounds"
        }
        guard count >= 0, count <= capacity else { return "count exceeds capacity" }
        return nil
    }

    private func headerChecksum() -> UInt64 { hash64(file.bytes(0, 32)) }

    func seal() { file.store(headerChecksum(), 32) }

    /// The table's slots, for lookups and changes under the stripe lock.
    @inline(__always) var pages: IndexPages { IndexPages(file: file.pages) }
    var capacity: Int { pages.capacity }
    var count: Int { pages.count }

    /// Makes room for `extra` more entries below the load factor, rehashing into a table
    /// twice as large when needed. Runs under the shard's lock only.
    func reserve(_ extra: Int) throws(SystemError) {
        guard !pages.hasRoom(for: extra) else { return }
        let need = count + extra
        var newCapacity = capacity * 2
        while need * 4 > newCapacity * 3 { newCapacity *= 2 }
        let oldCapacity = capacity
        let old = UnsafeMutableRawBufferPointer.allocate(byteCount: oldCapacity * 16, alignment: 8)
        defer { old.deallocate() }
        old.copyMemory(from: file.bytes(HashIndex.headerSize, oldCapacity * 16))
        try file.grow(to: HashIndex.fileSize(capacity: newCapacity))
        let shard = Int(file.load(12, as: UInt32.self))
        HashIndex.format(file, shard: shard, capacity: newCapacity)
        for i in 0..<oldCapacity {
            let h = old.load(fromByteOffset: i * 16, as: UInt64.self)
            if h != 0 { pages.insert(h, Ref(raw: old.load(fromByteOffset: i * 16 + 8, as: UInt64.self))) }
        }
    }
}

/// A hash index's slots reached through its pages: the lookups and changes of the hot path.
///
/// A plain value over `MappedPages`, with no class reference: copying it, or reading it out
/// of the store's shard table, costs no retain (a locked instruction, which would wait for the
/// cache misses in flight). Growth stays with `HashIndex.reserve`, which the write calls
/// before it changes anything. Valid under the shard's stripe lock.
struct IndexPages {
    let file: MappedPages

    var capacity: Int { 1 << Int(file.load(16, as: UInt32.self)) }
    var count: Int { Int(truncatingIfNeeded: file.load(24, as: UInt64.self)) }
    private func setCount(_ n: Int) { file.store(UInt64(truncatingIfNeeded: n), 24) }

    /// Whether `extra` more entries fit below the load factor of three quarters.
    @inline(__always) func hasRoom(for extra: Int) -> Bool { (count + extra) * 4 <= capacity * 3 }

    @inline(__always) func slotOffset(_ slot: Int) -> Int { HashIndex.headerSize + slot * 16 }
    @inline(__always) func hash(at slot: Int) -> UInt64 { file.load(slotOffset(slot), as: UInt64.self) }
    @inline(__always) func ref(at slot: Int) -> Ref { Ref(raw: file.load(slotOffset(slot) + 8, as: UInt64.self)) }
    func setRef(_ ref: Ref, at slot: Int) { file.store(ref.raw, slotOffset(slot) + 8) }

    /// The slot where the probe for `hash` starts: batched lookups touch it before probing.
    @inline(__always) func homeSlot(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: HashIndex.stored(hash)) & (capacity - 1) }

    /// The slot whose hash equals `hash` and whose reference `matches` accepts.
    /// - Complexity: O(probe length), expected O(1) at the 0.75 load factor.
    @inline(__always)
    func find(_ hash: UInt64, _ matches: (Ref) throws -> Bool) rethrows -> Int? {
        let h = HashIndex.stored(hash)
        let mask = capacity - 1
        var slot = homeSlot(hash)
        var probes = 0
        while probes <= mask {
            let s = self.hash(at: slot)
            if s == 0 { return nil }
            if s == h, try matches(ref(at: slot)) { return slot }
            slot = (slot + 1) & mask
            probes += 1
        }
        return nil
    }

    /// Adds an entry and returns its slot. The caller has checked it is absent and called
    /// `reserve`.
    @discardableResult
    func insert(_ hash: UInt64, _ ref: Ref) -> Int {
        let h = HashIndex.stored(hash)
        let mask = capacity - 1
        var slot = Int(truncatingIfNeeded: h) & mask
        while self.hash(at: slot) != 0 { slot = (slot + 1) & mask }
        file.store(h, slotOffset(slot))
        file.store(ref.raw, slotOffset(slot) + 8)
        setCount(count &+ 1)
        return slot
    }

    /// Removes the entry in `slot`, shifting later members of its probe run back so that no
    /// lookup stops early at the hole.
    func remove(at slot: Int) {
        let mask = capacity - 1
        var hole = slot
        var next = (slot + 1) & mask
        while true {
            let h = hash(at: next)
            if h == 0 { break }
            let home = Int(truncatingIfNeeded: h) & mask
            // Move `next` into the hole unless its home lies cyclically in (hole, next].
            let distanceToNext = (next - home) & mask
            let distanceToHole = (hole - home) & mask
            if distanceToHole < distanceToNext || distanceToHole == 0 {
                file.store(h, slotOffset(hole))
                file.store(ref(at: next).raw, slotOffset(hole) + 8)
                hole = next
            }
            next = (next + 1) & mask
        }
        file.store(UInt64(0), slotOffset(hole))
        file.store(UInt64(0), slotOffset(hole) + 8)
        setCount(count &- 1)
    }

    /// Calls `body` with every occupied slot's reference.
    func forEach(_ body: (Ref) throws -> Void) rethrows {
        for slot in 0..<capacity where hash(at: slot) != 0 {
            try body(ref(at: slot))
        }
    }
}
