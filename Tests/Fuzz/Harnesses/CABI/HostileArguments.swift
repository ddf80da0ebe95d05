// Hostile C arguments decoded from the fuzzer's bytes: strings that are NULL, empty, at and
// past their limit, unterminated, not UTF-8; enum values out of range; extreme times.
//
// Every buffer is malloc'd at its exact size, so AddressSanitizer reports any read past
// what the header allows the library to touch (`limit + 1` bytes of a string).

#if canImport(Glibc)
import Glibc
#endif
import CTokenStoreHeader

/// The role of a string argument: its limit and the small pool of realistic values that
/// makes separate calls touch the same keys, tokens and users.
enum StringRole {
    case device, app, token, user, errorCode

    /// `TS_MAX_*_BYTES`.
    var limit: Int {
        switch self {
        case .device: Int(TS_MAX_DEVICE_ID_BYTES)
        case .app: Int(TS_MAX_APP_ID_BYTES)
        case .user: Int(TS_MAX_USER_ID_BYTES)
        case .token: Int(TS_MAX_TOKEN_BYTES)
        case .errorCode: Int(TS_MAX_ERROR_CODE_BYTES)
        }
    }

    /// Realistic values; small pools so that operations collide.
    func pooled(_ n: Int) -> String {
        switch self {
        case .device: return "dev-\(n % 4)"
        case .app: return ["com.example.app", "com.example.other", "web"][n % 3]
        case .token: return "tok-\(n % 6)"
        case .user: return "user-\(n % 4)"
        case .errorCode:
            return [
                "Unregistered", "BadDeviceToken", "410", "NotRegistered", "MismatchSenderId", "InvalidProviderToken",
                "429", "500", "PayloadTooLarge", "ExpiredToken", "weird-code", "InvalidRegistration",
            ][n % 12]
        }
    }

    /// Pool values outside ASCII, still valid UTF-8.
    func unicode(_ n: Int) -> String {
        switch self {
        case .errorCode: return "Ünregistered-\(n % 2)"
        default: return ["ü-\(n % 3)", "用户-\(n % 3)", "🙂\(n % 3)"][n % 3]
        }
    }
}

/// Byte sequences that are not UTF-8: overlong, surrogate, past U+10FFFF, truncated, stray.
let invalidUTF8: [[UInt8]] = [
    [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0xE2, 0x82], [0x61, 0x80, 0x62],
    [0xF8, 0x88, 0x80, 0x80, 0x80], [0xC2],
]

/// A string argument the harness owns, and whether the header says it is acceptable.
struct CStringArgument {
    let pointer: UnsafeMutablePointer<CChar>?
    /// Non-NULL, 1...limit bytes before the NUL, valid UTF-8.
    let isWellFormed: Bool
    var isNull: Bool { pointer == nil }
}

/// Owns the buffers of one call's arguments and frees them afterwards.
final class ArgumentArena {
    private var buffers: [UnsafeMutableRawPointer] = []

    deinit { buffers.forEach { free($0) } }

    /// A buffer of exactly `bytes` (NUL-terminated only when `terminate`).
    func string(_ bytes: [UInt8], terminate: Bool) -> UnsafeMutablePointer<CChar> {
        let size = bytes.count + (terminate ? 1 : 0)
        let raw = malloc(max(size, 1))!
        buffers.append(raw)
        bytes.withUnsafeBytes { if let base = $0.baseAddress { raw.copyMemory(from: base, byteCount: bytes.count) } }
        if terminate { raw.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self) }
        return raw.assumingMemoryBound(to: CChar.self)
    }

    /// Zeroed memory of exactly `bytes`, kept until the arena goes.
    func memory(_ bytes: Int) -> UnsafeMutableRawPointer {
        let raw = calloc(1, max(bytes, 1))!
        buffers.append(raw)
        return raw
    }
}

/// Whether `bytes`, read as a C string argument with `limit`, is acceptable: the rules of
/// tokenstore.h's Strings section, computed independently of the library.
func isWellFormedArgument(_ bytes: [UInt8], terminated: Bool, limit: Int) -> Bool {
    let length = bytes.firstIndex(of: 0) ?? bytes.count
    if !terminated && length == bytes.count && bytes.count <= limit { return false }  // caller bug, not generated
    guard length >= 1, length <= limit else { return false }
    return String(validating: bytes[0..<length], as: UTF8.self) != nil
}

extension FuzzInput {
    /// A string argument for `role`, from a hostile menu.
    mutating func string(_ role: StringRole, _ arena: ArgumentArena) -> CStringArgument {
        let limit = role.limit
        func make(_ bytes: [UInt8], terminate: Bool = true) -> CStringArgument {
            CStringArgument(
                pointer: arena.string(bytes, terminate: terminate),
                isWellFormed: isWellFormedArgument(bytes, terminated: terminate, limit: limit))
        }
        switch byte() % 16 {
        case 0: return CStringArgument(pointer: nil, isWellFormed: false)
        case 1: return make([])
        case 2, 3, 4, 5, 6: return make(Array(role.pooled(Int(byte())).utf8))
        case 7: return make(take(Int(byte() % 48)))
        case 8: return make([UInt8](repeating: 0x61 + byte() % 26, count: limit))
        case 9: return make([UInt8](repeating: 0x62, count: limit + 1))
        case 10:
            // Unterminated, limit + 1 bytes long: the library may read all of it and no more.
            return make([UInt8](repeating: 0x63, count: limit + 1), terminate: false)
        case 11: return make(pick(invalidUTF8) + Array(role.pooled(Int(byte())).utf8))
        case 12: return make(Array(role.unicode(Int(byte())).utf8))
        case 13: return make([UInt8](repeating: 0x64, count: 1 << 16))
        case 14:
            // Multi-byte characters straddling the limit: 3-byte "€" repeated.
            let count = limit / 3 + Int(byte() % 2)
            return make(Array(String(repeating: "€", count: count).utf8))
        default: return make(Array(role.pooled(Int(byte())).utf8) + [0] + take(4))
        }
    }

    /// An enum argument: usually one of `1...validCount`, sometimes far outside.
    mutating func enumValue(validCount: Int32) -> Int32 {
        let choice = byte()
        switch choice % 16 {
        case 0..<9: return 1 + Int32(choice / 16) % validCount
        case 9: return 0
        case 10: return -1
        case 11: return validCount + 1
        case 12: return 255
        case 13: return Int32.max
        case 14: return Int32.min
        default: return Int32(bitPattern: u32())
        }
    }

    /// An event time: usually a realistic, roughly increasing time, sometimes extreme.
    mutating func time() -> Int64 {
        let choice = byte()
        switch choice % 16 {
        case 0..<11: return 1_700_000_000_000 + Int64(u16()) * 1000
        case 11: return 0
        case 12: return -1
        case 13: return Int64.max
        case 14: return Int64.min
        default: return Int64(bitPattern: u64())
        }
    }

    /// Whether an out-pointer is passed (mostly) or NULL.
    mutating func passesPointer() -> Bool { byte() % 8 != 0 }
}
