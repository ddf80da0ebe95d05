/// What a removal leaves of a `(device, app)` key: the removed token's hash and the event
/// time of the removal, so that a late write older than the removal is stale
/// (DOMAIN.md "Edge cases", tombstones).
///
/// ```
/// 0 capacity u32 | 4 kind | 5 flags (bit 0 bounced: the token is dead on every key) | 6 pad
/// 8 checksum u32 | 12 pad | 16 event time of the removal (i64 ms) | 24 removed token's hash (u64)
/// 32 device, app lengths (u16 each) | 36 pad | 40 the two strings
/// ```
/// A tombstone holds no token, user or state: it is never a token, a user entry or a counted
/// member of anything, and costs one small block plus one index slot (two when bounced).
struct TombstoneRecord: HeapRecord {
    let file: MappedPages
    let offset: Int

    init(pages: MappedPages, offset: Int) {
        self.file = pages
        self.offset = offset
    }

    static let fixedSize = 40
    static let bouncedFlag: UInt8 = 1

    static func size(device: Int, app: Int) -> Int { fixedSize + device + app }

    var length: Int { TombstoneRecord.fixedSize + u16(32) + u16(34) }

    /// True when the block's lengths fit inside it: checked before any field is trusted.
    var isPlausible: Bool { kind == RecordKind.tombstone.rawValue && length <= capacity && u8(5) & ~TombstoneRecord.bouncedFlag == 0 }

    /// Whether a removing bounce left it: then its token is dead on every key.
    var isBounced: Bool { u8(5) & TombstoneRecord.bouncedFlag != 0 }
    /// The event time of the removal.
    var eventAt: Int64 { i64(16) }
    /// The hash (`Registry.tokenHash`) of the token the removal took away.
    var tokenHash: UInt64 { u64(24) }

    var device: UnsafeRawBufferPointer { bytes(40, u16(32)) }
    var app: UnsafeRawBufferPointer { bytes(40 + u16(32), u16(34)) }

    /// Drops the bounced mark once the token registered again at or after the bounce.
    func clearBounced() {
        set(UInt8(0), 5)
        seal()
    }

    /// Writes a whole record into a freshly allocated block.
    static func write(
        _ file: MappedPages, at offset: Int, device: UnsafeRawBufferPointer, app: UnsafeRawBufferPointer,
        tokenHash: UInt64, eventAt: Int64, bounced: Bool
    ) -> TombstoneRecord {
        let r = TombstoneRecord(file: file, offset: offset)
        r.set(RecordKind.tombstone.rawValue, 4)
        r.set(bounced ? TombstoneRecord.bouncedFlag : 0, 5)
        r.set(UInt16(0), 6)
        r.set(UInt32(0), 12)
        r.set(eventAt, 16)
        r.set(tokenHash, 24)
        r.set(UInt16(device.count), 32)
        r.set(UInt16(app.count), 34)
        r.set(UInt32(0), 36)
        file.copy(device, to: offset + 40)
        file.copy(app, to: offset + 40 + device.count)
        r.seal()
        return r
    }
}
