import Glibc
import TokenStore

/// A NUL-terminated UTF-8 string in a `ByteArena`: what a C caller passes, plus its length.
///
/// The pointer stays valid for the arena's lifetime; no peer keeps it after a call.
struct Text {
    /// The first byte; the string ends with a NUL at `base[count]`.
    let base: UnsafePointer<CChar>
    /// Bytes before the NUL.
    let count: Int

    /// The bytes without the NUL.
    @inline(__always)
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}

/// Bytes that live as long as the arena, allocated in large chunks so that nothing moves.
final class ByteArena {
    private var chunks: [UnsafeMutableRawPointer] = []
    private var cursor: UnsafeMutableRawPointer?
    private var remaining = 0
    private let chunkSize: Int
    /// Bytes handed out so far.
    private(set) var usedBytes = 0

    /// An empty arena that grows by `chunkSize` bytes at a time.
    init(chunkSize: Int = 16 << 20) { self.chunkSize = chunkSize }

    deinit { chunks.forEach { $0.deallocate() } }

    /// Copies `bytes` into the arena with a NUL after them.
    func text(_ bytes: UnsafeRawBufferPointer) -> Text {
        let destination = reserve(bytes.count + 1)
        if let source = bytes.baseAddress { destination.copyMemory(from: source, byteCount: bytes.count) }
        destination.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self)
        return Text(base: UnsafePointer(destination.assumingMemoryBound(to: CChar.self)), count: bytes.count)
    }

    /// Copies `string` into the arena as a C string.
    func text(_ string: String) -> Text {
        var string = string
        return string.withUTF8 { text(UnsafeRawBufferPointer($0)) }
    }

    /// `count` bytes of uninitialised, 8-byte aligned memory.
    func reserve(_ count: Int) -> UnsafeMutableRawPointer {
        let rounded = (count + 7) & ~7
        if rounded > remaining {
            let size = max(chunkSize, rounded)
            let chunk = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
            chunks.append(chunk)
            cursor = chunk
            remaining = size
        }
        let result = cursor!
        cursor = result + rounded
        remaining -= rounded
        usedBytes += rounded
        return result
    }
}

/// `ts_register`'s arguments.
struct RegisterInput {
    var deviceID: Text, appID: Text, token: Text
    /// `nil` for an anonymous device (a NULL `user_id`).
    var userID: Text?
    /// `TS_PLATFORM_*` and `TS_AUTH_*`, equal to the Swift enums' raw values.
    var platform: Int32, authorization: Int32
    var at: Int64
}

/// `ts_change_user`'s arguments.
struct ChangeUserInput {
    var deviceID: Text, appID: Text
    /// `nil` logs the device out (the token becomes anonymous).
    var userID: Text?
    var at: Int64
}

/// `ts_bounce`'s arguments, and the classification the peers without one are given.
struct BounceInput {
    var token: Text, errorCode: Text
    /// When the provider confirmed the token invalid; 0 when unknown.
    var providerTimestamp: Int64
    var at: Int64
    /// The code's category removes the token (dead, or sender mismatch without quarantine):
    /// DOMAIN.md's table, resolved while rendering for the peers that have no classifier.
    var removes: Bool
}

/// `ts_get`'s arguments.
struct GetInput {
    var deviceID: Text, appID: Text
}

/// The peer section's four phases, rendered once before any timing and run unchanged
/// against every peer: the same operation streams as the Swift phases (`Plans`).
final class PeerInputs {
    /// Owns every string below.
    let arena = ByteArena()
    /// One registration per record.
    let registers: [RegisterInput]
    /// Reassignments: guests log in on random keys, then the owners log back in.
    let changes: [ChangeUserInput]
    /// Bounces on distinct tokens, with the realistic mix of provider errors.
    let bounces: [BounceInput]
    /// Gets by key on uniformly random records.
    let gets: [GetInput]

    /// Renders `records` registrations and reassignments, `records / 10` bounces and
    /// `records` gets from `plans`.
    init(plans: Plans, records: Int) {
        let arena = self.arena
        let apps = plans.dataset.apps.map { arena.text($0) }
        let appIndex = Dictionary(uniqueKeysWithValues: plans.dataset.apps.enumerated().map { ($1, $0) })
        func app(_ id: String) -> Text { apps[appIndex[id]!] }
        func user(_ id: String?) -> Text? { id.map { arena.text($0) } }

        registers = (0..<records).map { g in
            guard case .register(let r) = plans.load(g) else { fail("the load plan changed") }
            return RegisterInput(
                deviceID: arena.text(r.deviceID), appID: app(r.appID), token: arena.text(r.token), userID: user(r.userID),
                platform: Int32(r.platform.rawValue), authorization: Int32(r.authorization.rawValue), at: r.at)
        }
        changes = (0..<records).map { j in
            guard case .changeUser(let device, let appID, let userID, let at) = plans.reassignment(j, stream: 3, base: Plans.base(2))
            else { fail("the reassignment plan changed") }
            return ChangeUserInput(deviceID: arena.text(device), appID: app(appID), userID: user(userID), at: at)
        }
        var codes: [String: (Text, Bool)] = [:]
        bounces = (0..<(records / 10)).map { j in
            guard case .bounce(let token, let code, let providerTimestamp, let at) = plans.bounce(j, offset: 0, base: Plans.base(3))
            else { fail("the bounce plan changed") }
            if codes[code] == nil {
                let category = NaiveStore.classify(code)
                codes[code] = (arena.text(code), category == .dead || category == .misconfigured)
            }
            let (text, removes) = codes[code]!
            return BounceInput(
                token: arena.text(token), errorCode: text, providerTimestamp: providerTimestamp ?? 0, at: at, removes: removes)
        }
        gets = (0..<records).map { j in
            let key = plans.lookupKey(j, stream: 4)
            return GetInput(deviceID: arena.text(key.deviceID), appID: app(key.appID))
        }
    }

    /// Bytes of the rendered inputs: the strings and the argument arrays.
    var bytes: Int {
        arena.usedBytes + registers.count * MemoryLayout<RegisterInput>.stride
            + changes.count * MemoryLayout<ChangeUserInput>.stride + bounces.count * MemoryLayout<BounceInput>.stride
            + gets.count * MemoryLayout<GetInput>.stride
    }
}
