/// The primary record of a `(device, app)` key: its token, owner and state.
///
/// ```
/// 0 capacity u32 | 4 kind | 5 flags (bit 0 quarantined) | 6 platform | 7 authorization
/// 8 checksum u32 | 12 failures u32 (kept bounces)
/// 16 created | 24 updated | 32 event time (i64 ms) | 40 token hash (u64)
/// 48 device, app, token, user lengths (u16 each) | 56 the four strings
/// ```
struct KeyRecord: HeapRecord {
    let file: MappedPages
    let offset: Int

    init(pages: MappedPages, offset: Int) {
        self.file = pages
        self.offset = offset
    }

    static let fixedSize = 56

    static func size(device: Int, app: Int, token: Int, user: Int) -> Int { fixedSize + device + app + token + user }

    @inline(__always) var length: Int { KeyRecord.fixedSize + u16(48) + u16(50) + u16(52) + u16(54) }

    /// True when the block's lengths fit inside it: checked before any field is trusted.
    @inline(__always) var isPlausible: Bool { kind == RecordKind.key.rawValue && length <= capacity }

    @inline(__always) var isQuarantined: Bool { u8(5) & 1 != 0 }
    var platformRaw: UInt8 { u8(6) }
    var authorizationRaw: UInt8 { u8(7) }
    @inline(__always) var platform: Platform { Platform(rawValue: u8(6)) ?? .ios }
    @inline(__always) var authorization: Authorization { Authorization(rawValue: u8(7)) ?? .background }
    var failures: Int { u32(12) }
    @inline(__always) var createdAt: Int64 { i64(16) }
    @inline(__always) var updatedAt: Int64 { i64(24) }
    var eventAt: Int64 { i64(32) }
    var tokenHash: UInt64 { u64(40) }

    @inline(__always) var device: UnsafeRawBufferPointer { bytes(56, u16(48)) }
    @inline(__always) var app: UnsafeRawBufferPointer { bytes(56 + u16(48), u16(50)) }
    @inline(__always) var token: UnsafeRawBufferPointer { bytes(56 + u16(48) + u16(50), u16(52)) }
    @inline(__always) var user: UnsafeRawBufferPointer { bytes(56 + u16(48) + u16(50) + u16(52), u16(54)) }

    /// Visible and not quarantined, as the user index's entry flags record it.
    var entryFlags: UInt64 { (authorization.allowsVisiblePush ? 1 : 0) | (isQuarantined ? 2 : 0) }

    func setState(platform: Platform, authorization: Authorization, quarantined: Bool) {
        set(platform.rawValue, 6)
        set(authorization.rawValue, 7)
        set(UInt8(quarantined ? 1 : 0), 5)
    }

    func setTimes(created: Int64? = nil, updated: Int64? = nil, event: Int64? = nil) {
        if let created { set(created, 16) }
        if let updated { set(updated, 24) }
        if let event { set(event, 32) }
    }

    func setFailures(_ n: Int) { set(UInt32(truncatingIfNeeded: n), 12) }

    /// Writes a whole record into a freshly allocated block.
    static func write(
        _ file: MappedPages, at offset: Int, device: UnsafeRawBufferPointer, app: UnsafeRawBufferPointer,
        token: UnsafeRawBufferPointer, tokenHash: UInt64, user: UnsafeRawBufferPointer,
        platform: Platform, authorization: Authorization, quarantined: Bool, failures: Int,
        created: Int64, updated: Int64, event: Int64
    ) -> KeyRecord {
        let r = KeyRecord(file: file, offset: offset)
        r.set(RecordKind.key.rawValue, 4)
        r.setState(platform: platform, authorization: authorization, quarantined: quarantined)
        r.setFailures(failures)
        r.setTimes(created: created, updated: updated, event: event)
        r.set(tokenHash, 40)
        r.set(UInt16(device.count), 48)
        r.set(UInt16(app.count), 50)
        r.set(UInt16(token.count), 52)
        r.set(UInt16(user.count), 54)
        var at = offset + 56
        for s in [device, app, token, user] {
            file.copy(s, to: at)
            at += s.count
        }
        r.seal()
        return r
    }
}
