import Foundation
import Testing
@testable import TokenStore

#if canImport(Glibc)
import Glibc
#endif

/// Fault injection (issue 7): `ENOSPC` and `EIO` on the store's writes, syncs, truncations
/// and mappings, through `SystemCalls.current` (see `SyscallInterposer`; each fault hits only
/// files of the test's own store). In every case the failing call returns a typed error that
/// names no token or id, the store stays consistent and readable, and once the fault is gone
/// writes resume and a reopen finds exactly what was acknowledged.
@Suite(.serialized) struct FaultInjectionTests {
    /// Runs `body` with a fresh store under an active scope; returns the faults injected.
    @discardableResult
    func withFaultyStore(
        _ options: StoreOptions = reliabilityOptions(shards: 2), name: String = #function,
        _ body: (IOScope, String, inout TokenStore) throws -> Void
    ) throws -> Int {
        let dir = ScratchDirectory("faults")
        let path = dir.sub("store")
        let scope = IOScope(directory: path)
        try SyscallInterposer.run(scope) {
            var store = try TokenStore(path: path, options: options)
            try body(scope, path, &store)
            try? store.close()
        }
        let injected = scope.injectedTotal
        FaultTally.shared.add(injected)
        print("FAULTS \(name) injected=\(injected) total=\(FaultTally.shared.count)")
        return injected
    }

    /// Expects `call` to throw a `TokenStoreError` with `code`, free of personal data.
    func expectFailure(_ code: TokenStoreError.Code, naming file: String? = nil, sourceLocation: SourceLocation = #_sourceLocation,
        _ call: () throws -> Void) {
        do {
            try call()
            Issue.record("expected a \(code) error", sourceLocation: sourceLocation)
        } catch let e as TokenStoreError {
            #expect(e.code == code, "\(e)", sourceLocation: sourceLocation)
            if let file { #expect(e.detail.contains(file), "\(e) should name \(file)", sourceLocation: sourceLocation) }
            expectNoPersonalData(e, sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    /// Closes, reopens without faults, and compares with `expected`.
    func expectReopenEquals(_ store: inout TokenStore, _ path: String, _ expected: StoreSnapshot, options: StoreOptions,
        sourceLocation: SourceLocation = #_sourceLocation) throws {
        try store.close()
        store = try TokenStore(path: path, options: options)
        let again = try StoreSnapshot(store)
        #expect(again == expected, "after reopen: \(again.difference(from: expected))", sourceLocation: sourceLocation)
        #expect(try store.verify() == [], sourceLocation: sourceLocation)
    }

    // MARK: The write-ahead log

    @Test func aFullDiskWhenTheLogNeedsANewSegmentFailsTheWriteAndLosesNothing() throws {
        let options = reliabilityOptions(shards: 2, checkpointLogBytes: 64 << 20)
        try withFaultyStore(options) { scope, path, store in
            scope.inject(.fallocate, ENOSPC) { $0.hasPrefix("wal-") }
            // ~4 KiB records: the first, 64 KiB segment fills after about 15 writes.
            var failedAt: Int?
            for i in 0..<6_000 {
                do { try Workload.register(store, i, padding: 3_900) } catch {
                    expectFailure(.noSpace, naming: "wal-") { throw error }
                    failedAt = i
                    break
                }
            }
            let i = try #require(failedAt, "the log never needed a new segment")
            #expect(try store.token(deviceID: Workload.device(i), appID: "app") == nil, "the failed write was applied")
            #expect(try store.verify() == [])
            expectFailure(.noSpace) { try Workload.register(store, i, padding: 3_900) }
            let before = try StoreSnapshot(store)
            #expect(before.records.count == i)
            scope.heal()
            for j in i..<(i + 50) { try Workload.register(store, j, padding: 3_900) }
            try expectReopenEquals(&store, path, try StoreSnapshot(store), options: options)
            #expect(try store.count() == i + 50)
        }
    }

    /// A checkpoint snapshots at wherever the log ends: it creates no segment, so a disk too
    /// full for a new one does not stop it.
    @Test func aCheckpointNeedsNoNewLogSegment() throws {
        let options = reliabilityOptions(shards: 2)
        try withFaultyStore(options) { scope, path, store in
            try Workload.mix(store, 0..<300, generation: 1)
            // Segments start small: roll until the current one has room for the writes after
            // the checkpoint, which must not need a segment either.
            let wal = store.registry.store.wal!
            for _ in 0..<4 { try wal.startNewSegment() }
            scope.inject(.fallocate, ENOSPC) { $0.hasPrefix("wal-") }
            scope.inject(.open, ENOSPC) { $0.hasPrefix("wal-") }
            try store.checkpoint()
            try Workload.mix(store, 300..<400, generation: 1)
            #expect(try store.verify() == [])
            scope.heal()
            try store.checkpoint()
            try Workload.mix(store, 400..<450, generation: 1)
            try expectReopenEquals(&store, path, try StoreSnapshot(store), options: options)
        }
    }

    @Test func anIOErrorFromMsyncFailsAnAlwaysWriteAndLosesNothingAcknowledged() throws {
        let options = reliabilityOptions(shards: 2, durability: .always)
        try withFaultyStore(options) { scope, path, store in
            try Workload.mix(store, 0..<60, generation: 1)
            scope.inject(.msync, EIO, count: 1) { $0.hasPrefix("wal-") }
            expectFailure(.io, naming: "wal-") { try Workload.register(store, 1_000) }
            // The write was logged before the sync failed: it is applied, but not acknowledged.
            // Later writes resume (the first may still see the old error: see the next test).
            var resumed = false
            for i in 60..<63 {
                do {
                    try Workload.register(store, i, generation: 2)
                    resumed = true
                } catch { expectFailure(.io) { throw error } }
            }
            #expect(resumed)
            try Workload.mix(store, 63..<120, generation: 1)
            #expect(try store.verify() == [])
            let expected = try StoreSnapshot(store)
            try expectReopenEquals(&store, path, expected, options: options)
        }
    }

    /// `WriteAheadLog.sync` keeps a failed sync's error for the next caller, even one that
    /// arrives later and whose own sync would succeed: a write on a healthy disk fails.
    @Test
    func afterAFailedMsyncTheNextWriteOnAHealthyDiskSucceeds() throws {
        let options = reliabilityOptions(shards: 2, durability: .always)
        try withFaultyStore(options) { scope, _, store in
            try Workload.mix(store, 0..<10, generation: 1)
            scope.inject(.msync, EIO, count: 1) { $0.hasPrefix("wal-") }
            expectFailure(.io) { try Workload.register(store, 1_000) }
            #expect(scope.injectedTotal == 1)
            #expect(throws: Never.self) { try Workload.register(store, 1_001) }
        }
    }

    // MARK: Shard growth

    @Test(arguments: [(IOScope.Call.fallocate, ENOSPC, TokenStoreError.Code.noSpace), (.fallocate, EIO, .io), (.mmap, ENOMEM, .io)])
    func aFailureWhileAShardGrowsFailsTheWriteCleanly(_ call: IOScope.Call, _ errno: Int32, _ code: TokenStoreError.Code) throws {
        let options = reliabilityOptions(shards: 1)
        try withFaultyStore(options) { scope, path, store in
            try Workload.mix(store, 0..<50, generation: 1)
            // The shard's files appear with its first checkpoint; until then it grows in memory.
            // Reopened, it maps them: the growth under test is that of a mapped file.
            try store.checkpoint()
            #expect(FileManager.default.fileExists(atPath: path + "/" + Shard.heapName(0)))
            try store.close()
            store = try TokenStore(path: path, options: options)
            scope.inject(call, errno) { $0.hasPrefix("shard-") }
            var failedAt: Int?
            for i in 50..<20_000 {
                do { try Workload.register(store, i, padding: 200) } catch {
                    expectFailure(code, naming: "shard-0000") { throw error }
                    failedAt = i
                    break
                }
            }
            let i = try #require(failedAt, "no shard grew")
            #expect(try store.token(deviceID: Workload.device(i), appID: "app") == nil, "the failed write was applied")
            #expect(try store.verify() == [])
            let before = try StoreSnapshot(store)
            scope.heal()
            try Workload.register(store, i, padding: 200)
            try Workload.mix(store, (i + 1)..<(i + 200), generation: 1)
            #expect(try store.count() > before.records.count)
            try expectReopenEquals(&store, path, try StoreSnapshot(store), options: options)
        }
    }

    /// The checkpoint that first writes a shard creates its files: a full disk or a failing
    /// one there fails that checkpoint with a status, leaves the shard in memory and no file of
    /// it behind, and keeps the store writable; once healed, a checkpoint creates the files.
    @Test(arguments: [(IOScope.Call.fallocate, ENOSPC, TokenStoreError.Code.noSpace), (.fallocate, EIO, .io), (.open, ENOSPC, .noSpace)])
    func aFailureCreatingAShardsFilesFailsTheCheckpointCleanly(_ call: IOScope.Call, _ errno: Int32, _ code: TokenStoreError.Code) throws {
        let options = reliabilityOptions(shards: 2)
        try withFaultyStore(options) { scope, path, store in
            try Workload.mix(store, 0..<50, generation: 1)
            scope.inject(call, errno) { $0.hasPrefix("shard-") }
            expectFailure(code, naming: "shard-") { try store.checkpoint() }
            #expect(try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasPrefix("shard-") } == [])
            try Workload.mix(store, 50..<100, generation: 1)
            #expect(try store.verify() == [])
            scope.heal()
            try store.checkpoint()
            for n in 0..<2 {
                for name in Shard.fileNames(n) { #expect(FileManager.default.fileExists(atPath: path + "/" + name), "\(name)") }
            }
            try Workload.mix(store, 100..<150, generation: 1)
            try expectReopenEquals(&store, path, try StoreSnapshot(store), options: options)
        }
    }

    /// A checkpoint that created shards' files and sealed its journal, then failed writing
    /// into them, leaves files that no manifest lists yet: recovery applies the journal into
    /// them and the manifest lists them from then on.
    @Test func aCheckpointThatFailedAfterCreatingShardFilesIsRecoveredFromItsJournal() throws {
        let options = reliabilityOptions(shards: 2)
        try withFaultyStore(options) { scope, path, store in
            try Workload.mix(store, 0..<100, generation: 1)
            let expected = try StoreSnapshot(store)
            scope.inject(.pwrite, EIO, count: 1) { $0.hasPrefix("shard-") }
            expectFailure(.io, naming: "shard-") { try store.checkpoint() }
            scope.heal()
            #expect(FileManager.default.fileExists(atPath: path + "/" + Checkpoint.journalName))
            let before = try #require(try Manifest.read(directory: path))
            #expect(!before.hasFiles(0) && !before.hasFiles(1))
            try store.close()
            store = try TokenStore(path: path, options: options)
            #expect(try StoreSnapshot(store) == expected)
            let after = try #require(try Manifest.read(directory: path))
            #expect(after.hasFiles(0) && after.hasFiles(1))
            #expect(try store.verify() == [])
        }
    }

    // MARK: Checkpoints

    @Test(arguments: [(IOScope.Call.pwrite, ENOSPC, TokenStoreError.Code.noSpace), (.pwrite, EIO, .io), (.fdatasync, EIO, .io)])
    func aFailureWritingTheCheckpointJournalLeavesTheStoreWritable(_ call: IOScope.Call, _ errno: Int32, _ code: TokenStoreError.Code) throws {
        let options = reliabilityOptions(shards: 2)
        try withFaultyStore(options) { scope, path, store in
            try Workload.mix(store, 0..<300, generation: 1)
            try store.checkpoint()
            try Workload.mix(store, 300..<600, generation: 1)
            scope.shortWrites = true
            scope.inject(call, errno) { $0 == "checkpoint.journal" }
            expectFailure(code, naming: "checkpoint.journal") { try store.checkpoint() }
            try Workload.mix(store, 600..<700, generation: 1)
            #expect(try store.verify() == [])
            scope.heal()
            try store.checkpoint()
            try expectReopenEquals(&store, path, try StoreSnapshot(store), options: options)
        }
    }

    @Test(arguments: [(IOScope.Call.pwrite, ENOSPC, TokenStoreError.Code.noSpace), (.pwrite, EIO, .io), (.fsync, EIO, .io)])
    func aFailureWritingShardFilesRefusesWritesUntilReopenAndLosesNothing(
        _ call: IOScope.Call, _ errno: Int32, _ code: TokenStoreError.Code
    ) throws {
        let options = reliabilityOptions(shards: 2)
        try withFaultyStore(options) { scope, path, store in
            try Workload.mix(store, 0..<300, generation: 1)
            try store.checkpoint()
            try Workload.mix(store, 300..<600, generation: 1)
            let acknowledged = try StoreSnapshot(store)
            scope.shortWrites = true
            // Let the first page through: the shard files end up half written.
            scope.inject(call, errno, skip: call == .pwrite ? 1 : 0) { $0.hasPrefix("shard-") }
            expectFailure(code, naming: "shard-") { try store.checkpoint() }
            // Past the journal's seal only recovery can put the files right: writes are refused,
            // reads still answer.
            expectFailure(.io) { try Workload.register(store, 5_000) }
            #expect(try StoreSnapshot(store) == acknowledged)
            #expect(try store.verify() == [])
            // What a crash now would leave: recovery applies the sealed journal.
            let copy = path + "-crash"
            try copyStore(path, to: copy)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            scope.heal()
            do {
                let recovered = try TokenStore(path: copy, options: options)
                #expect(try StoreSnapshot(recovered) == acknowledged)
                #expect(try recovered.verify() == [])
                try recovered.close()
            }
            try expectReopenEquals(&store, path, acknowledged, options: options)
            try Workload.mix(store, 600..<650, generation: 1)
            try expectReopenEquals(&store, path, try StoreSnapshot(store), options: options)
        }
    }

    @Test(arguments: [IOScope.Call.rename, .fsync])
    func aFailureWritingTheManifestLosesNothing(_ call: IOScope.Call) throws {
        let options = reliabilityOptions(shards: 2)
        try withFaultyStore(options) { scope, path, store in
            try Workload.mix(store, 0..<300, generation: 1)
            try store.checkpoint()
            try Workload.mix(store, 300..<600, generation: 1)
            let acknowledged = try StoreSnapshot(store)
            scope.inject(call, EIO) { $0.hasPrefix("MANIFEST") }
            expectFailure(.io, naming: "MANIFEST") { try store.checkpoint() }
            #expect(try store.verify() == [])
            scope.heal()
            let copy = path + "-crash"
            try copyStore(path, to: copy)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            do {
                let recovered = try TokenStore(path: copy, options: options)
                #expect(try StoreSnapshot(recovered) == acknowledged)
                try recovered.close()
            }
            try expectReopenEquals(&store, path, acknowledged, options: options)
        }
    }

    /// A checkpoint that failed after sealing its journal leaves shard files newer than the
    /// manifest; only that journal can make recovery consistent. A later checkpoint (the
    /// syncer's, or `close`'s) must not truncate it before its own journal is sealed.
    @Test
    func aCheckpointAfterOneThatFailedPastItsSealKeepsTheStoreRecoverable() throws {
        let options = reliabilityOptions(shards: 2)
        try withFaultyStore(options) { scope, path, store in
            try Workload.mix(store, 0..<300, generation: 1)
            try store.checkpoint()
            try Workload.mix(store, 300..<600, generation: 1)
            let acknowledged = try StoreSnapshot(store)
            // 1. The shard files are written and synced, the manifest is not: poisoned.
            scope.inject(.rename, EIO, count: 1) { $0.hasPrefix("MANIFEST") }
            expectFailure(.io) { try store.checkpoint() }
            // 2. The next checkpoint fails while writing its own journal.
            scope.inject(.pwrite, EIO, count: 1) { $0 == "checkpoint.journal" }
            do { try store.checkpoint() } catch {}
            scope.heal()
            // 3. A crash now.
            let copy = path + "-crash"
            try copyStore(path, to: copy)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            let recovered = try TokenStore(path: copy, options: options)
            let found = try StoreSnapshot(recovered)
            #expect(found == acknowledged, "after recovery: \(found.difference(from: acknowledged))")
            #expect(try recovered.verify() == [])
            try recovered.close()
        }
    }

    @Test func faultsOfOneStoreNeverReachAnotherStore() throws {
        let other = ScratchDirectory("bystander")
        let bystander = try TokenStore(path: other.sub("store"), options: reliabilityOptions(shards: 1, durability: .always))
        try withFaultyStore { scope, _, store in
            for call in IOScope.Call.allCases { scope.inject(call, EIO) }
            expectFailure(.io) { try store.checkpoint() }
            // Every call of the other store passes, although it runs while the faults are active.
            try Workload.mix(bystander, 0..<100, generation: 1)
            try bystander.checkpoint()
            scope.heal()
        }
        #expect(try bystander.verify() == [])
        try bystander.close()
    }
}

/// Faults injected over the run, for the report.
final class FaultTally: @unchecked Sendable {
    static let shared = FaultTally()
    private let lock = NSLock()
    private var total = 0
    func add(_ n: Int) {
        lock.lock()
        total += n
        lock.unlock()
    }
    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return total
    }
}
