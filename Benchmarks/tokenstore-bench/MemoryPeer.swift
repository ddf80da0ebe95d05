/// The in-memory hash peer: the same three indexes as LMDB's, as Swift dictionaries over raw
/// bytes, with no lock, no changelog and no persistence. What a write costs when nothing is
/// durable: the floor the engine's goals are set against.
///
/// Records live in a slot array; the primary key (`device NUL app`) and the token map to a
/// slot, a user id to a user number, and each user keeps an array of their slots (each slot
/// remembers its position there, so a move is O(1) however many tokens the user holds).
/// Key, token and user bytes are copied into the peer's own arena once; lookups hash the
/// caller's bytes in place, with no allocation.
final class MemoryPeer: Peer {
    private struct Slot {
        var key: ByteKey
        var token: ByteKey
        /// The owner's number, or -1 when anonymous.
        var user: Int32
        /// Index of this slot in its owner's `userSlots` array.
        var position: Int32
        var platform: UInt8
        var authorization: UInt8
        var eventAt: Int64
        var registeredAt: Int64
    }

    private let arena = ByteArena()
    private let scratch = UnsafeMutableRawPointer.allocate(byteCount: 1024, alignment: 8)
    private var slots: [Slot] = []
    private var freeSlots: [Int32] = []
    private var primary: [ByteKey: Int32] = [:]
    private var tokens: [ByteKey: Int32] = [:]
    private var userNumbers: [ByteKey: Int32] = [:]
    private var userSlots: [[Int32]] = []

    /// An empty store with its tables sized for `records` records up front (as LMDB's map
    /// is), so that no phase pays for rehashing.
    init(records: Int) {
        slots.reserveCapacity(records)
        primary.reserveCapacity(records)
        tokens.reserveCapacity(records)
        userNumbers.reserveCapacity(records)
        userSlots.reserveCapacity(records)
    }

    deinit { scratch.deallocate() }

    func begin(_ phase: PeerPhase) {}
    func finish(_ phase: PeerPhase) {}

    func register(_ input: RegisterInput) -> Outcome {
        let key = compose(input.deviceID, input.appID)
        let existing = primary[key]
        if let existing, input.at < slots[Int(existing)].eventAt { return .stale }
        let token = ByteKey(input.token.bytes)
        if let holder = tokens[token], holder != existing { remove(holder) }
        let user = input.userID.map { userNumber($0.bytes) }
        if let slot = existing.map(Int.init) {
            if slots[slot].token != token {
                tokens.removeValue(forKey: slots[slot].token)
                slots[slot].token = stored(token)
                tokens[slots[slot].token] = Int32(slot)
            }
            // A registration without a user keeps the owner.
            if let user, user != slots[slot].user {
                detach(slot)
                attach(slot, to: user)
            }
            slots[slot].platform = UInt8(input.platform)
            slots[slot].authorization = UInt8(input.authorization)
            slots[slot].eventAt = input.at
            slots[slot].registeredAt = input.at
            return .applied
        }
        let record = Slot(
            key: stored(key), token: stored(token), user: -1, position: 0, platform: UInt8(input.platform),
            authorization: UInt8(input.authorization), eventAt: input.at, registeredAt: input.at)
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = Int(free)
            slots[slot] = record
        } else {
            slot = slots.count
            slots.append(record)
        }
        primary[record.key] = Int32(slot)
        tokens[record.token] = Int32(slot)
        if let user { attach(slot, to: user) }
        return .applied
    }

    func changeUser(_ input: ChangeUserInput) -> Outcome {
        guard let found = primary[compose(input.deviceID, input.appID)] else { return .missing }
        let slot = Int(found)
        if input.at < slots[slot].eventAt { return .stale }
        let user = input.userID.map { userNumber($0.bytes) } ?? -1
        if user != slots[slot].user {
            detach(slot)
            if user >= 0 { attach(slot, to: user) }
        }
        slots[slot].eventAt = input.at
        return .applied
    }

    func bounce(_ input: BounceInput) -> Outcome {
        guard let slot = tokens[ByteKey(input.token.bytes)] else { return .missing }
        guard input.removes else { return .kept }
        if input.providerTimestamp != 0, input.providerTimestamp < slots[Int(slot)].registeredAt { return .staleBounce }
        remove(slot)
        return .removed
    }

    func get(_ input: GetInput) -> Outcome {
        guard let slot = primary[compose(input.deviceID, input.appID)] else { return .missing }
        return slots[Int(slot)].token.count > 0 ? .found : .missing
    }

    func liveTokens() -> Int {
        guard primary.count == tokens.count else {
            fail("in-memory peer: \(primary.count) records but \(tokens.count) token index entries")
        }
        return primary.count
    }

    func close() {
        slots = []
        freeSlots = []
        primary = [:]
        tokens = [:]
        userNumbers = [:]
        userSlots = []
    }

    // MARK: Plumbing

    /// `device NUL app` in the scratch buffer, valid until the next call.
    @inline(__always)
    private func compose(_ device: Text, _ app: Text) -> ByteKey {
        precondition(device.count + 1 + app.count <= 1024, "key too long")
        scratch.copyMemory(from: device.base, byteCount: device.count)
        scratch.storeBytes(of: 0, toByteOffset: device.count, as: UInt8.self)
        (scratch + device.count + 1).copyMemory(from: app.base, byteCount: app.count)
        return ByteKey(UnsafeRawBufferPointer(start: scratch, count: device.count + 1 + app.count))
    }

    /// A copy of `key` in the arena, to be kept in an index.
    private func stored(_ key: ByteKey) -> ByteKey { ByteKey(arena.text(key.bytes).bytes) }

    /// The number of the user with id `bytes`, created if new.
    @inline(__always)
    private func userNumber(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        if let number = userNumbers[ByteKey(bytes)] { return number }
        let number = Int32(userSlots.count)
        userSlots.append([])
        userNumbers[stored(ByteKey(bytes))] = number
        return number
    }

    private func attach(_ slot: Int, to user: Int32) {
        slots[slot].user = user
        slots[slot].position = Int32(userSlots[Int(user)].count)
        userSlots[Int(user)].append(Int32(slot))
    }

    /// Takes the slot out of its owner's set (swapping the last slot into its place).
    private func detach(_ slot: Int) {
        let user = Int(slots[slot].user)
        guard user >= 0 else { return }
        let position = Int(slots[slot].position)
        let last = userSlots[user].removeLast()
        if Int(last) != slot {
            userSlots[user][position] = last
            slots[Int(last)].position = Int32(position)
        }
        slots[slot].user = -1
    }

    /// Deletes the record in `slot` and its index entries.
    private func remove(_ slot: Int32) {
        let index = Int(slot)
        primary.removeValue(forKey: slots[index].key)
        tokens.removeValue(forKey: slots[index].token)
        detach(index)
        freeSlots.append(slot)
    }
}

/// Bytes compared and hashed by content, pointing at memory that outlives their use as a key.
struct ByteKey: Hashable {
    let base: UnsafeRawPointer
    let count: Int

    @inline(__always)
    init(_ bytes: UnsafeRawBufferPointer) {
        base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        count = bytes.count
    }

    @inline(__always)
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    @inline(__always)
    static func == (a: ByteKey, b: ByteKey) -> Bool { same(a.bytes, b.bytes) }

    @inline(__always)
    func hash(into hasher: inout Hasher) { hasher.combine(bytes: bytes) }
}
