/// A user: subscription state, the user → keys index entries, and the changelog's ends.
///
/// ```
/// 0 capacity u32 | 4 kind | 5 subscription | 6 user length u16 | 8 checksum u32
/// 16 opted-in at | 24 unsubscribed at | 32 subscription event time (i64 ms; 0 = never)
/// 40 oldest change (heap offset) | 48 newest change | 56 change count u32
/// 60 entries u32 | 64 entry slots u32 | 68 app slots u32
/// 72 visible entries u32 | 76 reachable entries u32 | 80 entry digest u64 | 88 reserved
/// 96 user id, padded to 8 | app slots of `app hash u64 | visible entries u64`
///    | entry slots of `key ref u64 | app hash u64 | flags u64`
/// ```
/// Entry flags: bit 0 the token allows visible push, bit 1 it is quarantined. They let segment
/// membership be decided without visiting the key records in other shards.
///
/// No write costs O(tokens of the user), so that a placeholder user ("guest") holding tens
/// of thousands of devices writes as fast as anyone:
/// - the entries are an open-addressing set keyed by the key's reference (linear probing,
///   backward-shift deletion), so finding, adding and removing one is O(1);
/// - the counts of visible and of reachable (non-quarantined) entries, and per app the
///   visible ones, are kept as entries change, so membership is read, not recomputed;
/// - the checksum covers the fixed part, the user id and the app slots; the entries are
///   covered by `entry digest`, the XOR of a hash of each entry, which an entry's change
///   updates in O(1) and `verify` recomputes.
struct UserRecord: HeapRecord {
    let file: MappedPages
    let offset: Int

    init(pages: MappedPages, offset: Int) {
        self.file = pages
        self.offset = offset
    }

    static let fixedSize = 96
    static let entrySize = 24
    static let appSlotSize = 16
    static let visible: UInt64 = 1
    static let quarantined: UInt64 = 2
    /// The most entries a record holds: its block's capacity is a `u32`.
    static let maxEntries = 100_000_000

    static func size(user: Int, appSlots: Int, entrySlots: Int) -> Int {
        fixedSize + pad8(user) + appSlots * appSlotSize + entrySlots * entrySize
    }

    var userLength: Int { u16(6) }
    var entryCount: Int { u32(60) }
    var entrySlots: Int { u32(64) }
    var appSlots: Int { u32(68) }
    var visibleEntries: Int { u32(72) }
    var reachableEntries: Int { u32(76) }
    var entryDigest: UInt64 { u64(80) }
    /// The bytes the checksum covers: everything but the entry slots.
    var length: Int { UserRecord.fixedSize + pad8(userLength) + appSlots * UserRecord.appSlotSize }
    var size: Int { length + entrySlots * UserRecord.entrySize }
    var isPlausible: Bool {
        kind == RecordKind.user.rawValue && entrySlots.nonzeroBitCount == 1 && appSlots.nonzeroBitCount == 1
            && entryCount <= entrySlots && size <= capacity
    }

    var user: UnsafeRawBufferPointer { bytes(UserRecord.fixedSize, userLength) }
    var subscription: Subscription { Subscription(rawValue: u8(5)) ?? .subscribed }
    var optedInAt: Int64 { i64(16) }
    var unsubscribedAt: Int64 { i64(24) }
    var subscriptionEventAt: Int64 { i64(32) }
    var oldestChange: Int { Int(truncatingIfNeeded: u64(40)) }
    var newestChange: Int { Int(truncatingIfNeeded: u64(48)) }
    var changeCount: Int { u32(56) }

    var state: UserState {
        UserState(
            subscription: subscription, optedInAt: optedInAt == 0 ? nil : optedInAt,
            unsubscribedAt: unsubscribedAt == 0 ? nil : unsubscribedAt)
    }

    // MARK: Entries

    /// Whether one more entry fits without growing: three quarters of the slots, or all of
    /// them in the smallest tables, whose probes are bounded by their size.
    var hasRoomForEntry: Bool {
        let slots = entrySlots
        return slots <= 4 ? entryCount < slots : (entryCount + 1) * 4 <= slots * 3
    }

    @inline(__always) private var entriesStart: Int { length }
    @inline(__always) private func entryOffset(_ slot: Int) -> Int { entriesStart + slot * UserRecord.entrySize }
    @inline(__always) private static func home(_ ref: Ref, _ mask: Int) -> Int { Int(truncatingIfNeeded: mix64(ref.raw)) & mask }

    /// The entry in `slot`, or nil for an empty slot (no key reference is zero).
    @inline(__always) func entry(atSlot slot: Int) -> Ref? {
        let raw = u64(entryOffset(slot))
        return raw == 0 ? nil : Ref(raw: raw)
    }
    func entryAppHash(atSlot slot: Int) -> UInt64 { u64(entryOffset(slot) + 8) }
    func entryFlags(atSlot slot: Int) -> UInt64 { u64(entryOffset(slot) + 16) }

    /// Calls `body` with each entry's reference and flags, in slot order, until it returns
    /// false; returns whether it ran to the end.
    @discardableResult
    func forEachEntry(_ body: (Ref, UInt64) throws -> Bool) rethrows -> Bool {
        for slot in 0..<entrySlots {
            if let ref = entry(atSlot: slot), try !body(ref, entryFlags(atSlot: slot)) { return false }
        }
        return true
    }

    /// The slot holding `ref`. O(1) expected.
    func slot(of ref: Ref) -> Int? {
        let mask = entrySlots - 1
        var slot = UserRecord.home(ref, mask)
        for _ in 0...mask {
            guard let found = entry(atSlot: slot) else { return nil }
            if found.offset == ref.offset && found.shard == ref.shard { return slot }
            slot = (slot + 1) & mask
        }
        return nil
    }

    /// Loads the home slot of `ref`'s entry, so that its miss starts early (`Registry.touch`).
    @inline(__always) func touchEntrySlot(of ref: Ref) -> UInt64 {
        let slots = entrySlots
        guard slots.nonzeroBitCount == 1, offset + size <= file.size else { return 0 }
        return u64(entryOffset(UserRecord.home(ref, slots - 1)))
    }

    /// Adds an entry; the caller checked `hasRoomForEntry` and that `ref` is absent.
    func insertEntry(ref: Ref, appHash: UInt64, flags: UInt64) {
        let mask = entrySlots - 1
        var slot = UserRecord.home(ref, mask)
        while entry(atSlot: slot) != nil { slot = (slot + 1) & mask }
        storeEntry(slot, ref: ref.raw, appHash: appHash, flags: flags)
        set(UInt32(truncatingIfNeeded: entryCount + 1), 60)
        account(appHash: appHash, flags: flags, ref: ref.raw, sign: 1)
    }

    /// Removes the entry in `slot`, shifting later members of its probe run back.
    func removeEntry(atSlot slot: Int) {
        account(appHash: entryAppHash(atSlot: slot), flags: entryFlags(atSlot: slot), ref: u64(entryOffset(slot)), sign: -1)
        let mask = entrySlots - 1
        var hole = slot
        var next = (slot + 1) & mask
        while let ref = entry(atSlot: next), next != slot {
            let home = UserRecord.home(ref, mask)
            let distanceToNext = (next - home) & mask, distanceToHole = (hole - home) & mask
            if distanceToHole < distanceToNext || distanceToHole == 0 {
                storeEntry(hole, ref: ref.raw, appHash: entryAppHash(atSlot: next), flags: entryFlags(atSlot: next))
                hole = next
            }
            next = (next + 1) & mask
        }
        storeEntry(hole, ref: 0, appHash: 0, flags: 0)
        set(UInt32(truncatingIfNeeded: entryCount - 1), 60)
    }

    func setEntryFlags(atSlot slot: Int, _ flags: UInt64) {
        let appHash = entryAppHash(atSlot: slot), ref = u64(entryOffset(slot))
        account(appHash: appHash, flags: entryFlags(atSlot: slot), ref: ref, sign: -1)
        set(flags, entryOffset(slot) + 16)
        account(appHash: appHash, flags: flags, ref: ref, sign: 1)
    }

    @inline(__always) private func storeEntry(_ slot: Int, ref: UInt64, appHash: UInt64, flags: UInt64) {
        set(ref, entryOffset(slot))
        set(appHash, entryOffset(slot) + 8)
        set(flags, entryOffset(slot) + 16)
    }

    /// One entry's share of `entry digest`: independent of its slot, so moves keep it.
    @inline(__always) static func digest(ref: UInt64, appHash: UInt64, flags: UInt64) -> UInt64 {
        mix64(ref ^ mix64(appHash ^ (flags &* 0x9E37_79B9_7F4A_7C15)))
    }

    /// Moves the counts and the digest by one entry's worth.
    private func account(appHash: UInt64, flags: UInt64, ref: UInt64, sign: Int) {
        set(entryDigest ^ UserRecord.digest(ref: ref, appHash: appHash, flags: flags), 80)
        guard flags & UserRecord.quarantined == 0 else { return }
        set(UInt32(truncatingIfNeeded: reachableEntries + sign), 76)
        guard flags & UserRecord.visible != 0 else { return }
        set(UInt32(truncatingIfNeeded: visibleEntries + sign), 72)
        addVisible(app: appHash, sign)
    }

    /// The digest recomputed from the entries, for `verify`. O(entries).
    var recomputedEntryDigest: UInt64 {
        var d: UInt64 = 0
        for slot in 0..<entrySlots where entry(atSlot: slot) != nil {
            d ^= UserRecord.digest(ref: u64(entryOffset(slot)), appHash: entryAppHash(atSlot: slot), flags: entryFlags(atSlot: slot))
        }
        return d
    }

    // MARK: Apps

    @inline(__always) private var appsStart: Int { UserRecord.fixedSize + pad8(userLength) }
    @inline(__always) private func appOffset(_ slot: Int) -> Int { appsStart + slot * UserRecord.appSlotSize }

    /// The app slot of `appHash`, or the empty slot where it would go; nil when the table is full.
    private func appSlot(_ appHash: UInt64) -> (slot: Int, found: Bool)? {
        let key = appHash | 1  // zero marks an empty slot
        let mask = appSlots - 1
        var slot = Int(truncatingIfNeeded: mix64(key)) & mask
        for _ in 0...mask {
            let stored = u64(appOffset(slot))
            if stored == key { return (slot, true) }
            if stored == 0 { return (slot, false) }
            slot = (slot + 1) & mask
        }
        return nil
    }

    /// Visible, reachable entries for the app with hash `appHash`.
    func visibleEntries(app appHash: UInt64) -> Int {
        guard let (slot, found) = appSlot(appHash), found else { return 0 }
        return Int(truncatingIfNeeded: u64(appOffset(slot) + 8))
    }

    /// Whether a visible entry for `appHash` can be counted without growing: its app has a
    /// slot, or a slot is free.
    func hasRoomForVisible(app appHash: UInt64) -> Bool { appSlot(appHash) != nil }

    private func addVisible(app appHash: UInt64, _ sign: Int) {
        // The caller made room (`hasRoomForVisible`); a full table here means damage, which
        // `verify` reports as counts that disagree with the entries.
        guard let (slot, found) = appSlot(appHash) else { return }
        if !found { set(appHash | 1, appOffset(slot)) }
        set(UInt64(bitPattern: Int64(truncatingIfNeeded: u64(appOffset(slot) + 8)) &+ Int64(sign)), appOffset(slot) + 8)
    }

    /// Calls `body` with each app slot's hash and visible count, for growth and `verify`.
    func forEachApp(_ body: (UInt64, Int) throws -> Void) rethrows {
        for slot in 0..<appSlots where u64(appOffset(slot)) != 0 {
            try body(u64(appOffset(slot)), Int(truncatingIfNeeded: u64(appOffset(slot) + 8)))
        }
    }

    // MARK: Membership

    /// Whether the user has a visible, non-quarantined token, any non-quarantined token,
    /// and one for the app with hash `app` (when given). O(1) in the user's tokens.
    func membership(app: UInt64? = nil) -> (visible: Bool, any: Bool, app: Bool) {
        (visibleEntries > 0, reachableEntries > 0, app.map { visibleEntries(app: $0) > 0 } ?? false)
    }

    /// Segment flags kept in the user's index slot: bit 0 Foreground Push Enabled, bit 1
    /// Background or Foreground Push Enabled, bits 2–3 the subscription.
    var slotFlags: UInt64 {
        let enabled = subscription != .unsubscribed
        return (enabled && visibleEntries > 0 ? 1 : 0) | (enabled && reachableEntries > 0 ? 2 : 0)
            | UInt64(subscription.rawValue) << 2
    }

    /// A test on an index slot's raw reference that keeps the user entries whose slot flags
    /// may be in `segment` (what `member(flags:of:)` does not rule out) and, with
    /// `foregroundEnabled`, have the Foreground Push Enabled bit: `raw & mask == value`.
    ///
    /// One AND and one compare per slot, so that a scan over an index shared with keys and
    /// tokens stays cheap. An empty slot's reference is zero, which no filter keeps.
    struct SlotFilter {
        let mask: UInt64
        let value: UInt64

        init(_ segment: Segment, foregroundEnabled: Bool) {
            var (mask, value) = UserRecord.flagTest(of: segment) ?? (0, 0)
            if foregroundEnabled { (mask, value) = (mask | 1, value | 1) }
            self.mask = 0xF << 60 | mask << 44
            self.value = Ref.Kind.user.rawValue << 60 | value << 44
        }

        @inline(__always) func keeps(_ raw: UInt64) -> Bool { raw & mask == value }
    }

    /// The slot-flag test of a segment: a user is a member when `flags & mask == value`. `nil`
    /// for the per-app segment, which the slot flags cannot decide.
    static func flagTest(of segment: Segment) -> (mask: UInt64, value: UInt64)? {
        switch segment {
        case .foregroundPushEnabled: return (1, 1)
        case .backgroundOrForegroundPushEnabled: return (2, 2)
        case .subscription(let s): return (0b1100, UInt64(s.rawValue) << 2)
        case .foregroundPushEnabledForApp: return nil
        }
    }

    static func member(flags: UInt64, of segment: Segment) -> Bool? {
        flagTest(of: segment).map { flags & $0.mask == $0.value }
    }

    /// Whether the user belongs to `segment` (`appHash`: the per-app segment's app). The
    /// slot flags decide every segment but the per-app one, which needs the entries.
    @inline(__always)
    func isMember(of segment: Segment, appHash: UInt64) -> Bool {
        UserRecord.member(flags: slotFlags, of: segment) ?? membership(app: appHash).app
    }

    func setSubscription(_ s: Subscription, at: Int64) {
        set(s.rawValue, 5)
        set(at, 32)
        if s == .optedIn { set(at, 16) }
        if s == .unsubscribed { set(at, 24) }
    }

    /// Sets the whole subscription state as a backup recorded it (0 = never, for each time).
    func restoreSubscription(_ s: Subscription, eventAt: Int64, optedInAt: Int64, unsubscribedAt: Int64) {
        set(s.rawValue, 5)
        set(eventAt, 32)
        set(optedInAt, 16)
        set(unsubscribedAt, 24)
    }

    func setChangelog(oldest: Int, newest: Int, count: Int) {
        set(UInt64(truncatingIfNeeded: oldest), 40)
        set(UInt64(truncatingIfNeeded: newest), 48)
        set(UInt32(count), 56)
    }

    /// Writes an empty record (subscribed, no entries) with room for `entrySlots` entries and
    /// `appSlots` apps, both powers of two.
    static func initialize(
        _ file: MappedPages, at offset: Int, user: UnsafeRawBufferPointer, appSlots: Int, entrySlots: Int
    ) -> UserRecord {
        let r = UserRecord(pages: file, offset: offset)
        file.zero(offset + 4, size(user: user.count, appSlots: appSlots, entrySlots: entrySlots) - 4)
        r.set(RecordKind.user.rawValue, 4)
        r.set(Subscription.subscribed.rawValue, 5)
        r.set(UInt16(user.count), 6)
        r.set(UInt32(entrySlots), 64)
        r.set(UInt32(appSlots), 68)
        file.copy(user, to: offset + fixedSize)
        return r
    }

    /// Copies this record's state into a fresh block with larger tables: the fixed part and
    /// the user id as they are, the apps and entries rehashed.
    func copy(to newOffset: Int, appSlots newAppSlots: Int, entrySlots newEntrySlots: Int) -> UserRecord {
        let moved = UserRecord.initialize(file, at: newOffset, user: user, appSlots: newAppSlots, entrySlots: newEntrySlots)
        file.copy(bytes(5, 1), to: newOffset + 5)
        file.copy(bytes(16, 44), to: newOffset + 16)  // times and the changelog's ends
        for slot in 0..<entrySlots {
            if let ref = entry(atSlot: slot) {
                moved.insertEntry(ref: ref, appHash: entryAppHash(atSlot: slot), flags: entryFlags(atSlot: slot))
            }
        }
        return moved
    }
}

/// One changelog entry, chained from oldest to newest through `next`.
///
/// ```
/// 0 capacity u32 | 4 kind | 5 change kind | 6 link check u16 | 8 checksum u32 | 12 next u32
/// 16 at (i64) | 24 device, app, token, other user, detail lengths (u16 each) | 40 the five strings
/// ```
///
/// The link lies outside the checksum (bytes 16 on), so appending an entry sets its
/// predecessor's `next` without hashing that whole record again; the link carries its own
/// 16-bit check over the link and the record's place instead. `next` is stored in 16-byte
/// units (heap blocks are 16-byte aligned), so a 32-bit link reaches 64 GiB.
struct ChangeRecord: HeapRecord {
    let file: MappedPages
    let offset: Int

    init(pages: MappedPages, offset: Int) {
        self.file = pages
        self.offset = offset
    }

    static let fixedSize = 40

    var length: Int { ChangeRecord.fixedSize + u16(24) + u16(26) + u16(28) + u16(30) + u16(32) }
    var isPlausible: Bool { kind == RecordKind.change.rawValue && length <= capacity }

    /// The next entry's offset; -1, which no heap block has, when the link fails its check.
    var next: Int {
        let units = u32(12)
        return u16(6) == ChangeRecord.linkCheck(units: units, at: offset) ? units << 4 : -1
    }

    /// Links the entry to the one at `next`; no reseal needed.
    func setNext(_ next: Int) {
        let units = next >> 4
        set(UInt32(truncatingIfNeeded: units), 12)
        set(UInt16(ChangeRecord.linkCheck(units: units, at: offset)), 6)
    }

    private static func linkCheck(units: Int, at offset: Int) -> Int {
        Int(truncatingIfNeeded: mix64(UInt64(truncatingIfNeeded: units) ^ UInt64(truncatingIfNeeded: offset) << 32) >> 48)
    }

    func view() -> ChangeView {
        var at = ChangeRecord.fixedSize
        func take(_ lengthAt: Int) -> UnsafeRawBufferPointer {
            defer { at += u16(lengthAt) }
            return bytes(at, u16(lengthAt))
        }
        let device = take(24), app = take(26), token = take(28), other = take(30), detail = take(32)
        return ChangeView(
            at: i64(16), kind: ChangeKind(rawValue: u8(5)) ?? .registered, deviceID: device, appID: app,
            token: token, otherUserID: other, detail: detail)
    }

    /// Stores one string at file offset `at` and its length in the fixed part; returns where the next goes.
    @inline(__always) private func put(_ s: UnsafeRawBufferPointer, lengthAt: Int, at: Int) -> Int {
        set(UInt16(s.count), lengthAt)
        file.copy(s, to: at)
        return at + s.count
    }

    /// Writes an entry; the five strings follow the fixed part in this order.
    static func write(
        _ file: MappedPages, at offset: Int, kind: ChangeKind, time: Int64, device: UnsafeRawBufferPointer,
        app: UnsafeRawBufferPointer, token: UnsafeRawBufferPointer, other: UnsafeRawBufferPointer,
        detail: UnsafeRawBufferPointer
    ) -> ChangeRecord {
        let r = ChangeRecord(file: file, offset: offset)
        r.set(RecordKind.change.rawValue, 4)
        r.set(kind.rawValue, 5)
        r.set(time, 16)
        r.setNext(0)
        var at = offset + fixedSize
        at = r.put(device, lengthAt: 24, at: at)
        at = r.put(app, lengthAt: 26, at: at)
        at = r.put(token, lengthAt: 28, at: at)
        at = r.put(other, lengthAt: 30, at: at)
        _ = r.put(detail, lengthAt: 32, at: at)
        r.seal()
        return r
    }
}

/// A per-app segment counter: users of this shard with a visible token for the app.
///
/// `0 capacity | 4 kind | 6 app length u16 | 8 checksum | 16 count (i64) | 24 app id`
struct AppCounterRecord: HeapRecord {
    let file: MappedPages
    let offset: Int

    init(pages: MappedPages, offset: Int) {
        self.file = pages
        self.offset = offset
    }

    var length: Int { 24 + u16(6) }
    var isPlausible: Bool { kind == RecordKind.app.rawValue && length <= capacity }
    var app: UnsafeRawBufferPointer { bytes(24, u16(6)) }
    var count: Int64 { i64(16) }
    func add(_ delta: Int64) {
        set(count &+ delta, 16)
        seal()
    }

    static func write(_ file: MappedPages, at offset: Int, app: UnsafeRawBufferPointer) -> AppCounterRecord {
        let r = AppCounterRecord(file: file, offset: offset)
        r.set(RecordKind.app.rawValue, 4)
        r.set(UInt16(app.count), 6)
        r.set(Int64(0), 16)
        file.copy(app, to: offset + 24)
        r.seal()
        return r
    }
}
