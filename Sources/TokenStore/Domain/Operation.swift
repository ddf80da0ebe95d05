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
struct Operation {
    enum Code: UInt8 {
        case register = 1, changeUser, setAuthorization, setSubscription, bounce, uninstall, expire
    }

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

    var encodedLength: Int { Operation.fixedSize + s0.count + s1.count + s2.count + s3.count }

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
        guard offset == bytes.count else { return nil }
        (op.s0, op.s1, op.s2, op.s3) = (strings[0], strings[1], strings[2], strings[3])
        return op
    }
}
