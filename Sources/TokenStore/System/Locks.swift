#if canImport(Glibc)
import Glibc
#endif

/// A mutex with a condition variable, at a stable heap address (as NIO's `NIOLock` keeps
/// its `pthread_mutex_t`), for the few places that must wait: group commit and the syncer.
final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    @inline(__always) func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) func unlock() { pthread_mutex_unlock(mutex) }

    @inline(__always) func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Waits for a broadcast; the lock must be held.
    func wait() { pthread_cond_wait(condition, mutex) }

    /// Waits for a broadcast or until `milliseconds` pass; the lock must be held.
    func wait(milliseconds: Int) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var nanos = Int(now.tv_nsec) + (milliseconds % 1000) * 1_000_000
        var deadline = timespec(tv_sec: now.tv_sec + milliseconds / 1000 + nanos / 1_000_000_000, tv_nsec: 0)
        nanos %= 1_000_000_000
        deadline.tv_nsec = nanos
        _ = pthread_cond_timedwait(condition, mutex, &deadline)
    }

    func broadcast() { pthread_cond_broadcast(condition) }
}

/// One reader-writer lock per shard, each padded to its own 128-byte line so that two
/// stripes never share a cache line (dashmap gained 30–50% from padding alone).
///
/// Operations that span stripes lock them in ascending index order, the one global order.
///
/// A plain value over the lock array, which `StripeLockStorage` owns: every write and read
/// takes stripe locks, and a class here would be retained on each, a locked instruction on a
/// reference count that every thread shares.
struct StripeLocks: @unchecked Sendable {
    fileprivate static let stride = 128
    private let base: UnsafeMutableRawPointer
    let count: Int

    fileprivate init(base: UnsafeMutableRawPointer, count: Int) {
        self.base = base
        self.count = count
    }

    fileprivate func deallocate() { base.deallocate() }

    @inline(__always) fileprivate func lock(_ i: Int) -> UnsafeMutablePointer<pthread_rwlock_t> {
        (base + i * StripeLocks.stride).assumingMemoryBound(to: pthread_rwlock_t.self)
    }

    @inline(__always) func lockShared(_ i: Int) { pthread_rwlock_rdlock(lock(i)) }
    @inline(__always) func lockExclusive(_ i: Int) { pthread_rwlock_wrlock(lock(i)) }
    @inline(__always) func unlock(_ i: Int) { pthread_rwlock_unlock(lock(i)) }

    /// Takes stripe `i` without waiting; false when another thread holds it.
    @inline(__always) func tryLock(_ i: Int, exclusive: Bool) -> Bool {
        (exclusive ? pthread_rwlock_trywrlock(lock(i)) : pthread_rwlock_tryrdlock(lock(i))) == 0
    }

    /// Locks every stripe in `set`, ascending.
    @inline(__always) func lock(_ set: ShardSet, exclusive: Bool) {
        set.forEach { exclusive ? lockExclusive($0) : lockShared($0) }
    }

    /// Unlocks every stripe in `set`.
    @inline(__always) func unlock(_ set: ShardSet) { set.forEach { unlock($0) } }

    /// Locks every stripe in `set` (ascending), runs `body`, and unlocks them.
    @inline(__always)
    func with<R, E: Error>(_ set: ShardSet, exclusive: Bool, _ body: () throws(E) -> R) throws(E) -> R {
        set.forEach { exclusive ? lockExclusive($0) : lockShared($0) }
        defer { set.forEach { unlock($0) } }
        return try body()
    }

    /// Locks every stripe shared (ascending), runs `body`, and unlocks them: for reads that
    /// follow references into any stripe while one stripe's index must hold still.
    @inline(__always)
    func withAllShared<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        for i in 0..<count { lockShared(i) }
        defer { for i in 0..<count { unlock(i) } }
        return try body()
    }

    /// Locks every stripe, for checkpoints and close.
    func withAll<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        for i in 0..<count { lockExclusive(i) }
        defer { for i in 0..<count { unlock(i) } }
        return try body()
    }
}

/// Owns the stripe locks' memory: initialises the locks, and destroys them with the store.
final class StripeLockStorage: @unchecked Sendable {
    let locks: StripeLocks

    init(count: Int) {
        precondition(MemoryLayout<pthread_rwlock_t>.size <= StripeLocks.stride)
        let base = UnsafeMutableRawPointer.allocate(byteCount: count * StripeLocks.stride, alignment: 128)
        for i in 0..<count {
            pthread_rwlock_init((base + i * StripeLocks.stride).assumingMemoryBound(to: pthread_rwlock_t.self), nil)
        }
        locks = StripeLocks(base: base, count: count)
    }

    deinit {
        for i in 0..<locks.count { pthread_rwlock_destroy(locks.lock(i)) }
        locks.deallocate()
    }
}

/// The stripes one operation needs, iterated in ascending order (the lock order).
///
/// Shards below 64 live in a bit mask, so the common case allocates nothing; larger shard
/// numbers (stores with more than 64 stripes) go to a sorted array.
struct ShardSet: Equatable {
    private var low: UInt64 = 0
    private var high: [Int] = []

    init() {}

    init(_ shards: Int...) {
        for s in shards { insert(s) }
    }

    @inline(__always) mutating func insert(_ shard: Int) {
        if shard < 64 {
            low |= 1 << UInt64(shard)
            return
        }
        var i = 0
        while i < high.count {
            if high[i] == shard { return }
            if high[i] > shard { break }
            i += 1
        }
        high.insert(shard, at: i)
    }

    @inline(__always) func contains(_ shard: Int) -> Bool {
        shard < 64 ? low & (1 << UInt64(shard)) != 0 : high.contains(shard)
    }

    /// The highest shard in the set, or -1 when it is empty.
    @inline(__always) var highest: Int {
        if let last = high.last { return last }
        return low == 0 ? -1 : 63 - low.leadingZeroBitCount
    }

    @inline(__always) func forEach(_ body: (Int) throws -> Void) rethrows {
        var bits = low
        while bits != 0 {
            try body(bits.trailingZeroBitCount)
            bits &= bits - 1
        }
        for s in high { try body(s) }
    }

    /// The shards in ascending order.
    var items: [Int] {
        var out: [Int] = []
        forEach { out.append($0) }
        return out
    }
}
