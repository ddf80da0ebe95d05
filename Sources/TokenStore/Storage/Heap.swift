/// The record heap of one shard: a mapped file of variable-size records with segregated
/// free lists, a bump pointer, and the shard's counters in its header.
///
/// Layout (little-endian):
/// ```
/// 0     magic "TSHEAP01"         8  format version (u32)   12 shard index (u32)
/// 16    bump pointer (u64)       24 live bytes (u64)       32 dead bytes (u64)
/// 40    header checksum (u64)    48 counters [64 × u64]
/// 560   free-list heads [284 × u64]: 256 classes of 16 B steps, then powers of two
/// 4096  records, each starting with a 16-byte header whose first field is its capacity
/// ```
/// Freed blocks keep their capacity and chain through offset 16. Space from deleted or moved
/// records is reused by the next record of the same size class.
struct Heap {
    static let magic: UInt64 = 0x3130_5041_4548_5354  // "TSHEAP01"
    /// The changelog heap's magic: a `.heap` file swapped in for a `.changes` file (or the
    /// reverse) must fail validation, not be read as the other kind.
    static let changesMagic: UInt64 = 0x3130_474E_4843_5354  // "TSCHNG01"
    static let headerSize = 4096
    static let counterBase = 48
    static let counterCount = 64
    static let freeBase = 560
    static let smallClasses = 256
    static let largeClasses = 28
    static let checksumOffset = 40

    let file: MappedFile
    /// `Heap.magic` or `Heap.changesMagic`.
    var magic: UInt64 = Heap.magic

    /// Creates the header of a fresh heap.
    static func format(_ file: MappedFile, shard: Int, magic: UInt64 = Heap.magic) {
        file.store(magic, 0)
        file.store(TokenStore.formatVersion, 8)
        file.store(UInt32(shard), 12)
        file.store(UInt64(headerSize), 16)
        Heap(file: file).seal()
    }

    /// Checks the header written by the last checkpoint; `nil` when it is sound.
    func validate(shard: Int) -> String? {
        guard file.size >= Heap.headerSize, file.load(0, as: UInt64.self) == magic else {
            return "bad magic"
        }
        guard file.load(8, as: UInt32.self) == TokenStore.formatVersion else { return "format version" }
        guard file.load(12, as: UInt32.self) == UInt32(shard) else { return "belongs to another shard" }
        guard file.load(Heap.checksumOffset, as: UInt64.self) == headerChecksum() else { return "header checksum" }
        let used = Int(truncatingIfNeeded: file.load(16, as: UInt64.self))
        guard used >= Heap.headerSize, used <= file.size else { return "bump pointer out of bounds" }
        for c in 0..<(Heap.smallClasses + Heap.largeClasses) {
            let head = Int(truncatingIfNeeded: file.load(Heap.freeBase + c * 8, as: UInt64.self))
            guard head == 0 || pages.isPlausibleBlock(head) else { return "free list out of bounds" }
        }
        return nil
    }

    private func headerChecksum() -> UInt64 {
        hash64(file.bytes(0, Heap.checksumOffset)) ^ hash64(file.bytes(48, Heap.headerSize - 48))
    }

    /// Stamps the header checksum; the checkpointer calls this before journaling the page.
    func seal() {
        file.store(headerChecksum(), Heap.checksumOffset)
    }

    /// The heap's records and counters, for reads and writes under the stripe lock.
    @inline(__always) var pages: HeapPages { HeapPages(file: file.pages) }

    @inline(__always) static func capacity(for size: Int) -> Int {
        if size <= 4096 { return (size + 15) & ~15 }
        return 1 << (64 - (size - 1).leadingZeroBitCount)
    }

    @inline(__always) static func sizeClass(_ capacity: Int) -> Int {
        if capacity <= 4096 { return capacity / 16 - 1 }
        return Heap.smallClasses + (63 - capacity.leadingZeroBitCount) - 13
    }

    /// Grows the file so that `bytes` more can be bump-allocated without growing again.
    func reserve(_ bytes: Int) throws(SystemError) {
        guard !pages.hasRoom(for: bytes) else { return }
        let need = pages.used + bytes
        // Doubling from a new shard's few pages: small shards stay small, big ones grow by
        // up to 256 MiB at a time.
        let step = min(file.size, 256 << 20)
        var newSize = file.size + step
        if newSize < need { newSize = need }
        newSize = (newSize + MappedFile.pageSize - 1) & ~(MappedFile.pageSize - 1)
        try file.grow(to: newSize)
    }

    /// Consumes the sum of `touch` loads; opaque to the optimiser, so the loads stay.
    @inline(never) @_optimize(none) static func keep(_ touched: UInt64) {}
}

/// A heap's blocks and counters reached through its pages: allocation, freeing and the
/// counters, for the hot path.
///
/// A plain value over `MappedPages`, with no class reference, so that reading it costs no
/// retain (see `IndexPages`). Valid under the shard's stripe lock.
struct HeapPages {
    let file: MappedPages

    // Read with truncation: a damaged header must give wrong numbers or `corrupt`, never a trap.
    var used: Int { Int(truncatingIfNeeded: file.load(16, as: UInt64.self)) }
    var liveBytes: Int { Int(truncatingIfNeeded: file.load(24, as: UInt64.self)) }
    var deadBytes: Int { Int(truncatingIfNeeded: file.load(32, as: UInt64.self)) }

    /// Whether `bytes` more can be bump-allocated without growing the file.
    @inline(__always) func hasRoom(for bytes: Int) -> Bool { used + bytes <= file.size }

    /// Loads the 8 bytes at `offset` when they lie in the heap's used part (else nothing), so
    /// that a read starts the cache miss of a record's line before it needs it. Pass the sum
    /// of the loads to `Heap.keep`, which keeps the optimiser from dropping them.
    @inline(__always) func touch(_ offset: Int) -> UInt64 {
        offset >= 0 && offset + 8 <= used ? file.load(offset, as: UInt64.self) : 0
    }

    /// True when a block at `offset` lies inside the used part of the heap and its recorded
    /// capacity fits: the check every reference read from the file passes before use.
    @inline(__always) func isPlausibleBlock(_ offset: Int) -> Bool {
        guard offset >= Heap.headerSize, offset & 15 == 0, offset + 16 <= used, used <= file.size else {
            return false
        }
        let cap = Int(file.load(offset, as: UInt32.self))
        return cap >= 16 && cap <= used - offset
    }

    /// Allocates a block of at least `size` bytes and returns its offset. The block's first
    /// four bytes hold its capacity; the rest is the caller's.
    func allocate(_ size: Int) throws(SystemError) -> Int {
        let cap = Heap.capacity(for: max(size, 32))
        let cls = Heap.sizeClass(cap)
        let headOffset = Heap.freeBase + cls * 8
        let head = Int(truncatingIfNeeded: file.load(headOffset, as: UInt64.self))
        let offset: Int
        if head != 0, isPlausibleBlock(head), Int(file.load(head, as: UInt32.self)) == cap {
            file.store(file.load(head + 16, as: UInt64.self), headOffset)
            file.store(UInt64(truncatingIfNeeded: deadBytes &- cap), 32)
            offset = head
        } else {
            if !hasRoom(for: cap) { try grow(toFit: cap) }
            offset = used
            file.store(UInt64(offset + cap), 16)
        }
        file.store(UInt32(cap), offset)
        file.store(UInt64(truncatingIfNeeded: liveBytes &+ cap), 24)
        return offset
    }

    /// Returns a block to its size class's free list.
    func free(_ offset: Int) {
        let cap = Int(file.load(offset, as: UInt32.self))
        let headOffset = Heap.freeBase + Heap.sizeClass(cap) * 8
        file.store(UInt8(0), offset + 4)  // kind: free
        file.store(file.load(headOffset, as: UInt64.self), offset + 16)
        file.store(UInt64(offset), headOffset)
        file.store(UInt64(truncatingIfNeeded: liveBytes &- cap), 24)
        file.store(UInt64(truncatingIfNeeded: deadBytes &+ cap), 32)
    }

    // MARK: Counters

    @inline(__always) func counter(_ c: Counter) -> Int64 {
        file.load(Heap.counterBase + c.rawValue * 8, as: Int64.self)
    }

    /// Sets the counter to `value` when that is larger.
    func raise(_ c: Counter, to value: Int64) {
        let off = Heap.counterBase + c.rawValue * 8
        if file.load(off, as: Int64.self) < value { file.store(value, off) }
    }

    @inline(__always) func add(_ c: Counter, _ delta: Int64) {
        guard delta != 0 else { return }
        let off = Heap.counterBase + c.rawValue * 8
        file.store(file.load(off, as: Int64.self) &+ delta, off)
    }

    /// Grows the file for an allocation larger than the write reserved (a user record's
    /// tables doubling): the rare path, through the file that owns these pages.
    @inline(never)
    private func grow(toFit bytes: Int) throws(SystemError) {
        guard let owner = file.state.pointee.owner else { throw SystemError(errno: 12, operation: "grow", file: "heap") }
        try Heap(file: owner.takeUnretainedValue()).reserve(bytes)
    }
}

/// The per-shard counters kept in the heap header; summing them over shards answers
/// statistics and segment counts without a scan.
enum Counter: Int {
    case tokens = 0
    case platformIOS, platformAndroid, platformWeb
    case authForeground, authProvisional, authBackground
    case quarantined
    case users
    case subscribed, optedIn, unsubscribed
    case foregroundEnabledUsers
    case anyEnabledUsers
    case bounceRemoved, bounceQuarantined, bounceKept, bounceStale
    case bounceDead, bounceMisconfigured, bounceTransient, bouncePayload, bounceUnknown
    /// Tombstones kept in the shard (never counted as tokens).
    case tombstones
    /// The latest event time of a removal or sweep applied to the shard: the clock that
    /// tombstone retention is measured against. Only ever raised, by logged writes, so that
    /// replay reaches the same value.
    case tombstoneClock

    static func platform(_ p: Platform) -> Counter { Counter(rawValue: Counter.platformIOS.rawValue + Int(p.rawValue) - 1)! }
    static func authorization(_ a: Authorization) -> Counter {
        Counter(rawValue: Counter.authForeground.rawValue + Int(a.rawValue) - 1)!
    }
    static func subscription(_ s: Subscription) -> Counter { Counter(rawValue: Counter.subscribed.rawValue + Int(s.rawValue) - 1)! }
    static func outcome(_ o: BounceOutcome) -> Counter { Counter(rawValue: Counter.bounceRemoved.rawValue + Int(o.rawValue) - 1)! }
    static func category(_ c: BounceCategory) -> Counter { Counter(rawValue: Counter.bounceDead.rawValue + Int(c.rawValue) - 1)! }
}
