/// A write as the log records it: the operation and its arguments, replayed on recovery
/// through the same code that applied it live.
///
/// Encoding: `u8 code | u8 a | u8 b | u8 c | 4 pad | i64 at | i64 aux | 4 × u16 lengths |
/// the strings`. Fields by code:
/// - register: a platform, b authorization, c 1 if user; strings device, app, token, user
/// - changeUser: c 1 if user; device, app, user
/// - setAuthorization: b authorization; device, app
/// - setSubscription: a subscription; user
/// - bounce: c 1 if provider time; aux provider time; token, error code
/// - uninstall: device, app
/// - expire (one key of a sweep): a platform or 0; aux the bound; device, app
///
/// The restore operations (a backup loaded back, see `TokenStore+Restore.swift`) write state
/// as given rather than derive it, so they carry more: after the four strings comes an
/// extension `3 × i64 n0 n1 n2 | 2 × u16 lengths | two more strings s4 s5`.
/// - restoreKey: a platform, b authorization, c bit 0 if user, bit 1 quarantined; at the
///   key's event time; n0 created, n1 updated, n2 kept bounces; device, app, token, user
/// - restoreUser: a subscription; at the subscription's event time (0 = never); n0 opted-in
///   time, n1 unsubscribed time (0 = never); user
/// - restoreChange: a change kind; at its time; user, device, app, token; s4 other user,
///   s5 detail
/// - addBounceCounts: a outcomes, b categories (their counts); s0 that many i64 counts,
///   outcomes then categories, each in raw-value order
///
/// The tombstone operations have no extension:
/// - purgeTombstones (one shard of a sweep): at the sweep's time; aux the shard
/// - restoreTombstone: a bit 0 bounced; at the removal's time; aux the token hash's bits;
///   device, app
struct Operation {
    enum Code: UInt8 {
        case register = 1, changeUser, setAuthorization, setSubscription, bounce, uninstall, expire
        case restoreKey, restoreUser, restoreChange, addBounceCounts
        case purgeTombstones, restoreTombstone

        /// Whether the operation's encoding has the extension after the four strings.
        var hasExtension: Bool { rawValue >= Code.restoreKey.rawValue && rawValue <= Code.addBounceCounts.rawValue }
    }

    static let extensionFixedSize = 28

    static let fixedSize = 32

    var code: Code
    var a: UInt8 = 0
    var b: UInt8 = 0
    var c: UInt8 = 0
    var at: Int64
    var aux: Int64 = 0
    var s0 = UnsafeRawBufferPointer(start: nil, count: 0)
    var s1 = UnsafeRawBufferPointer(start: nil, count: 0)
    var s2 = UnsafeRawBufferPointer(start: nil, count: 0)
    var s3 = UnsafeRawBufferPointer(start: nil, count: 0)
    // The extension of the restore operations.
    var n0: Int64 = 0
    var n1: Int64 = 0
    var n2: Int64 = 0
    var s4 = UnsafeRawBufferPointer(start: nil, count: 0)
    var s5 = UnsafeRawBufferPointer(start: nil, count: 0)

    var encodedLength: Int {
        let base = Operation.fixedSize + s0.count + s1.count + s2.count + s3.count
        return code.hasExtension ? base + Operation.extensionFixedSize + s4.count + s5.count : base
    }

    func encode(into out: UnsafeMutableRawBufferPointer) {
        out.storeBytes(of: code.rawValue, toByteOffset: 0, as: UInt8.self)
        out.storeBytes(of: a, toByteOffset: 1, as: UInt8.self)
        out.storeBytes(of: b, toByteOffset: 2, as: UInt8.self)
        out.storeBytes(of: c, toByteOffset: 3, as: UInt8.self)
        out.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
        out.storeBytes(of: at, toByteOffset: 8, as: Int64.self)
        out.storeBytes(of: aux, toByteOffset: 16, as: Int64.self)
        var offset = Operation.fixedSize
        for (i, s) in [s0, s1, s2, s3].enumerated() {
            out.storeBytes(of: UInt16(s.count), toByteOffset: 24 + i * 2, as: UInt16.self)
            if s.count > 0 {
                UnsafeMutableRawBufferPointer(rebasing: out[offset..<(offset + s.count)]).copyMemory(from: s)
            }
            offset += s.count
        }
        guard code.hasExtension else { return }
        for (i, n) in [n0, n1, n2].enumerated() { out.storeBytes(of: n, toByteOffset: offset + i * 8, as: Int64.self) }
        out.storeBytes(of: UInt16(s4.count), toByteOffset: offset + 24, as: UInt16.self)
        out.storeBytes(of: UInt16(s5.count), toByteOffset: offset + 26, as: UInt16.self)
        offset += Operation.extensionFixedSize
        for s in [s4, s5] where s.count > 0 {
            UnsafeMutableRawBufferPointer(rebasing: out[offset..<(offset + s.count)]).copyMemory(from: s)
            offset += s.count
        }
    }

    /// Decodes a logged operation; `nil` when the bytes do not describe one.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> Operation? {
        guard bytes.count >= fixedSize, let code = Code(rawValue: bytes[0]) else { return nil }
        var op = Operation(code: code, a: bytes[1], b: bytes[2], c: bytes[3], at: bytes.loadUnaligned(fromByteOffset: 8, as: Int64.self))
        op.aux = bytes.loadUnaligned(fromByteOffset: 16, as: Int64.self)
        var offset = fixedSize
        var strings: [UnsafeRawBufferPointer] = []
        for i in 0..<4 {
            let n = Int(bytes.loadUnaligned(fromByteOffset: 24 + i * 2, as: UInt16.self))
            guard offset + n <= bytes.count else { return nil }
            strings.append(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            offset += n
        }
        (op.s0, op.s1, op.s2, op.s3) = (strings[0], strings[1], strings[2], strings[3])
        if code.hasExtension {
            guard offset + extensionFixedSize <= bytes.count else { return nil }
            op.n0 = bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self)
            op.n1 = bytes.loadUnaligned(fromByteOffset: offset + 8, as: Int64.self)
            op.n2 = bytes.loadUnaligned(fromByteOffset: offset + 16, as: Int64.self)
            let n4 = Int(bytes.loadUnaligned(fromByteOffset: offset + 24, as: UInt16.self))
            let n5 = Int(bytes.loadUnaligned(fromByteOffset: offset + 26, as: UInt16.self))
            offset += extensionFixedSize
            guard offset + n4 + n5 <= bytes.count else { return nil }
            op.s4 = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n4)])
            op.s5 = UnsafeRawBufferPointer(rebasing: bytes[(offset + n4)..<(offset + n4 + n5)])
            offset += n4 + n5
        }
        guard offset == bytes.count else { return nil }
        return op
    }
}
