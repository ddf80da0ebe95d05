/// A user: subscription state, the user → keys index entries, and the changelog's ends.
///
/// ```
/// 0 capacity u32 | 4 kind | 5 subscription | 6 user length u16 | 8 checksum u32
/// 12 entry count u16 | 14 entry capacity u16
/// 16 opted-in at | 24 unsubscribed at | 32 subscription event time (i64 ms; 0 = never)
/// 40 oldest change (heap offset) | 48 newest change | 56 change count u32
/// 64 user id, padded to 8 | entries of `key ref u64 | app hash u64 | flags u64`
/// ```
/// Entry flags: bit 0 the token allows visible push, bit 1 it is quarantined. They let segment
/// membership be decided without visiting the key records in other shards.
struct UserRecord: HeapRecord {
    let unmanagedFile: Unmanaged<MappedFile>
    let offset: Int

    init(file: MappedFile, offset: Int) {
        unmanagedFile = .passUnretained(file)
        self.offset = offset
    }

    static let fixedSize = 64
    static let entrySize = 24
    static let visible: UInt64 = 1
    static let quarantined: UInt64 = 2

    static func size(user: Int, entries: Int) -> Int { fixedSize + pad8(user) + entries * entrySize }

    var userLength: Int { u16(6) }
    var entryCount: Int { u16(12) }
    var entryCapacity: Int { u16(14) }
    var length: Int { UserRecord.size(user: userLength, entries: entryCount) }
    var isPlausible: Bool {
        kind == RecordKind.user.rawValue && entryCount <= entryCapacity
            && UserRecord.size(user: userLength, entries: entryCapacity) <= capacity
    }

    var user: UnsafeRawBufferPointer { bytes(64, userLength) }
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

    private func entryOffset(_ i: Int) -> Int { 64 + pad8(userLength) + i * UserRecord.entrySize }
    func entryRef(_ i: Int) -> Ref { Ref(raw: u64(entryOffset(i))) }
    func entryAppHash(_ i: Int) -> UInt64 { u64(entryOffset(i) + 8) }
    func entryFlags(_ i: Int) -> UInt64 { u64(entryOffset(i) + 16) }

    func setEntry(_ i: Int, ref: Ref, appHash: UInt64, flags: UInt64) {
        set(ref.raw, entryOffset(i))
        set(appHash, entryOffset(i) + 8)
        set(flags, entryOffset(i) + 16)
    }

    func setEntryFlags(_ i: Int, _ flags: UInt64) { set(flags, entryOffset(i) + 16) }
    func setEntryRef(_ i: Int, _ ref: Ref) { set(ref.raw, entryOffset(i)) }

    func index(of ref: Ref) -> Int? {
        for i in 0..<entryCount where entryRef(i).offset == ref.offset && entryRef(i).shard == ref.shard { return i }
        return nil
    }

    /// Removes entry `i` by moving the last entry into its place.
    func removeEntry(_ i: Int) {
        let last = entryCount - 1
        if i != last { setEntry(i, ref: entryRef(last), appHash: entryAppHash(last), flags: entryFlags(last)) }
        set(UInt16(last), 12)
    }

    func appendEntry(ref: Ref, appHash: UInt64, flags: UInt64) {
        let n = entryCount
        setEntry(n, ref: ref, appHash: appHash, flags: flags)
        set(UInt16(n + 1), 12)
    }

    /// Whether the user has a visible, non-quarantined token, any non-quarantined token,
    /// and one for the app with hash `app` (when given).
    func membership(app: UInt64? = nil) -> (visible: Bool, any: Bool, app: Bool) {
        var visible = false, any = false, forApp = false
        for i in 0..<entryCount {
            let f = entryFlags(i)
            if f & UserRecord.quarantined != 0 { continue }
            any = true
            if f & UserRecord.visible != 0 {
                visible = true
                if let app, entryAppHash(i) == app { forApp = true }
            }
        }
        return (visible, any, forApp)
    }

    /// Segment flags kept in the user's index slot: bit 0 Foreground Push Enabled, bit 1
    /// Background or Foreground Push Enabled, bits 2–3 the subscription.
    var slotFlags: UInt64 {
        let m = membership()
        let enabled = subscription != .unsubscribed
        return (enabled && m.visible ? 1 : 0) | (enabled && m.any ? 2 : 0) | UInt64(subscription.rawValue) << 2
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

    func setChangelog(oldest: Int, newest: Int, count: Int) {
        set(UInt64(oldest), 40)
        set(UInt64(newest), 48)
        set(UInt32(count), 56)
    }

    static func initialize(_ file: MappedFile, at offset: Int, user: UnsafeRawBufferPointer, entryCapacity: Int) -> UserRecord {
        let r = UserRecord(file: file, offset: offset)
        file.zero(offset + 4, UserRecord.fixedSize - 4)
        r.set(RecordKind.user.rawValue, 4)
        r.set(Subscription.subscribed.rawValue, 5)
        r.set(UInt16(user.count), 6)
        r.set(UInt16(entryCapacity), 14)
        file.copy(user, to: offset + 64)
        return r
    }
}

/// One changelog entry, chained from oldest to newest through `next`.
///
/// ```
/// 0 capacity u32 | 4 kind | 5 change kind | 8 checksum u32 | 16 at (i64) | 24 next (offset)
/// 32 device, app, token, other user, detail lengths (u16 each) | 48 the five strings
/// ```
struct ChangeRecord: HeapRecord {
    let unmanagedFile: Unmanaged<MappedFile>
    let offset: Int

    init(file: MappedFile, offset: Int) {
        unmanagedFile = .passUnretained(file)
        self.offset = offset
    }

    static let fixedSize = 48

    var length: Int { ChangeRecord.fixedSize + u16(32) + u16(34) + u16(36) + u16(38) + u16(40) }
    var isPlausible: Bool { kind == RecordKind.change.rawValue && length <= capacity }
    var next: Int { Int(truncatingIfNeeded: u64(24)) }
    func setNext(_ n: Int) { set(UInt64(n), 24) }

    func view() -> ChangeView {
        var at = 48
        func take(_ lengthAt: Int) -> UnsafeRawBufferPointer {
            defer { at += u16(lengthAt) }
            return bytes(at, u16(lengthAt))
        }
        let device = take(32), app = take(34), token = take(36), other = take(38), detail = take(40)
        return ChangeView(
            at: i64(16), kind: ChangeKind(rawValue: u8(5)) ?? .registered, deviceID: device, appID: app,
            token: token, otherUserID: other, detail: detail)
    }

    static func write(
        _ file: MappedFile, at offset: Int, kind: ChangeKind, time: Int64, strings: [UnsafeRawBufferPointer]
    ) -> ChangeRecord {
        let r = ChangeRecord(file: file, offset: offset)
        r.set(RecordKind.change.rawValue, 4)
        r.set(kind.rawValue, 5)
        r.set(time, 16)
        r.set(UInt64(0), 24)
        var at = offset + 48
        for (i, s) in strings.enumerated() {
            r.set(UInt16(s.count), 32 + i * 2)
            file.copy(s, to: at)
            at += s.count
        }
        r.seal()
        return r
    }
}

/// A per-app segment counter: users of this shard with a visible token for the app.
///
/// `0 capacity | 4 kind | 6 app length u16 | 8 checksum | 16 count (i64) | 24 app id`
struct AppCounterRecord: HeapRecord {
    let unmanagedFile: Unmanaged<MappedFile>
    let offset: Int

    init(file: MappedFile, offset: Int) {
        unmanagedFile = .passUnretained(file)
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

    static func write(_ file: MappedFile, at offset: Int, app: UnsafeRawBufferPointer) -> AppCounterRecord {
        let r = AppCounterRecord(file: file, offset: offset)
        r.set(RecordKind.app.rawValue, 4)
        r.set(UInt16(app.count), 6)
        r.set(Int64(0), 16)
        file.copy(app, to: offset + 24)
        r.seal()
        return r
    }
}
