import Foundation
import Testing
@testable import TokenStore

#if canImport(Glibc)
import Glibc
#endif

/// Small stores stay small (issue 13): shards that no write touched have no files, and the
/// log starts with a small segment that doubles up to the cap.
@Suite struct SmallStoreTests {
    static func options(shards: Int = 64) -> StoreOptions {
        var o = StoreOptions()
        o.shards = shards
        o.durability = .none
        return o
    }

    static func names(_ path: String) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: path).sorted() }

    static func shardFiles(_ path: String) throws -> [String] { try names(path).filter { $0.hasPrefix("shard-") } }

    /// The shards whose files exist in `path`, by number.
    static func shardsWithFiles(_ path: String) throws -> Set<Int> {
        Set(try shardFiles(path).compactMap { Int($0.dropFirst(6).prefix(4)) })
    }

    static func register(_ store: TokenStore, _ i: Int) throws {
        try store.register(Registration(
            deviceID: "device-\(i)", appID: "app", token: "token-\(i)", platform: .ios, authorization: .foreground,
            userID: "user-\(i)", at: 1000 + Int64(i)))
    }

    /// Allocated bytes of every file in `path`.
    static func allocatedBytes(_ path: String) throws -> Int {
        var total = 0
        for name in try names(path) {
            var st = stat()
            guard lstat(path + "/" + name, &st) == 0 else { continue }
            total += Int(st.st_blocks) * 512
        }
        return total
    }

    /// The log segments' file sizes, by start position.
    static func segmentSizes(_ path: String) throws -> [Int] {
        try WriteAheadLog.segmentStarts(in: names(path)).map { start in
            try readFile(path + "/" + WriteAheadLog.fileName(start)).count
        }
    }

    @Test func aNewStoreWithOneRecordHasAtMostTwelveFilesAndUnderOneMegabyte() throws {
        let dir = ScratchDirectory("small-one")
        let path = dir.sub("store")
        let store = try TokenStore(path: path, options: SmallStoreTests.options())
        try SmallStoreTests.register(store, 1)
        try store.close()
        let names = try SmallStoreTests.names(path)
        // MANIFEST, LOCK, one log segment, and the three files of each of the (at most three)
        // shards one registration writes: its key's, its token's and its user's.
        #expect(names.count <= 12, "\(names)")
        #expect(try SmallStoreTests.allocatedBytes(path) < 1 << 20)
        #expect(try SmallStoreTests.segmentSizes(path) == [WriteAheadLog.firstSegmentSize])
        let reopened = try TokenStore(path: path, options: SmallStoreTests.options())
        defer { try? reopened.close() }
        #expect(try reopened.token(deviceID: "device-1", appID: "app")?.token == "token-1")
    }

    @Test func aStoreThatWasOnlyReadHasNoShardFiles() throws {
        let dir = ScratchDirectory("small-read")
        let path = dir.sub("store")
        for _ in 0..<2 {
            let store = try TokenStore(path: path, options: SmallStoreTests.options())
            #expect(try store.token(deviceID: "device-1", appID: "app") == nil)
            #expect(try store.tokens(userID: "user-1").isEmpty)
            #expect(try store.count() == 0)
            #expect(try store.verify() == [])
            try store.checkpoint()
            try store.close()
        }
        #expect(try SmallStoreTests.shardFiles(path) == [])
        let m = try #require(try Manifest.read(directory: path))
        #expect((0..<64).allSatisfy { !m.hasFiles($0) })
    }

    /// A store of `records` registrations, closed, in `dir`; returns its path.
    static func closedStore(in dir: ScratchDirectory, records: Int) throws -> String {
        let path = dir.sub("store")
        let store = try TokenStore(path: path, options: options())
        for i in 0..<records { try register(store, i) }
        try store.close()
        return path
    }

    /// Reopens the store and checks that it holds `records` registrations and verifies clean.
    static func expectReopens(_ path: String, holding records: Int) throws {
        let reopened = try TokenStore(path: path, options: options())
        defer { try? reopened.close() }
        #expect(try reopened.count() == records)
        #expect(try reopened.verify() == [])
    }

    @Test func aNewStoreWithAHandfulOfRecordsStaysWellUnderOneMegabyte() throws {
        let dir = ScratchDirectory("small-handful")
        let path = try SmallStoreTests.closedStore(in: dir, records: 5)
        // Each written shard's files take the pages its records need: a shard in memory
        // reserves no worst-case bytes for a write, so its files are created small.
        #expect(try SmallStoreTests.allocatedBytes(path) < 512 << 10)
        try SmallStoreTests.expectReopens(path, holding: 5)
    }

    @Test func aThousandRecordStoreGrowsItsFilesWithItsRecords() throws {
        let dir = ScratchDirectory("small-thousand")
        let path = try SmallStoreTests.closedStore(in: dir, records: 1000)
        // Every shard is written, each with files of a few pages (about 2 MiB in all), far
        // below the 26 MB that 64 shards of fixed-size files and a 16 MiB segment took.
        #expect(try SmallStoreTests.shardsWithFiles(path).count == 64)
        #expect(try SmallStoreTests.allocatedBytes(path) < 4 << 20)
        try SmallStoreTests.expectReopens(path, holding: 1000)
    }

    /// Registers records until one writes a shard that has no files yet; returns it.
    static func registerIntoAShardWithoutFiles(_ store: TokenStore, from first: Int) throws -> Int {
        let engine = store.registry.store
        for i in first..<(first + 1000) {
            try register(store, i)
            if engine.shards.contains(where: { !$0.hasFiles && $0.isDirty }) { return i }
        }
        Issue.record("no write reached a shard without files")
        return first
    }

    @Test func untouchedShardsGetFilesWhenFirstWrittenAndSurviveReopenAndAKillsImage() throws {
        let dir = ScratchDirectory("small-lazy")
        let live = dir.sub("live"), killed = dir.sub("killed")
        let store = try TokenStore(path: live, options: SmallStoreTests.options())
        defer { try? store.close() }
        try SmallStoreTests.register(store, 0)
        try store.checkpoint()
        let before = try SmallStoreTests.shardsWithFiles(live)
        #expect(!before.isEmpty && before.count <= 3)
        let i = try SmallStoreTests.registerIntoAShardWithoutFiles(store, from: 1)
        // What a kill -9 leaves: the files as they are now, the write in the log only.
        try copyStore(live, to: killed)
        #expect(try SmallStoreTests.shardsWithFiles(killed) == before)
        do {
            let recovered = try TokenStore(path: killed, options: SmallStoreTests.options())
            #expect(try recovered.token(deviceID: "device-\(i)", appID: "app")?.token == "token-\(i)")
            #expect(try recovered.count() == i + 1)
            try recovered.close()
        }
        let grown = try SmallStoreTests.shardsWithFiles(killed)
        #expect(grown.isSuperset(of: before) && grown.count > before.count)
        let m = try #require(try Manifest.read(directory: killed))
        #expect((0..<64).allSatisfy { m.hasFiles($0) == grown.contains($0) })
        let reopened = try TokenStore(path: killed, options: SmallStoreTests.options())
        defer { try? reopened.close() }
        #expect(try reopened.count() == i + 1)
        #expect(try reopened.verify() == [])
        // The live store's own checkpoint gives the same shards their files.
        try store.checkpoint()
        #expect(try SmallStoreTests.shardsWithFiles(live) == grown)
    }

    @Test func aShardListedInTheManifestWhoseHeapFileIsMissingIsReportedAsCorruptNamingTheFile() throws {
        let dir = ScratchDirectory("small-missing")
        let path = dir.sub("store")
        let store = try TokenStore(path: path, options: SmallStoreTests.options())
        try SmallStoreTests.register(store, 1)
        try store.close()
        let n = try #require(try SmallStoreTests.shardsWithFiles(path).min())
        #expect(try #require(try Manifest.read(directory: path)).hasFiles(n))
        for name in Shard.fileNames(n) {
            let saved = try readFile(path + "/" + name)
            unlink(path + "/" + name)
            let error = #expect(throws: TokenStoreError.self) { _ = try TokenStore(path: path, options: SmallStoreTests.options()) }
            #expect(error?.code == .corrupt && error?.detail.contains(name) == true && error?.detail.contains("missing") == true,
                "\(String(describing: error))")
            try writeFile(path + "/" + name, saved)
        }
        let reopened = try TokenStore(path: path, options: SmallStoreTests.options())
        defer { try? reopened.close() }
        #expect(try reopened.count() == 1)
    }

    /// A crash between creating a shard's files and writing the manifest that lists them
    /// leaves files no manifest vouches for: they are removed, and the shard is empty.
    @Test func filesOfAShardTheManifestDoesNotListAreRemovedAtOpen() throws {
        let dir = ScratchDirectory("small-leftover")
        let path = dir.sub("store")
        let store = try TokenStore(path: path, options: SmallStoreTests.options())
        try SmallStoreTests.register(store, 1)
        try store.close()
        let listed = try SmallStoreTests.shardsWithFiles(path)
        let unlisted = try #require((0..<64).first { !listed.contains($0) })
        for name in Shard.fileNames(unlisted) { try writeFile(path + "/" + name, Data(repeating: 0xA5, count: 8192)) }
        let reopened = try TokenStore(path: path, options: SmallStoreTests.options())
        #expect(try reopened.count() == 1)
        #expect(try reopened.verify() == [])
        #expect(try !SmallStoreTests.shardsWithFiles(path).contains(unlisted))
        try reopened.close()
    }

    @Test func aManifestThatListsAShardPastTheShardCountIsCorrupt() {
        var m = Manifest(shards: 2)
        m.setHasFiles(1)
        var bytes = m.encoded()
        #expect(bytes.count == Manifest.size(shards: 2))
        #expect(bytes.withUnsafeBytes { try? Manifest.decode($0) }?.hasFiles(1) == true)
        bytes[Manifest.fixedSize] |= 1 << 5
        bytes.withUnsafeMutableBytes { b in
            b.storeBytes(of: hash64(UnsafeRawBufferPointer(rebasing: b[0..<(b.count - 8)])), toByteOffset: b.count - 8, as: UInt64.self)
        }
        let error = #expect(throws: TokenStoreError.self) { try bytes.withUnsafeBytes { try Manifest.decode($0) } }
        #expect(error?.code == .corrupt && error?.detail.contains("shard 5") == true, "\(String(describing: error))")
    }

    @Test func theManifestOfFourThousandShardsListsEachOne() throws {
        var m = Manifest(shards: 4096)
        for n in [0, 63, 64, 2048, 4095] { m.setHasFiles(n) }
        let decoded = try m.encoded().withUnsafeBytes { try Manifest.decode($0) }
        #expect(decoded == m && m.encoded().count == Manifest.maxSize)
        #expect((0..<4096).filter { decoded.hasFiles($0) } == [0, 63, 64, 2048, 4095])
    }

    @Test func logSegmentsGrowFromTheSmallFirstSizeUpToTheCap() throws {
        let dir = ScratchDirectory("small-segments")
        let path = dir.sub("store")
        var o = SmallStoreTests.options(shards: 1)
        o.checkpointLogBytes = 1 << 30
        var store = try TokenStore(path: path, options: o)
        try SmallStoreTests.register(store, 0)
        var expected = [WriteAheadLog.firstSegmentSize]
        for i in 1...6 {
            try store.registry.store.wal.startNewSegment()
            try SmallStoreTests.register(store, i)
            expected.append(min(expected.last! * WriteAheadLog.segmentGrowth, WriteAheadLog.maxSegmentSize))
        }
        #expect(expected.last == WriteAheadLog.maxSegmentSize && expected.dropLast().last == WriteAheadLog.maxSegmentSize)
        #expect(try SmallStoreTests.segmentSizes(path) == expected)
        // What a kill -9 leaves: every segment replays, whatever its size.
        let killed = dir.sub("killed")
        try copyStore(path, to: killed)
        try store.close()
        store = try TokenStore(path: killed, options: o)
        defer { try? store.close() }
        #expect(try store.count() == 7)
        #expect(try store.verify() == [])
    }

    @Test func aSegmentAfterAReopenGrowsFromTheOneItFollows() throws {
        let dir = ScratchDirectory("small-reopen-segments")
        let path = dir.sub("store")
        var o = SmallStoreTests.options(shards: 1)
        o.checkpointLogBytes = 1 << 30
        do {
            let store = try TokenStore(path: path, options: o)
            try SmallStoreTests.register(store, 0)
            try store.registry.store.wal.startNewSegment()
            try SmallStoreTests.register(store, 1)
            try store.close()
        }
        let store = try TokenStore(path: path, options: o)
        defer { try? store.close() }
        let second = WriteAheadLog.segmentGrowth * WriteAheadLog.firstSegmentSize
        #expect(try SmallStoreTests.segmentSizes(path) == [second])
        try store.registry.store.wal.startNewSegment()
        try SmallStoreTests.register(store, 2)
        #expect(try SmallStoreTests.segmentSizes(path).last == WriteAheadLog.segmentGrowth * second)
    }

    /// A record too big for the next size gets a segment that holds it.
    @Test func aRecordLargerThanTheNextSegmentGetsOneThatHoldsIt() {
        let big = WriteAheadLog.maxPayload + WriteAheadLog.recordHeaderSize
        let size = WriteAheadLog.nextSegmentSize(after: WriteAheadLog.firstSegmentSize, holding: big)
        #expect(WriteAheadLog.isValidSegmentSize(size))
        #expect(size >= WriteAheadLog.headerSize + big + WriteAheadLog.endMarkerSize)
        #expect(WriteAheadLog.nextSegmentSize(after: WriteAheadLog.maxSegmentSize, holding: 32) == WriteAheadLog.maxSegmentSize)
    }

    /// The size in a segment's header is checksummed; one that is not a size the log uses,
    /// even with the checksum made to match, is a bad header, never a trap.
    @Test(arguments: [0, 3, 4096, 32 << 10, 96 << 10, 32 << 20, 1 << 31])
    func aSegmentHeaderWithAnImpossibleSizeIsRefusedAsCorrupt(_ size: Int) throws {
        let dir = ScratchDirectory("small-segment-size")
        let path = dir.sub("store")
        let store = try TokenStore(path: path, options: SmallStoreTests.options(shards: 1))
        try SmallStoreTests.register(store, 1)
        try store.close()
        let name = WriteAheadLog.fileName(try #require(WriteAheadLog.segmentStarts(in: SmallStoreTests.names(path)).first))
        var data = try readFile(path + "/" + name)
        data.withUnsafeMutableBytes { b in
            b.storeBytes(of: UInt32(truncatingIfNeeded: size), toByteOffset: WriteAheadLog.sizeOffset, as: UInt32.self)
            b.storeBytes(of: hash64(UnsafeRawBufferPointer(rebasing: b[0..<32])), toByteOffset: 32, as: UInt64.self)
        }
        try writeFile(path + "/" + name, data)
        let error = #expect(throws: TokenStoreError.self) { _ = try TokenStore(path: path, options: SmallStoreTests.options(shards: 1)) }
        #expect(error?.code == .corrupt && error?.detail.contains(name) == true, "\(String(describing: error))")
    }

    /// A valid size larger than the file reads as a truncated segment: recovery grows it to
    /// its size and every record replays.
    @Test func aSegmentShorterThanItsHeadersSizeReadsAsATruncatedOne() throws {
        let dir = ScratchDirectory("small-segment-short")
        let path = dir.sub("store")
        let store = try TokenStore(path: path, options: SmallStoreTests.options(shards: 1))
        let killed = dir.sub("killed")
        for i in 0..<20 { try SmallStoreTests.register(store, i) }
        try copyStore(path, to: killed)
        try store.close()
        let name = WriteAheadLog.fileName(try #require(WriteAheadLog.segmentStarts(in: SmallStoreTests.names(killed)).first))
        var data = try readFile(killed + "/" + name)
        data.withUnsafeMutableBytes { b in
            b.storeBytes(of: UInt32(WriteAheadLog.maxSegmentSize), toByteOffset: WriteAheadLog.sizeOffset, as: UInt32.self)
            b.storeBytes(of: hash64(UnsafeRawBufferPointer(rebasing: b[0..<32])), toByteOffset: 32, as: UInt64.self)
        }
        try writeFile(killed + "/" + name, data)
        let reopened = try TokenStore(path: killed, options: SmallStoreTests.options(shards: 1))
        defer { try? reopened.close() }
        #expect(try reopened.count() == 20)
        try SmallStoreTests.register(reopened, 20)
        #expect(try SmallStoreTests.segmentSizes(killed) == [WriteAheadLog.maxSegmentSize])
    }
}
