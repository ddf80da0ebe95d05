import Foundation
import Testing
@testable import TokenStore

/// Issue 14: tombstones survive a crash as records do. Replay of the log rebuilds them, the
/// dead marks of bounced tokens and the sweeps that dropped expired ones, so that a late write
/// is judged after recovery as it would have been before.
@Suite struct TombstoneRecoveryTests {
    private static let t0: Int64 = 1_795_860_000_000
    private static let day: Int64 = 86_400_000

    /// Runs `body` on a store, copies it while open (a crash: nothing since the open was
    /// checkpointed), and returns the snapshot before and the recovered store.
    private func crashed(
        retention: Int64 = StoreOptions.defaultTombstoneRetention, checkpointFirst: Bool = false,
        _ body: (TokenStore) throws -> Void, then check: (TokenStore) throws -> Void
    ) throws -> (StoreSnapshot, StoreSnapshot) {
        let dir = ScratchDirectory("tombstone-recovery")
        let path = dir.sub("store"), copy = dir.sub("crashed")
        var options = reliabilityOptions(shards: 4)
        options.tombstoneRetention = retention
        let store = try TokenStore(path: path, options: options)
        try body(store)
        if checkpointFirst { try store.checkpoint() }
        try store.sync()
        let acknowledged = try StoreSnapshot(store)
        try copyStore(path, to: copy)
        try store.close()
        let recovered = try TokenStore(path: copy, options: reliabilityOptions(shards: 4))
        defer { try? recovered.close() }
        let snapshot = try StoreSnapshot(recovered)
        #expect(recovered.options.tombstoneRetention == retention, "the retention comes from the manifest")
        #expect(try recovered.verify() == [])
        try check(recovered)
        return (acknowledged, snapshot)
    }

    private func register(_ store: TokenStore, _ device: String, _ token: String, at: Int64) throws -> WriteOutcome {
        try store.register(Registration(deviceID: device, appID: "app", token: token, platform: .ios, authorization: .foreground,
            userID: "kim", at: at))
    }

    private func removals(_ store: TokenStore) throws {
        for i in 0..<40 { _ = try register(store, "dev-\(i)", "tok-\(i)", at: Self.t0 + Int64(i)) }
        for i in 0..<40 {
            switch i % 4 {
            case 0: try store.uninstall(deviceID: "dev-\(i)", appID: "app", at: Self.t0 + 1000)
            case 1: _ = try store.bounce(token: "tok-\(i)", errorCode: "Unregistered", at: Self.t0 + 1000)
            default: break
            }
        }
        _ = try store.sweep(olderThan: Self.t0 + 30, at: Self.t0 + 2000)
        // A reinstall clears one tombstone; a bounced token comes back on another key and ends its death.
        #expect(try register(store, "dev-0", "tok-new-0", at: Self.t0 + 3000) == .applied)
        #expect(try register(store, "elsewhere", "tok-1", at: Self.t0 + 3000) == .applied)
    }

    private func lateWritesAreStale(_ store: TokenStore) throws {
        #expect(try register(store, "dev-4", "tok-4", at: Self.t0 + 999) == .stale)
        #expect(try store.changeUser(deviceID: "dev-8", appID: "app", userID: "charlie", at: Self.t0 + 999) == .stale)
        #expect(try register(store, "another", "tok-5", at: Self.t0 + 999) == .stale, "a bounced token stays dead after recovery")
        #expect(try register(store, "dev-2", "tok-2", at: Self.t0 + 1999) == .stale, "the sweep's tombstone")
        #expect(try register(store, "yet-another", "tok-1", at: Self.t0 + 999) == .applied, "its death ended before the crash")
    }

    @Test func tombstonesAndDeadMarksAreRebuiltByReplayingTheLog() throws {
        let (acknowledged, recovered) = try crashed(removals, then: lateWritesAreStale)
        #expect(recovered == acknowledged, "\(recovered.difference(from: acknowledged))")
        #expect(acknowledged.tombstones.count == 33)
    }

    @Test func tombstonesSurviveACheckpointAndTheLogAfterIt() throws {
        let (acknowledged, recovered) = try crashed(checkpointFirst: true, removals, then: lateWritesAreStale)
        #expect(recovered == acknowledged, "\(recovered.difference(from: acknowledged))")
    }

    @Test func aSweepThatDroppedExpiredTombstonesIsReplayedAsItRan() throws {
        let (acknowledged, recovered) = try crashed(retention: Self.day, { store throws in
            try removals(store)
            _ = try store.sweep(olderThan: 0, at: Self.t0 + 2 * Self.day)
        }, then: { store throws in
            #expect(try store.statistics().tombstones == 0)
            #expect(try register(store, "dev-4", "tok-4", at: Self.t0 + 999) == .applied)
        })
        #expect(recovered == acknowledged, "\(recovered.difference(from: acknowledged))")
        #expect(acknowledged.tombstones.isEmpty)
    }
}
