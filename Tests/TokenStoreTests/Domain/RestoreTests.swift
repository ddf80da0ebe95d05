import Foundation
import Testing
@testable import TokenStore

private typealias F = DomainFixture

/// The restore writes behind `load` of a dump: state put back as given, logged like every
/// write, and ordered by event time like every write.
@Suite struct RestoreTests {
    private let record = TokenRecord(
        deviceID: "d", appID: "a", token: F.token(for: .android, 1), userID: "kim", platform: .android,
        authorization: .provisional, isQuarantined: true, createdAt: F.t0, updatedAt: F.t0 + 20)

    @Test func restoresAreLoggedAndReplayedWhenTheStoreCrashesBeforeAnyCheckpoint() throws {
        try F.withDirectory { path throws in
            let crashed = path + "-crashed"
            defer { try? FileManager.default.removeItem(atPath: crashed) }
            let store = try TokenStore(path: path, options: F.options(shards: 4))
            try store.restore(record, eventAt: F.t0 + 30, keptBounces: 7)
            let state = UserState(subscription: .unsubscribed, optedInAt: F.t0 + 5, unsubscribedAt: F.t0 + 25)
            try store.restoreUser(userID: "kim", state: state, subscriptionAt: F.t0 + 25)
            try store.restoreChange(userID: "kim", ChangeEntry(at: F.t0, kind: .registered, deviceID: "d", appID: "a", token: record.token))
            try store.restoreBounceStatistics(byOutcome: [.kept: 7], byCategory: [.transient: 7])
            // The files as a crash leaves them: nothing checkpointed, everything in the log.
            try copyStore(path, to: crashed)
            try store.close()

            let recovered = try TokenStore(path: crashed, options: F.options())
            defer { try? recovered.close() }
            var times: (Int64, Int)?
            _ = try recovered.withToken(deviceID: "d", appID: "a") { times = ($0.eventAt, $0.keptBounces) }
            #expect(times?.0 == F.t0 + 30)
            #expect(times?.1 == 7)
            #expect(try recovered.token(deviceID: "d", appID: "a") == record)
            #expect(try recovered.user(userID: "kim") == state)
            #expect(try recovered.changelog(userID: "kim").map(\.kind) == [.registered])
            #expect(try recovered.statistics().bouncesByOutcome[.kept] == 7)
            #expect(try recovered.statistics().quarantined == 1)
            #expect(try recovered.verify().isEmpty)
        }
    }

    @Test func aRestoreOlderThanTheKeysEventTimeIsStaleAndANewerOneReplacesTheRecord() throws {
        try F.withStore(shards: 4) { store throws in
            try store.register(F.reg("d", "a", "live-token", user: "lee", at: F.t0 + 100))
            #expect(try store.restore(record, eventAt: F.t0 + 99, keptBounces: 0) == .stale)
            #expect(try store.token(deviceID: "d", appID: "a")?.token == "live-token")
            #expect(try store.restore(record, eventAt: F.t0 + 100, keptBounces: 0) == .applied)
            #expect(try store.token(deviceID: "d", appID: "a") == record)
            #expect(try store.tokens(userID: "lee").isEmpty)
            #expect(try store.verify().isEmpty)
        }
    }

    @Test func aRestoredTokenHeldByAnotherKeyMovesSoItStaysUnique() throws {
        try F.withStore(shards: 4) { store throws in
            try store.register(F.reg("other", "a", record.token, .android, user: "lee", at: F.t0))
            try store.restore(record, eventAt: F.t0 + 30, keptBounces: 0)
            #expect(try store.token(deviceID: "other", appID: "a") == nil)
            #expect(try store.count() == 1)
            #expect(try store.verify().isEmpty)
        }
    }

    @Test func restoresAddNoChangelogEntriesOfTheirOwn() throws {
        try F.withStore { store throws in
            try store.restore(record, eventAt: F.t0 + 30, keptBounces: 0)
            try store.restoreUser(userID: "kim", state: UserState(subscription: .optedIn, optedInAt: F.t0), subscriptionAt: F.t0)
            #expect(try store.changelog(userID: "kim").isEmpty)
        }
    }

    @Test func impossibleTimesAndCountsAreInvalidArguments() throws {
        try F.withStore { store throws in
            var late = record
            late.createdAt = late.updatedAt + 1
            #expect(throws: TokenStoreError.self) { try store.restore(late, eventAt: F.t0 + 30, keptBounces: 0) }
            #expect(throws: TokenStoreError.self) { try store.restore(record, eventAt: record.updatedAt - 1, keptBounces: 0) }
            #expect(throws: TokenStoreError.self) { try store.restore(record, eventAt: F.t0 + 30, keptBounces: -1) }
            #expect(throws: TokenStoreError.self) { try store.restoreBounceStatistics(byOutcome: [.removed: -1], byCategory: [:]) }
            #expect(throws: TokenStoreError.self) {
                try store.restoreChange(userID: "kim", ChangeEntry(at: -1, kind: .registered, deviceID: "d", appID: "a", token: "t"))
            }
            #expect(try store.count() == 0)
        }
    }
}
