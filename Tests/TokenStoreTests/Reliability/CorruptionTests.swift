import Foundation
import Testing
@testable import TokenStore

#if canImport(Glibc)
import Glibc
#endif

/// Corrupted and hostile files (issues 2 and 7). For every kind of file the store writes,
/// a copy of a reference store is damaged (truncated at many offsets, random bits flipped,
/// pages zeroed, files swapped between shards or deleted) and opened. Each case must end in
///   - a `corrupt` error whose message names a store file (ideally the damaged one), or
///   - an open store that answers exactly what was acknowledged, or whose `verify()` or
///     reads report the damage as `corrupt`;
/// never a crash (it would end this process), a hang (a watchdog aborts after 60 s), another
/// kind of error, or a store that silently answers something else. A store that opens with
/// fewer writes than were acknowledged is such a failure, unless the damage was a truncation
/// and what it holds is a prefix of the writes (issue 15).
///
/// `TOKENSTORE_CORRUPTION_SCALE` multiplies the random cases (default 1).
@Suite struct CorruptionTests {
    /// Reference A: a store killed after writes, with its shard files at a checkpoint and
    /// log records after it. Reference B: a store whose checkpoint failed right after sealing
    /// its journal, so that recovery must apply `checkpoint.journal`.
    static let afterWrites = CorruptionReference(.afterWrites)
    static let midCheckpoint = CorruptionReference(.midCheckpoint)
    /// Reference C: a store killed after acknowledged writes that were never synced, as
    /// `kill -9` leaves it in `.none` or between two `.interval` syncs (issue 15). Its log
    /// records are prefix writes (`PrefixWrites`), so that a truncation's outcome is checkable.
    static let unsynced = CorruptionReference(.unsynced)

    static var scale: Int { ProcessInfo.processInfo.environment["TOKENSTORE_CORRUPTION_SCALE"].flatMap(Int.init) ?? 1 }

    static let kinds = ["MANIFEST", "index", "heap", "changes", "wal", "journal"]

    @Test("Damaged files end in a corrupt error naming the file or a correct recovery", arguments: kinds)
    func damagedFilesEndInACorruptErrorOrACorrectRecovery(_ kind: String) throws {
        let reference = kind == "journal" ? CorruptionTests.midCheckpoint : CorruptionTests.afterWrites
        try campaign(kind, on: reference.get())
    }

    /// The same campaign on a store whose acknowledged writes were never synced: no synced
    /// mark can tell damage from a torn tail there, only what follows the damage can.
    @Test("Damaged files of a never-synced store end in a corrupt error or a correct recovery",
        arguments: kinds.filter { $0 != "journal" })
    func damagedFilesOfANeverSyncedStoreEndInACorruptErrorOrACorrectRecovery(_ kind: String) throws {
        try campaign(kind, on: CorruptionTests.unsynced.get(), label: "unsynced ")
    }

    func campaign(_ kind: String, on ref: CorruptionReference.Built, label: String = "") throws {
        let seed = reliabilitySeed()
        // Mixed with the kind by a stable hash (String.hashValue changes from run to run).
        var rng = SeededGenerator(seed: kind.utf8.reduce(seed) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 })
        var cases: [DamageCase] = []
        for name in ref.files.keys.sorted() where CorruptionReference.kind(of: name) == kind {
            cases += DamageCase.all(for: name, in: ref, scale: CorruptionTests.scale, using: &rng)
        }
        try #require(!cases.isEmpty, "the reference store has no \(kind) file")
        var tally = DamageTally()
        let verbose = ProcessInfo.processInfo.environment["TOKENSTORE_CORRUPTION_VERBOSE"] != nil
        for c in cases {
            let outcome = try c.run(on: ref)
            if verbose { print("CASE \(c): \(outcome)") }
            tally.add(outcome, c)
        }
        print("CORRUPTION \(label)\(kind) seed=\(seed) " + tally.summary)
        for line in tally.failures.prefix(15) { Issue.record("\(kind) seed \(seed): \(line)") }
        // The three causes of silent wrong answers found so far (the log cut at its first bad
        // record, replay copying damaged fields, verify() not checking slot hashes) are fixed
        // and pinned by the tests below; any other is a new bug.
        for line in tally.silentCases.prefix(15) { Issue.record("\(kind) seed \(seed): silently wrong: \(line)") }
    }

    /// The offset of the key record of `device` in a heap file's bytes.
    static func keyRecordOffset(_ heap: Data, device: String) -> Int? {
        let needle = Data((device + "app").utf8)
        guard let r = heap.range(of: needle) else { return nil }
        let offset = r.lowerBound - heap.startIndex - KeyRecord.fixedSize
        return offset >= Heap.headerSize ? offset : nil
    }

    /// Replay reads the key records it rewrites without checking their checksums, so a
    /// damaged field (here `createdAt`, or the owner's id) is copied into a fresh, correctly
    /// sealed record, and verify() can never see it again.
    @Test(
        arguments: ["createdAt", "owner"])
    func aDamagedRecordRewrittenByReplayIsNotSilentlyCopied(_ field: String) throws {
        let ref = try CorruptionTests.afterWrites.get()
        // Keys 120..<240 were written before the checkpoint and again after it: replay rewrites them.
        let device = Workload.device(field == "createdAt" ? 144 : 150)
        var found: (String, Int)?
        for name in ref.files.keys where name.hasSuffix(".heap") {
            if let o = CorruptionTests.keyRecordOffset(ref.files[name]!, device: device) { found = (name, o) }
        }
        let (heap, offset) = try #require(found, "no key record for \(device)")
        let bit: Int
        if field == "createdAt" {
            bit = (offset + 16) * 8 + 2
        } else {
            // The owner's id follows the device, app and token ids; flip a bit of its last byte.
            let data = ref.files[heap]!
            let lengths = (48..<56).map { Int(data[data.startIndex + offset + $0]) }
            let user = 56 + (lengths[0] | lengths[1] << 8) + (lengths[2] | lengths[3] << 8) + (lengths[4] | lengths[5] << 8)
            bit = (offset + user + (lengths[6] | lengths[7] << 8) - 1) * 8 + 6
        }
        let c = DamageCase(file: heap, damage: .flip([bit]))
        switch try c.run(on: ref) {
        case .refused(let e): #expect(e.code == .corrupt && e.detail.contains(heap), "\(e)")
        case .detected, .recovered: break
        case .recoveredPrefix(let p): Issue.record("\(c): opened with the first \(p) writes only")
        case .silent(let what): Issue.record("\(c): silently wrong after recovery: \(what)")
        }
    }

    /// verify() follows each index slot to its record, but never checks that the slot's hash
    /// is the record's: a damaged slot hides its key from lookups (and replay then inserts
    /// the key a second time) while verify() reports nothing.
    @Test(
        arguments: [13, 150])
    func aDamagedIndexSlotIsReportedByVerify(_ i: Int) throws {
        let ref = try CorruptionTests.afterWrites.get()
        let device = Workload.device(i)
        let hash = Array(device.utf8).withUnsafeBytes { d in
            Array("app".utf8).withUnsafeBytes { a in HashIndex.stored(Registry.keyHash(d, a)) }
        }
        var found: (String, Int)?
        for name in ref.files.keys where name.hasSuffix(".index") {
            let data = ref.files[name]!
            data.withUnsafeBytes { raw in
                var slot = HashIndex.headerSize
                while slot + 16 <= raw.count {
                    if raw.loadUnaligned(fromByteOffset: slot, as: UInt64.self) == hash { found = (name, slot) }
                    slot += 16
                }
            }
        }
        let (index, slot) = try #require(found, "no index slot for \(device)")
        let c = DamageCase(file: index, damage: .flip([(slot + 7) * 8 + 3]))
        switch try c.run(on: ref) {
        case .refused(let e): #expect(e.code == .corrupt && e.detail.contains(index), "\(e)")
        case .detected, .recovered: break
        case .recoveredPrefix(let p): Issue.record("\(c): opened with the first \(p) writes only")
        case .silent(let what): Issue.record("\(c): silently wrong: \(what)")
        }
    }

    /// Found by the never-synced reference (seed 1989307662, and seeds 2319726236 and
    /// 3014221910 of the campaign): flipped bits in a user record that the log's writes
    /// rewrite on replay came back as a sound store with that user's state changed, and
    /// verify() saw nothing. A write now checks a user record's checksum before changing it.
    @Test func aDamagedUserRecordRewrittenByReplayIsNotSilentlyCopied() throws {
        let ref = try CorruptionTests.unsynced.get()
        let c = DamageCase(file: "shard-0001.heap", damage: .flip([23785 * 8 + 2, 20762 * 8 + 4, 10922 * 8]))
        if case .silent(let what) = try c.run(on: ref) { Issue.record("\(c): silently wrong: \(what)") }
    }

    /// The log used to end at its first bad record, erasing everything after it. When
    /// acknowledged records follow the damage, that is corruption, not a torn tail, and must
    /// be refused, synced or not (issue 15); a truncation may recover the prefix before it.
    @Test(
        arguments: ["truncate", "flip", "zero", "unsynced flip", "unsynced zero"])
    func aDamagedLogWithRecordsAfterTheDamageIsRefused(_ how: String) throws {
        let ref = try (how.hasPrefix("unsynced") ? CorruptionTests.unsynced : CorruptionTests.afterWrites).get()
        let segment = try #require(ref.files.keys.filter { $0.hasPrefix("wal-") }.max())
        let damage: DamageCase.Damage
        switch how.split(separator: " ").last! {
        case "truncate": damage = .truncate(WriteAheadLog.headerSize + 4096)
        case "flip": damage = .flip([(WriteAheadLog.headerSize + WriteAheadLog.recordHeaderSize + 40) * 8])
        default: damage = .zeroPage(1)
        }
        let c = DamageCase(file: segment, damage: damage)
        switch try c.run(on: ref) {
        case .refused(let e): #expect(e.code == .corrupt && e.detail.contains(segment), "\(e)")
        case .recovered: break
        case .recoveredPrefix where how == "truncate": break
        case .recoveredPrefix(let p): Issue.record("\(c): opened with the first \(p) writes only")
        case .detected(let what): Issue.record("\(c): opened, then \(what)")
        case .silent(let what): Issue.record("\(c): opened and silently lost data: \(what)")
        }
    }
}

/// A tiny lock-protected box.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

/// A reference store on disk, its files' bytes and what it answers.
final class CorruptionReference: @unchecked Sendable {
    struct Built {
        let files: [String: Data]
        let expected: StoreSnapshot
        let options: StoreOptions
        let directory: ScratchDirectory
        /// For a reference of prefix writes: how many were acknowledged.
        var prefixWrites: Int?
    }

    enum Kind { case afterWrites, midCheckpoint, unsynced }

    let kind: Kind
    var midCheckpoint: Bool { kind == .midCheckpoint }
    private let lock = NSLock()
    private var built: Built?

    init(_ kind: Kind) { self.kind = kind }

    static func kind(of name: String) -> String {
        if name == "MANIFEST" { return "MANIFEST" }
        if name.hasPrefix("wal-") { return "wal" }
        if name == Checkpoint.journalName { return "journal" }
        if name.hasPrefix("shard-") { return String(name.split(separator: ".").last ?? "") }
        return "other"
    }

    func get() throws -> Built {
        lock.lock()
        defer { lock.unlock() }
        if let built { return built }
        let b = try build()
        built = b
        return b
    }

    private func build() throws -> Built {
        if kind == .unsynced { return try buildUnsynced() }
        let dir = ScratchDirectory("corruption-ref")
        let live = dir.sub("live"), copy = dir.sub("crashed")
        let options = reliabilityOptions(shards: 2, checkpointLogBytes: 64 << 20)
        var expected: StoreSnapshot!
        let scope = IOScope(directory: live)
        try SyscallInterposer.run(scope) {
            let store = try TokenStore(path: live, options: options)
            defer { try? store.close() }
            try Workload.mix(store, 0..<240, generation: 1)
            try store.checkpoint()
            try Workload.mix(store, 120..<360, generation: 2)
            expected = try StoreSnapshot(store)
            if midCheckpoint {
                // The journal is sealed, then the first write into a shard file fails.
                scope.inject(.pwrite, EIO, count: 1) { $0.hasPrefix("shard-") }
                #expect(throws: TokenStoreError.self) { try store.checkpoint() }
                scope.heal()
            }
            // What a kill -9 leaves now, every write synced: damage anywhere in the log is
            // then damage to acknowledged, durable records, never a torn tail.
            try? store.sync()
            try copyStore(live, to: copy)
        }
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: copy) where name != "LOCK" {
            files[name] = try readFile(copy + "/" + name)
        }
        if midCheckpoint { try #require(files[Checkpoint.journalName] != nil, "no journal was left behind") }
        // The undamaged copy recovers exactly.
        let store = try TokenStore(path: copy, options: options)
        #expect(try StoreSnapshot(store) == expected)
        try store.close()
        return Built(files: files, expected: expected, options: options, directory: dir)
    }

    /// Prefix writes, a checkpoint, more of them, and a copy of the files while the store is
    /// open: nothing in the log was ever synced.
    private func buildUnsynced() throws -> Built {
        let dir = ScratchDirectory("corruption-ref-unsynced")
        let live = dir.sub("live"), copy = dir.sub("crashed")
        let options = reliabilityOptions(shards: 2, durability: .none, checkpointLogBytes: 64 << 20)
        let writes = 900
        let store = try TokenStore(path: live, options: options)
        for i in 0..<300 { try PrefixWrites.write(store, i) }
        try store.checkpoint()
        for i in 300..<writes { try PrefixWrites.write(store, i) }
        let expected = try StoreSnapshot(store)
        try copyStore(live, to: copy)
        try store.close()
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: copy) where name != "LOCK" {
            files[name] = try readFile(copy + "/" + name)
        }
        let reopened = try TokenStore(path: copy, options: options)
        #expect(try StoreSnapshot(reopened) == expected)
        try reopened.close()
        return Built(files: files, expected: expected, options: options, directory: dir, prefixWrites: writes)
    }
}

/// One way to damage one file.
struct DamageCase: CustomStringConvertible {
    enum Damage {
        case truncate(Int)
        case flip([Int])  // bit positions
        case zeroPage(Int)
        case swap(String)  // exchange with another file
        case delete
    }

    let file: String
    let damage: Damage
    /// Whether the damage leaves the file as a truncation would: a zeroed page past which
    /// the file holds nothing but zeros is the file cut at that page, its blocks reserved.
    /// With segments that start small, the end of a log's content often lies in the last few
    /// pages of a segment, where the random page can land.
    var actsAsATruncation = false

    var description: String {
        switch damage {
        case .truncate(let n): return "\(file) truncated to \(n)"
        case .flip(let bits): return "\(file) bits \(bits.map { "\($0 / 8):\($0 % 8)" }.joined(separator: ","))"
        case .zeroPage(let p): return "\(file) page \(p) zeroed"
        case .swap(let other): return "\(file) swapped with \(other)"
        case .delete: return "\(file) deleted"
        }
    }

    /// Bytes up to the last non-zero one: where a log segment's content ends.
    static func usedLength(_ data: Data) -> Int {
        data.withUnsafeBytes { raw in
            var n = raw.count
            while n > 0 && raw[n - 1] == 0 { n -= 1 }
            return n
        }
    }

    static func all(for file: String, in ref: CorruptionReference.Built, scale: Int, using rng: inout SeededGenerator) -> [DamageCase] {
        let data = ref.files[file]!
        let size = data.count
        let used = max(64, min(size, (usedLength(data) + 4095) & ~4095))
        var out: [DamageCase] = []
        // Truncations: at structure boundaries, then at random.
        var offsets = Set([0, 1, 8, 31, 32, 63, 4095, 4096, 4097, used / 2, used - 1, size - 4096, size - 1].filter { $0 >= 0 && $0 < size })
        for _ in 0..<(2 * scale) { offsets.insert(Int.random(in: 0..<max(1, used), using: &rng)) }
        out += offsets.sorted().map { DamageCase(file: file, damage: .truncate($0)) }
        // Bit flips: half in the first page (headers), half anywhere in the used part.
        for i in 0..<(8 * scale) {
            let range = i % 2 == 0 ? min(4096, size) : used
            let bits = (0..<Int.random(in: 1...3, using: &rng)).map { _ in Int.random(in: 0..<(range * 8), using: &rng) }
            out.append(DamageCase(file: file, damage: .flip(bits)))
        }
        // Zeroed pages: the header, the next, and one at random in the used part.
        var pages = Set([0, 1].filter { $0 * 4096 < size })
        if used > 8192 { pages.insert(Int.random(in: 2..<(used / 4096), using: &rng)) }
        let contentPages = (usedLength(data) + 4095) / 4096
        out += pages.sorted().map { DamageCase(file: file, damage: .zeroPage($0), actsAsATruncation: file.hasPrefix("wal-") && $0 == contentPages - 1) }
        // Swaps with the other shard's file of the same kind, and heap with changes.
        if file.hasPrefix("shard-0000.") {
            let other = "shard-0001." + (file.split(separator: ".").last ?? "")
            if ref.files[other] != nil { out.append(DamageCase(file: file, damage: .swap(other))) }
        }
        if file == "shard-0000.heap" { out.append(DamageCase(file: file, damage: .swap("shard-0000.changes"))) }
        out.append(DamageCase(file: file, damage: .delete))
        return out
    }

    enum Outcome {
        case refused(TokenStoreError)
        case recovered
        /// Opened with the first writes of a prefix reference only.
        case recoveredPrefix(Int)
        case detected(String)
        case silent(String)
    }

    /// Writes the damaged copy, opens it, and classifies what happened.
    func run(on ref: CorruptionReference.Built) throws -> Outcome {
        let path = ref.directory.sub("case-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: path) }
        mkdir(path, 0o700)
        var files = ref.files
        switch damage {
        case .truncate(let n): files[file] = files[file]!.prefix(n)
        case .flip(let bits):
            var d = files[file]!
            for b in bits { d[b / 8] ^= UInt8(1 << (b % 8)) }
            files[file] = d
        case .zeroPage(let p):
            var d = files[file]!
            let end = min(d.count, (p + 1) * 4096)
            d.replaceSubrange((p * 4096)..<end, with: Data(count: end - p * 4096))
            files[file] = d
        case .swap(let other):
            (files[file], files[other]) = (files[other], files[file])
        case .delete:
            files[file] = nil
        }
        for (name, data) in files { try writeFile(path + "/" + name, data) }

        let watchdog = Watchdog(seconds: 60, what: description)
        defer { watchdog.cancel() }
        var options = ref.options
        options.mustExist = true
        let store: TokenStore
        do { store = try TokenStore(path: path, options: options) } catch { return .refused(error) }
        defer { try? store.close() }
        let outcome = Self.examine(store, expected: ref.expected)
        // Fewer writes than acknowledged is a failure, unless the state is a prefix of them:
        // a truncation loses the end, and the tally decides whether the damage allowed that.
        if case .silent = outcome, let writes = ref.prefixWrites, let p = try? PrefixWrites.prefix(in: store), p < writes,
            (try? store.verify()) == []
        {
            return .recoveredPrefix(p)
        }
        return outcome
    }

    /// Reads everything an open, possibly damaged store answers.
    static func examine(_ store: TokenStore, expected: StoreSnapshot) -> Outcome {
        do {
            let problems = try store.verify()
            for p in problems.prefix(20) { expectNoPersonalData(TokenStoreError(.corrupt, p)) }
            if !problems.isEmpty { return .detected("verify: \(problems[0])") }
            let found = try StoreSnapshot(store)
            // Lookups by key and by user, not only enumeration.
            var lookupsAgree = true
            for r in expected.records where try store.token(deviceID: r.deviceID, appID: r.appID) != r {
                lookupsAgree = false
                break
            }
            for (user, state) in expected.users where try store.user(userID: user) != state {
                lookupsAgree = false
                break
            }
            for segment in [Segment.foregroundPushEnabled, .backgroundOrForegroundPushEnabled, .subscription(.optedIn)] {
                _ = try store.users(in: segment)
                _ = try store.count(segment)
            }
            if found == expected && lookupsAgree { return .recovered }
            return .silent(found == expected ? "enumeration agrees, lookups do not" : found.difference(from: expected))
        } catch let e as TokenStoreError where e.code == .corrupt {
            expectNoPersonalData(e)
            return .detected("read: \(e)")
        } catch {
            return .silent("a read failed with \(error)")
        }
    }
}

/// Outcomes of a set of cases.
struct DamageTally {
    var refusedNamingFile = 0
    var refusedNamingOther = 0
    var recovered = 0
    var recoveredPrefix = 0
    var detected = 0
    var silent = 0
    var failures: [String] = []
    var silentCases: [String] = []

    mutating func add(_ outcome: DamageCase.Outcome, _ c: DamageCase) {
        switch outcome {
        case .refused(let e):
            expectNoPersonalData(e)
            let names = ["MANIFEST", "shard-", "wal-", Checkpoint.journalName]
            if e.code == .corrupt || e.code == .versionMismatch || (e.code == .notFound && c.file == "MANIFEST") {
                if e.detail.contains(c.file) || (e.code == .notFound) {
                    refusedNamingFile += 1
                } else if names.contains(where: e.detail.contains) {
                    refusedNamingOther += 1
                } else {
                    failures.append("\(c): the error names no file: \(e)")
                }
            } else {
                failures.append("\(c): \(e.code) instead of corrupt: \(e)")
            }
        case .recovered: recovered += 1
        case .recoveredPrefix(let p):
            if case .truncate = c.damage {
                recoveredPrefix += 1
            } else if c.actsAsATruncation {
                recoveredPrefix += 1
            } else {
                silent += 1
                silentCases.append("\(c): opened with the first \(p) writes only, without a truncation")
            }
        case .detected: detected += 1
        case .silent(let what):
            silent += 1
            silentCases.append("\(c): \(what)")
        }
    }

    var summary: String {
        "cases=\(refusedNamingFile + refusedNamingOther + recovered + recoveredPrefix + detected + silent + failures.count) "
            + "refused-naming-file=\(refusedNamingFile) refused-naming-other=\(refusedNamingOther) recovered=\(recovered) "
            + "truncated-to-a-prefix=\(recoveredPrefix) "
            + "detected-later=\(detected) silent=\(silent) failures=\(failures.count)"
    }
}

/// Aborts the process when a case runs too long: a hang fails the run loudly.
final class Watchdog: @unchecked Sendable {
    private let done = Locked(false)
    init(seconds: Int, what: String) {
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(seconds)) { [done] in
            if !done.withLock({ $0 }) {
                FileHandle.standardError.write(Data("watchdog: \(what) still running after \(seconds) s\n".utf8))
                abort()
            }
        }
    }
    func cancel() { done.withLock { $0 = true } }
}
