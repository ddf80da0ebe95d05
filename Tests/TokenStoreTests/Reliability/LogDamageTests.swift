import Foundation
import Testing
@testable import TokenStore

#if canImport(Glibc)
import Glibc
#endif

/// Writes whose every prefix leaves a known state: write `i` registers key `i % 300` with a
/// token naming `i`, so that the state a store holds tells how many writes it kept, or that
/// it is no prefix at all (see `PowerLossTests.PrefixLog`).
enum PrefixWrites {
    static func write(_ store: TokenStore, _ i: Int) throws {
        try store.register(Registration(
            deviceID: Workload.device(i % PowerLossTests.PrefixLog.keys), appID: "app",
            token: "tok-\(i % PowerLossTests.PrefixLog.keys)-\(i)", platform: .android, authorization: .foreground,
            userID: Workload.user(i), at: time(i)))
    }

    /// The `at` time of write `i`.
    static func time(_ i: Int) -> Int64 { Int64(1_000_000 + i) }

    /// How many writes the store holds, or `nil` when its state is no prefix of them.
    static func prefix(in store: TokenStore) throws -> Int? { try PowerLossTests.PrefixLog().prefix(in: store) }
}

/// Damage in the middle of a log segment, and missing or replaced segments, are corruption
/// that the open refuses naming the file; only a torn tail is cut silently; salvage is an
/// explicit act that reports what it drops (issue 15).
///
/// The reference store was killed after 900 acknowledged writes that were never synced:
/// 0..<300 before a checkpoint, 300..<600 in the log's first segment, 600..<900 in a second
/// one (the log rolled, then a checkpoint failed).
@Suite struct LogDamageTests {
    struct Reference {
        let files: [String: Data]
        let options: StoreOptions
        let directory: ScratchDirectory
        /// The two segments, oldest first.
        let segments: [String]
        /// Each segment's records: (lsn, file offset, index of the write).
        let records: [String: [(lsn: UInt64, offset: Int, write: Int)]]
    }

    static let writes = 900
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cached: Reference?

    /// Built once, by the first test that needs it.
    static func reference() throws -> Reference {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return cached }
        let built = try build()
        cached = built
        return built
    }

    private static func build() throws -> Reference {
        let dir = ScratchDirectory("log-damage-ref")
        let live = dir.sub("live"), copy = dir.sub("crashed")
        let options = reliabilityOptions(shards: 2, durability: .none, checkpointLogBytes: 64 << 20)
        let scope = IOScope(directory: live)
        try SyscallInterposer.run(scope) {
            let store = try TokenStore(path: live, options: options)
            defer { try? store.close() }
            for i in 0..<300 { try PrefixWrites.write(store, i) }
            // A checkpoint at a segment's start, so that the first segment holds only 300..<600.
            try store.registry.store.wal.startNewSegment()
            try store.checkpoint()
            for i in 300..<600 { try PrefixWrites.write(store, i) }
            // The log moves on to a second segment, as a full one does; then a checkpoint
            // fails before its journal is sealed, so the manifest keeps the old checkpoint.
            try store.registry.store.wal.startNewSegment()
            scope.inject(.pwrite, EIO, count: 1) { $0 == Checkpoint.journalName }
            #expect(throws: TokenStoreError.self) { try store.checkpoint() }
            scope.heal()
            for i in 600..<writes { try PrefixWrites.write(store, i) }
            try copyStore(live, to: copy)
        }
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: copy) where name != "LOCK" {
            files[name] = try readFile(copy + "/" + name)
        }
        let segments = files.keys.filter { $0.hasPrefix("wal-") }.sorted()
        try #require(segments.count == 2, "expected two log segments, found \(segments)")
        var records: [String: [(lsn: UInt64, offset: Int, write: Int)]] = [:]
        var write = 300
        for name in segments {
            records[name] = LogDamageTests.walk(files[name]!).filter { $0.type == WriteAheadLog.RecordType.operation.rawValue }.map {
                defer { write += 1 }
                return ($0.lsn, $0.offset, write)
            }
        }
        try #require(write == writes, "the log holds \(write - 300) writes, expected \(writes - 300)")
        return Reference(files: files, options: options, directory: dir, segments: segments, records: records)
    }

    /// The records of a segment file, in order, up to the first invalid one.
    static func walk(_ data: Data) -> [(lsn: UInt64, offset: Int, type: UInt32, size: Int)] {
        data.withUnsafeBytes { raw in
            let start = raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
            let salt = raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
            var out: [(UInt64, Int, UInt32, Int)] = []
            var offset = WriteAheadLog.headerSize
            while offset + WriteAheadLog.recordHeaderSize <= raw.count {
                let length = Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                let rawType = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                let lsn = raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
                let size = WriteAheadLog.recordHeaderSize + ((length + 7) & ~7)
                guard lsn == start + UInt64(offset - WriteAheadLog.headerSize), let type = WriteAheadLog.RecordType(rawValue: rawType),
                    offset + size <= raw.count
                else { break }
                let payload = UnsafeRawBufferPointer(rebasing: raw[(offset + 24)..<(offset + 24 + length)])
                guard WriteAheadLog.checksum(payload, lsn: lsn, salt: salt, type: type)
                    == raw.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self)
                else { break }
                out.append((lsn, offset, rawType, size))
                offset += size
            }
            return out
        }
    }

    /// The middle record of a segment.
    static func middle(_ ref: Reference, _ segment: String) -> (lsn: UInt64, offset: Int, write: Int) {
        let records = ref.records[segment]!
        return records[records.count / 2]
    }

    /// Opens a copy of `files`; the store, or the error the open failed with.
    static func open(_ files: [String: Data], in ref: Reference, dropDamagedLog: Bool = false) throws -> Result<TokenStore, TokenStoreError> {
        let path = ref.directory.sub("case-\(UUID().uuidString)")
        mkdir(path, 0o700)
        for (name, data) in files { try writeFile(path + "/" + name, data) }
        var options = ref.options
        options.mustExist = true
        options.dropDamagedLog = dropDamagedLog
        do { return .success(try TokenStore(path: path, options: options)) } catch { return .failure(error) }
    }

    /// Expects the open of `files` to fail with `corrupt` naming `file` (and `position`).
    static func expectRefused(_ files: [String: Data], in ref: Reference, naming file: String, position: UInt64? = nil,
        sourceLocation: SourceLocation = #_sourceLocation) throws {
        switch try open(files, in: ref) {
        case .success(let store):
            let kept = (try? PrefixWrites.prefix(in: store)).flatMap { $0 }.map(String.init) ?? "no prefix"
            try? store.close()
            Issue.record("opened (writes kept: \(kept)) instead of refusing damage to \(file)", sourceLocation: sourceLocation)
        case .failure(let e):
            #expect(e.code == .corrupt, "\(e)", sourceLocation: sourceLocation)
            #expect(e.detail.contains(file), "the error does not name \(file): \(e)", sourceLocation: sourceLocation)
            if let position {
                #expect(e.detail.contains("position \(position)"), "the error does not name position \(position): \(e)",
                    sourceLocation: sourceLocation)
            }
        }
    }

    enum Damage: String, CaseIterable {
        case bitFlip = "a bit flip", zeroedPage = "a zeroed page", garbageBlock = "a garbage block"
    }

    /// The bytes `damage` at the record at `offset` changes.
    static func range(of damage: Damage, at offset: Int) -> Range<Int> {
        switch damage {
        case .bitFlip: return (offset + WriteAheadLog.recordHeaderSize + 9)..<(offset + WriteAheadLog.recordHeaderSize + 10)
        case .zeroedPage: return (offset & ~4095)..<((offset & ~4095) + 4096)
        case .garbageBlock: return offset..<(offset + 512)
        }
    }

    /// Applies `damage` to the record at `offset` of `data`.
    static func damage(_ data: inout Data, _ damage: Damage, at offset: Int) {
        let bytes = range(of: damage, at: offset)
        switch damage {
        case .bitFlip: data[bytes.lowerBound] ^= 0x10
        case .zeroedPage: data.replaceSubrange(bytes, with: Data(count: bytes.count))
        case .garbageBlock:
            var rng = SeededGenerator(seed: UInt64(offset))
            for i in bytes { data[i] = UInt8.random(in: 0...255, using: &rng) }
        }
    }

    // MARK: Damage in the middle of a segment

    @Test(arguments: Damage.allCases, [0, 1])
    func damageInTheMiddleOfASegmentIsRefusedNamingTheFileAndPosition(_ damage: Damage, _ segment: Int) throws {
        let ref = try LogDamageTests.reference()
        let name = ref.segments[segment]
        let victim = LogDamageTests.middle(ref, name)
        var files = ref.files
        LogDamageTests.damage(&files[name]!, damage, at: victim.offset)
        // A zeroed page takes the records before the victim on its page with it.
        let first = LogDamageTests.walk(files[name]!).last.map { $0.lsn + UInt64($0.size) }
        try LogDamageTests.expectRefused(files, in: ref, naming: name, position: first)
    }

    /// The issue's case: 32 random bits flipped anywhere in the first segment.
    @Test func randomBitFlipsInTheFirstSegmentAreRefused() throws {
        let ref = try LogDamageTests.reference()
        let name = ref.segments[0]
        let records = ref.records[name]!
        var rng = SeededGenerator(seed: reliabilitySeed())
        var files = ref.files
        let end = records.last!.offset
        for _ in 0..<32 {
            let byte = Int.random(in: WriteAheadLog.headerSize..<end, using: &rng)
            files[name]![byte] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
        }
        try LogDamageTests.expectRefused(files, in: ref, naming: name)
    }

    // MARK: Missing and replaced segments

    @Test(arguments: [0, 1])
    func aRemovedSegmentIsRefusedNamingIt(_ segment: Int) throws {
        let ref = try LogDamageTests.reference()
        var files = ref.files
        files[ref.segments[segment]] = nil
        try LogDamageTests.expectRefused(files, in: ref, naming: ref.segments[segment])
    }

    /// `segment` as another store would hold it under the same name: a new salt, and every
    /// record sealed with it, so that each one is valid on its own.
    static func resalted(_ data: Data) -> Data {
        var out = data
        let records = walk(data)
        out.withUnsafeMutableBytes { raw in
            let salt = raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self) ^ 0x5A5A_0123_4567_89AB
            raw.storeBytes(of: salt, toByteOffset: 24, as: UInt64.self)
            raw.storeBytes(of: hash64(UnsafeRawBufferPointer(rebasing: raw[0..<32])), toByteOffset: 32, as: UInt64.self)
            for r in records {
                let length = Int(raw.loadUnaligned(fromByteOffset: r.offset, as: UInt32.self))
                let payload = UnsafeRawBufferPointer(rebasing: raw[(r.offset + 24)..<(r.offset + 24 + length)])
                let sum = WriteAheadLog.checksum(payload, lsn: r.lsn, salt: salt, type: WriteAheadLog.RecordType(rawValue: r.type)!)
                raw.storeBytes(of: sum, toByteOffset: r.offset + 16, as: UInt64.self)
            }
        }
        return out
    }

    @Test(arguments: [0, 1])
    func aSegmentReplacedByAnotherStoresOfTheSameNameIsRefused(_ segment: Int) throws {
        let ref = try LogDamageTests.reference()
        var files = ref.files
        let name = ref.segments[segment]
        files[name] = LogDamageTests.resalted(files[name]!)
        #expect(LogDamageTests.walk(files[name]!).count == LogDamageTests.walk(ref.files[name]!).count)
        try LogDamageTests.expectRefused(files, in: ref, naming: name)
    }

    /// A segment named at the very end of the LSN space, with a header that matches its name:
    /// no position arithmetic may overflow on it (a Swift trap would end the host process).
    @Test func aSegmentNamedAtTheEndOfThePositionsIsRefusedWithoutATrap() throws {
        let ref = try LogDamageTests.reference()
        var files = ref.files
        var data = files[ref.segments[1]]!.prefix(2 * 4096)
        data.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt64.max - 4096, toByteOffset: 16, as: UInt64.self)
            raw.storeBytes(of: hash64(UnsafeRawBufferPointer(rebasing: raw[0..<32])), toByteOffset: 32, as: UInt64.self)
        }
        let name = WriteAheadLog.fileName(UInt64.max - 4096)
        files[name] = Data(data)
        try LogDamageTests.expectRefused(files, in: ref, naming: name)
    }

    @Test func twoSegmentsSwappedAreRefused() throws {
        let ref = try LogDamageTests.reference()
        var files = ref.files
        let (a, b) = (ref.segments[0], ref.segments[1])
        (files[a], files[b]) = (files[b], files[a])
        try LogDamageTests.expectRefused(files, in: ref, naming: a)
    }

    // MARK: Torn tails

    @Test func aTruncatedTailRecoversThePrefixBeforeIt() throws {
        let ref = try LogDamageTests.reference()
        let name = ref.segments[1]
        let victim = LogDamageTests.middle(ref, name)
        var files = ref.files
        files[name] = files[name]!.prefix(victim.offset + 10)
        let store = try LogDamageTests.open(files, in: ref).get()
        defer { try? store.close() }
        #expect(try PrefixWrites.prefix(in: store) == victim.write)
        #expect(try store.verify() == [])
        // The cut is final: the store appends after it, and a reopen keeps it all.
        try PrefixWrites.write(store, victim.write)
        #expect(try PrefixWrites.prefix(in: store) == victim.write + 1)
    }

    /// A truncated segment followed by another one holding records is no tail.
    @Test func aTruncatedSegmentFollowedByAnotherIsRefused() throws {
        let ref = try LogDamageTests.reference()
        let name = ref.segments[0]
        var files = ref.files
        files[name] = files[name]!.prefix(LogDamageTests.middle(ref, name).offset + 10)
        try LogDamageTests.expectRefused(files, in: ref, naming: name)
    }

    @Test func aTornRecordAtTheEndOfTheLogIsATornTail() throws {
        let ref = try LogDamageTests.reference()
        let name = ref.segments[1]
        let last = ref.records[name]!.last!
        var files = ref.files
        // As a kill in the middle of an append leaves it: the payload there, the header not.
        files[name]!.replaceSubrange(last.offset..<(last.offset + WriteAheadLog.recordHeaderSize),
            with: Data(count: WriteAheadLog.recordHeaderSize))
        let store = try LogDamageTests.open(files, in: ref).get()
        defer { try? store.close() }
        #expect(try PrefixWrites.prefix(in: store) == LogDamageTests.writes - 1)
    }

    /// After a power cut (the segments were written in an earlier boot), damage past what was
    /// synced is the cut's tear: the unsynced records after it were never durable.
    @Test func afterARebootAZeroedPagePastTheSyncedMarkIsATear() throws {
        let ref = try LogDamageTests.reference()
        let name = ref.segments[1]
        let victim = LogDamageTests.middle(ref, name)
        var files = ref.files
        for segment in ref.segments { files[segment] = LogDamageTests.writtenInAnEarlierBoot(files[segment]!) }
        LogDamageTests.damage(&files[name]!, .zeroedPage, at: victim.offset)
        let store = try LogDamageTests.open(files, in: ref).get()
        defer { try? store.close() }
        let kept = try #require(try PrefixWrites.prefix(in: store))
        #expect(kept >= 600 && kept <= victim.write)
    }

    /// Even after a reboot, damage before a segment's synced mark is corruption.
    @Test func afterARebootDamageBeforeTheSyncedMarkIsRefused() throws {
        let ref = try LogDamageTests.reference()
        let name = ref.segments[1]
        var files = ref.files
        for segment in ref.segments { files[segment] = LogDamageTests.writtenInAnEarlierBoot(files[segment]!) }
        let end = ref.records[name]!.last!
        files[name]!.withUnsafeMutableBytes { $0.storeBytes(of: end.lsn, toByteOffset: WriteAheadLog.syncedMarkOffset, as: UInt64.self) }
        LogDamageTests.damage(&files[name]!, .zeroedPage, at: LogDamageTests.middle(ref, name).offset)
        try LogDamageTests.expectRefused(files, in: ref, naming: name)
    }

    static func writtenInAnEarlierBoot(_ data: Data) -> Data {
        var out = data
        out.withUnsafeMutableBytes { $0.storeBytes(of: ~SystemCalls.current.bootID(), toByteOffset: WriteAheadLog.bootOffset, as: UInt64.self) }
        return out
    }

    // MARK: Salvage

    @Test(arguments: Damage.allCases)
    func salvageDropsTheLogFromTheDamageOnReportsItAndTheStoreOpens(_ damage: Damage) throws {
        let ref = try LogDamageTests.reference()
        let name = ref.segments[0]
        let victim = LogDamageTests.middle(ref, name)
        var files = ref.files
        LogDamageTests.damage(&files[name]!, damage, at: victim.offset)
        let kept = LogDamageTests.walk(files[name]!).count  // the writes before the damage, in this segment
        let store = try LogDamageTests.open(files, in: ref, dropDamagedLog: true).get()
        let path = store.path
        let report = try #require(store.droppedLog)
        #expect(try PrefixWrites.prefix(in: store) == 300 + kept)
        try store.close()

        #expect(report.reason.contains(name))
        #expect(report.positions.lowerBound == ref.records[name]![kept].lsn)
        let last = LogDamageTests.walk(ref.files[ref.segments[1]]!).last!
        #expect(report.positions.upperBound == last.lsn + UInt64(last.size))
        #expect(report.files == ref.segments)
        // Every write after the damage that is still readable is counted, and its time shown.
        let bytes = LogDamageTests.range(of: damage, at: victim.offset)
        let sizes = Dictionary(uniqueKeysWithValues: LogDamageTests.walk(ref.files[name]!).map { ($0.offset, $0.size) })
        let readable = ref.records[name]!.dropFirst(kept).filter { r in !(r.offset..<(r.offset + sizes[r.offset]!)).overlaps(bytes) }
            .map(\.write) + Array(600..<LogDamageTests.writes)
        #expect(report.records == readable.count)
        #expect(report.times == PrefixWrites.time(readable.min()!)...PrefixWrites.time(readable.max()!))
        #expect(report.countIsExact)

        // Salvage was the operator's act: from now on the store opens as usual.
        var options = ref.options
        options.mustExist = true
        let reopened = try TokenStore(path: path, options: options)
        defer { try? reopened.close() }
        #expect(reopened.droppedLog == nil)
        #expect(try PrefixWrites.prefix(in: reopened) == 300 + kept)
        #expect(try reopened.verify() == [])
    }

    @Test func salvageOfARemovedFirstSegmentKeepsTheCheckpointAndReportsTheRest() throws {
        let ref = try LogDamageTests.reference()
        var files = ref.files
        files[ref.segments[0]] = nil
        let store = try LogDamageTests.open(files, in: ref, dropDamagedLog: true).get()
        defer { try? store.close() }
        let report = try #require(store.droppedLog)
        #expect(try PrefixWrites.prefix(in: store) == 300)
        #expect(report.files == ref.segments)
        #expect(!report.countIsExact)  // the removed segment's records cannot be counted
        #expect(report.records == 300)  // those of the second segment can
        #expect(report.times == PrefixWrites.time(600)...PrefixWrites.time(LogDamageTests.writes - 1))
    }

    @Test func salvageOfASoundStoreDropsNothing() throws {
        let ref = try LogDamageTests.reference()
        let store = try LogDamageTests.open(ref.files, in: ref, dropDamagedLog: true).get()
        defer { try? store.close() }
        #expect(store.droppedLog == nil)
        #expect(try PrefixWrites.prefix(in: store) == LogDamageTests.writes)
    }

    @Test func withoutSalvageNothingIsDropped() throws {
        let ref = try LogDamageTests.reference()
        let name = ref.segments[1]
        var files = ref.files
        LogDamageTests.damage(&files[name]!, .bitFlip, at: LogDamageTests.middle(ref, name).offset)
        let path = ref.directory.sub("unsalvaged-\(UUID().uuidString)")
        mkdir(path, 0o700)
        for (n, data) in files { try writeFile(path + "/" + n, data) }
        var options = ref.options
        options.mustExist = true
        #expect(throws: TokenStoreError.self) { try TokenStore(path: path, options: options) }
        // The refused open changed nothing: every byte of the log is still there.
        for n in ref.segments { #expect(try readFile(path + "/" + n) == files[n]!, "\(n) was changed") }
    }
}

/// The manifest records that the log exists, so that its loss is never read as an empty
/// store, while a new store that crashed before its log was complete still opens.
@Suite struct LogManifestTests {
    /// The files of a new, empty store, copied while it is open.
    static func newStore() throws -> (files: [String: Data], dir: ScratchDirectory) {
        let dir = ScratchDirectory("log-manifest")
        let live = dir.sub("live"), copy = dir.sub("copy")
        let store = try TokenStore(path: live, options: reliabilityOptions(shards: 2, durability: .none))
        try copyStore(live, to: copy)
        try store.close()
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: copy) where name != "LOCK" {
            files[name] = try readFile(copy + "/" + name)
        }
        return (files, dir)
    }

    static func open(_ files: [String: Data], _ dir: ScratchDirectory) throws -> TokenStore {
        let path = dir.sub("case-\(UUID().uuidString)")
        mkdir(path, 0o700)
        for (name, data) in files { try writeFile(path + "/" + name, data) }
        var options = reliabilityOptions(shards: 2, durability: .none)
        options.mustExist = true
        return try TokenStore(path: path, options: options)
    }

    static func manifest(_ files: [String: Data]) throws -> Manifest { try files["MANIFEST"]!.withUnsafeBytes { try Manifest.decode($0) } }

    @Test func aNewStoreRecordsItsLogInTheManifest() throws {
        let (files, _) = try LogManifestTests.newStore()
        let m = try LogManifestTests.manifest(files)
        #expect(m.logCreated)
        let salt = files[WriteAheadLog.fileName(0)]!.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 24, as: UInt64.self) }
        #expect(m.logSalt == salt)
    }

    @Test func aNewStoreWhoseFirstSegmentIsRemovedIsRefused() throws {
        var (files, dir) = try LogManifestTests.newStore()
        files[WriteAheadLog.fileName(0)] = nil
        #expect { try LogManifestTests.open(files, dir) } throws: { e in
            (e as? TokenStoreError)?.code == .corrupt && (e as? TokenStoreError)?.detail.contains(WriteAheadLog.fileName(0)) == true
        }
    }

    /// A crash at any instant of creating a store leaves one that opens (empty).
    @Test(arguments: ["no segment", "an empty segment file", "a segment without its header", "no manifest"])
    func aNewStoreThatCrashedBeforeItsLogWasRecordedOpens(_ state: String) throws {
        var (files, dir) = try LogManifestTests.newStore()
        var m = try LogManifestTests.manifest(files)
        m.logCreated = false
        m.logSalt = nil
        files["MANIFEST"] = Data(m.encoded())
        let segment = WriteAheadLog.fileName(0)
        switch state {
        case "no segment": files[segment] = nil
        case "an empty segment file": files[segment] = Data()
        case "a segment without its header": files[segment] = Data(count: WriteAheadLog.firstSegmentSize)
        default: files["MANIFEST"] = nil
        }
        let store: TokenStore
        if state == "no manifest" {
            // Without a manifest the directory is no store yet: a plain open creates it.
            let path = dir.sub("case-\(UUID().uuidString)")
            mkdir(path, 0o700)
            for (name, data) in files { try writeFile(path + "/" + name, data) }
            store = try TokenStore(path: path, options: reliabilityOptions(shards: 2, durability: .none))
        } else {
            store = try LogManifestTests.open(files, dir)
        }
        defer { try? store.close() }
        #expect(try store.count() == 0)
        try Workload.register(store, 1)
        #expect(try store.count() == 1)
    }

    /// A manifest written before the log fields existed opens, and records them.
    @Test func aManifestWithoutTheLogFieldsOpensAndRecordsThem() throws {
        var (files, dir) = try LogManifestTests.newStore()
        var bytes = [UInt8](files["MANIFEST"]!)
        // What an older build wrote: zeros in the flags and the salt.
        for i in 41..<42 { bytes[i] = 0 }
        for i in 48..<56 { bytes[i] = 0 }
        bytes.withUnsafeMutableBytes { b in
            b.storeBytes(of: hash64(UnsafeRawBufferPointer(rebasing: b[0..<(b.count - 8)])), toByteOffset: b.count - 8, as: UInt64.self)
        }
        files["MANIFEST"] = Data(bytes)
        #expect(try LogManifestTests.manifest(files).logCreated == false)
        let store = try LogManifestTests.open(files, dir)
        let path = store.path
        try store.close()
        let m = try LogManifestTests.manifest(["MANIFEST": try readFile(path + "/MANIFEST")])
        #expect(m.logCreated && m.logSalt != nil)
    }

    @Test func aCheckpointRecordsTheSegmentHoldingItWithThatSegmentsSalt() throws {
        let dir = ScratchDirectory("log-manifest-checkpoint")
        let path = dir.sub("store")
        let store = try TokenStore(path: path, options: reliabilityOptions(shards: 2, durability: .none))
        defer { try? store.close() }
        try Workload.mix(store, 0..<50, generation: 1)
        try store.checkpoint()
        let m = try LogManifestTests.manifest(["MANIFEST": try readFile(path + "/MANIFEST")])
        // The checkpoint lies inside the log's first segment: it did not start one.
        #expect(m.checkpointSegmentStart == 0 && m.checkpointLSN > 0)
        let segment = try readFile(path + "/" + WriteAheadLog.fileName(m.checkpointSegmentStart))
        #expect(m.logCreated)
        #expect(m.logSalt == segment.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 24, as: UInt64.self) })
    }

    @Test func aCheckpointCreatesNoLogSegmentAndKeepsOnlyTheOneHoldingIt() throws {
        let dir = ScratchDirectory("log-manifest-segments")
        let path = dir.sub("store")
        let store = try TokenStore(path: path, options: reliabilityOptions(shards: 2, durability: .none))
        defer { try? store.close() }
        let segments = { try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasPrefix("wal-") }.sorted() }
        try Workload.mix(store, 0..<50, generation: 1)
        try store.checkpoint()
        #expect(try segments() == [WriteAheadLog.fileName(0)])
        try store.registry.store.wal.startNewSegment()
        try Workload.mix(store, 50..<100, generation: 1)
        let second = try segments()
        #expect(second.count == 2)
        try store.checkpoint()
        #expect(try segments() == [second[1]])
    }

    @Test func aStoreCrashedAfterACheckpointInTheMiddleOfASegmentReplaysFromThere() throws {
        let dir = ScratchDirectory("log-manifest-mid-segment")
        let live = dir.sub("live"), crashed = dir.sub("crashed")
        let store = try TokenStore(path: live, options: reliabilityOptions(shards: 2, durability: .none))
        defer { try? store.close() }
        for i in 0..<200 { try PrefixWrites.write(store, i) }
        try store.checkpoint()
        for i in 200..<400 { try PrefixWrites.write(store, i) }
        try copyStore(live, to: crashed)
        let reopened = try TokenStore(path: crashed, options: reliabilityOptions(shards: 2, durability: .none))
        defer { try? reopened.close() }
        #expect(try PrefixWrites.prefix(in: reopened) == 400)
        #expect(try reopened.verify().isEmpty)
    }

    /// A kill while a segment's header is written used to leave a magic with no checksum
    /// under the segment's name, which the next open called corruption. A segment is now
    /// built under a temporary name until its header is on disk; what such a crash leaves is
    /// removed, and the store opens with every write.
    @Test func aSegmentWhoseCreationWasInterruptedIsRemovedAndTheStoreOpens() throws {
        let dir = ScratchDirectory("log-interrupted-segment")
        let live = dir.sub("live"), crashed = dir.sub("crashed")
        let store = try TokenStore(path: live, options: reliabilityOptions(shards: 2, durability: .none))
        defer { try? store.close() }
        for i in 0..<200 { try PrefixWrites.write(store, i) }
        try copyStore(live, to: crashed)
        let next = store.registry.store.wal.endLSNNow + UInt64(WriteAheadLog.endMarkerSize)
        var half = Data(count: WriteAheadLog.firstSegmentSize)
        half.withUnsafeMutableBytes { $0.storeBytes(of: WriteAheadLog.magic, as: UInt64.self) }  // the magic alone
        let temporary = crashed + "/" + WriteAheadLog.temporaryName(next)
        try half.write(to: URL(fileURLWithPath: temporary))
        let reopened = try TokenStore(path: crashed, options: reliabilityOptions(shards: 2, durability: .none))
        defer { try? reopened.close() }
        #expect(try PrefixWrites.prefix(in: reopened) == 200)
        #expect(!FileManager.default.fileExists(atPath: temporary))
    }

    /// Format 2 wrote a 64-byte manifest and format 3 a 72-byte one, without the shard
    /// bitmap; this build refuses such a store by its version, so that the user is told to
    /// dump and load it, rather than calling it corrupt.
    @Test(arguments: [(UInt32(2), 64), (UInt32(3), 72)])
    func anOlderFormatsManifestIsRefusedByItsVersion(_ version: UInt32, _ size: Int) {
        #expect(Manifest.legacySizes.contains(size))
        var bytes = [UInt8](repeating: 0, count: size)
        bytes.withUnsafeMutableBytes { b in
            b.storeBytes(of: Manifest.magic, toByteOffset: 0, as: UInt64.self)
            b.storeBytes(of: version, toByteOffset: 8, as: UInt32.self)
            b.storeBytes(of: UInt32(1), toByteOffset: 12, as: UInt32.self)
            b.storeBytes(of: UInt16(64), toByteOffset: 42, as: UInt16.self)
            b.storeBytes(of: hash64(UnsafeRawBufferPointer(rebasing: b[0..<(size - 8)])), toByteOffset: size - 8, as: UInt64.self)
        }
        let error = #expect(throws: TokenStoreError.self) { try bytes.withUnsafeBytes { try Manifest.decode($0) } }
        #expect(error?.code == .versionMismatch, "\(String(describing: error))")
    }

    @Test func aManifestWhoseCheckpointLiesOutsideASegmentIsCorrupt() {
        var m = Manifest(shards: 1, logCreated: true, logSalt: 7)
        m.checkpointLSN = UInt64(WriteAheadLog.maxSegmentSize)
        var bytes = m.encoded()
        // An offset of a whole segment of the largest size: no segment can hold the
        // checkpoint that far in.
        bytes.withUnsafeMutableBytes { b in
            b.storeBytes(of: UInt32(WriteAheadLog.maxSegmentSize), toByteOffset: 56, as: UInt32.self)
            b.storeBytes(of: hash64(UnsafeRawBufferPointer(rebasing: b[0..<(b.count - 8)])), toByteOffset: b.count - 8, as: UInt64.self)
        }
        #expect(throws: TokenStoreError.self) { try bytes.withUnsafeBytes { try Manifest.decode($0) } }
        m.checkpointSegmentStart = 4096
        let decoded = m.encoded().withUnsafeBytes { try? Manifest.decode($0) }
        #expect(decoded?.checkpointSegmentStart == 4096 && decoded?.checkpointLSN == m.checkpointLSN)
    }

    @Test func movingTheCheckpointForgetsTheOldSegmentsSalt() {
        var m = Manifest(shards: 1, logCreated: true, logSalt: 7)
        m.checkpointLSN = 4096
        #expect(m.logSalt == nil && m.logCreated)
    }
}
