/// A reference stored in an index slot: what the entry is, and where its record lives.
///
/// Bits 0–43 hold the record's offset in its shard's heap (so a shard's heap may grow to
/// 16 TiB), bits 44–47 a user entry's segment flags, bits 48–59 the shard, and bits 60–63 the
/// entry kind. A token entry lives in the token's shard but points at the key record in the
/// key's shard, so references carry their shard. The flags let segment enumeration skip users
/// without visiting their records.
struct Ref: Hashable {
    let raw: UInt64

    enum Kind: UInt64 {
        /// A `(device, app)` key's token record.
        case key = 1
        /// A token's entry, pointing at the key record that holds it.
        case token = 2
        /// A user record.
        case user = 3
        /// A per-app segment counter.
        case app = 4
        /// A removed key's tombstone, in the key's shard like the key record it replaced.
        case tombstone = 5
        /// A bounced token's entry, in the token's shard, pointing at the tombstone the bounce
        /// left: it keeps the token dead on every key for registrations older than the bounce.
        case deadToken = 6
    }

    init(raw: UInt64) { self.raw = raw }

    init(kind: Kind, shard: Int, offset: Int, flags: UInt64 = 0) {
        raw = kind.rawValue << 60 | UInt64(shard) << 48 | (flags & 0xF) << 44 | UInt64(offset)
    }

    var kindBits: UInt64 { raw >> 60 }
    var shard: Int { Int((raw >> 48) & 0xFFF) }
    var offset: Int { Int(raw & 0xFFF_FFFF_FFFF) }
    /// A user entry's flags: `UserRecord.slotFlags` when the entry was last written.
    var userFlags: UInt64 { (raw >> 44) & 0xF }
    func with(kind: Kind) -> Ref { Ref(kind: kind, shard: shard, offset: offset) }
}
