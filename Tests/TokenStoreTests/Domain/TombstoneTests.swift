import Foundation
import Testing
@testable import TokenStore

private typealias F = DomainFixture

/// Issue 14: a removal leaves a tombstone, so that a late write cannot bring the token back.
@Suite struct TombstoneTests {
    private static let retention = StoreOptions.defaultTombstoneRetention

    private func withStore<R>(shards: Int = 4, retention: Int64? = nil, _ body: (TokenStore) throws -> R) throws -> R {
        let path = F.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = F.options(shards: shards)
        if let retention { options.tombstoneRetention = retention }
        let store = try TokenStore(path: path, options: options)
        defer { try? store.close() }
        return try body(store)
    }

    private func tombstones(_ store: TokenStore) throws -> [Tombstone] {
        var out: [Tombstone] = []
        try store.forEachBackupTombstone { out.append($0); return true }
        return out
    }

    private func hash(_ token: String) -> UInt64 { token.utf8CString.withUnsafeBytes { Registry.tokenHash(UnsafeRawBufferPointer(rebasing: $0.dropLast())) } }

    // MARK: A removal leaves a tombstone

    @Test func anUninstallLeavesATombstoneWithTheKeyTheTokensHashAndTheRemovalsTime() throws {
        try withStore { store throws in
            let token = F.apnsToken(1)
            try store.register(F.reg("phone", "app", token, user: "kim", at: F.t0))
            try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 200)
            #expect(try tombstones(store) == [Tombstone(deviceID: "phone", appID: "app", tokenHash: hash(token), at: F.t0 + 200, bounced: false)])
            #expect(try store.verify() == [])
        }
    }

    @Test func aRemovingBounceLeavesABouncedTombstone() throws {
        try withStore { store throws in
            let token = F.fcmToken(2)
            try store.register(F.reg("pixel", "app", token, .android, user: "kim", at: F.t0))
            #expect(try store.bounce(token: token, errorCode: "UNREGISTERED", at: F.t0 + 300).outcome == .removed)
            #expect(try tombstones(store) == [Tombstone(deviceID: "pixel", appID: "app", tokenHash: hash(token), at: F.t0 + 300, bounced: true)])
            #expect(try store.verify() == [])
        }
    }

    @Test func aBounceThatKeepsTheTokenLeavesNoTombstone() throws {
        try withStore { store throws in
            let token = F.fcmToken(3)
            try store.register(F.reg("pixel", "app", token, .android, user: "kim", at: F.t0))
            _ = try store.bounce(token: token, errorCode: "Unavailable", at: F.t0 + 1)
            #expect(try tombstones(store).isEmpty)
        }
    }

    @Test func anExpirySweepLeavesATombstoneAtTheSweepsTime() throws {
        try withStore { store throws in
            let token = F.webToken(4)
            try store.register(F.reg("laptop", "site", token, .web, .foreground, user: "kim", at: F.t0))
            #expect(try store.sweep(olderThan: F.t0 + 1, at: F.t0 + 60 * F.day) == 1)
            #expect(try tombstones(store) == [Tombstone(deviceID: "laptop", appID: "site", tokenHash: hash(token), at: F.t0 + 60 * F.day, bounced: false)])
            // The registration that a retry queue held back since before the sweep is stale.
            #expect(try store.register(F.reg("laptop", "site", token, .web, .foreground, user: "kim", at: F.t0 + 59 * F.day)) == .stale)
            #expect(try store.token(deviceID: "laptop", appID: "site") == nil)
        }
    }

    // MARK: A write to a tombstoned key that is older than the removal is stale

    @Test func aLateRegistrationOlderThanAnUninstallIsStaleAndChangesNothing() throws {
        try withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(5), user: "kim", at: F.t0 + 100))
            try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 200)
            let before = try DomainSnapshot(store, apps: ["app"])
            let stones = try tombstones(store)
            #expect(try store.register(F.reg("phone", "app", F.apnsToken(5), user: "kim", at: F.t0 + 150)) == .stale)
            #expect(try store.register(F.reg("phone", "app", F.apnsToken(6), user: "charlie", at: F.t0 + 199)) == .stale)
            #expect(try DomainSnapshot(store, apps: ["app"]) == before)
            #expect(try tombstones(store) == stones)
            #expect(try store.user(userID: "charlie") == nil, "a stale write created a user")
        }
    }

    @Test func olderChangeUserSetAuthorizationAndUninstallOnATombstonedKeyAreStale() throws {
        try withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(7), user: "kim", at: F.t0))
            try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 200)
            let before = try DomainSnapshot(store, apps: ["app"])
            #expect(try store.changeUser(deviceID: "phone", appID: "app", userID: "charlie", at: F.t0 + 100) == .stale)
            #expect(try store.setAuthorization(deviceID: "phone", appID: "app", authorization: .background, at: F.t0 + 100) == .stale)
            #expect(try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 199) == .stale)
            #expect(try DomainSnapshot(store, apps: ["app"]) == before)
            #expect(try store.user(userID: "charlie") == nil)
        }
    }

    @Test func theSameWritesAtOrAfterTheRemovalFindNoTokenAndLeaveTheTombstone() throws {
        try withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(8), user: "kim", at: F.t0))
            try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 200)
            let stones = try tombstones(store)
            F.expectCode(.notFound) { try store.changeUser(deviceID: "phone", appID: "app", userID: "charlie", at: F.t0 + 200) }
            F.expectCode(.notFound) { try store.setAuthorization(deviceID: "phone", appID: "app", authorization: .background, at: F.t0 + 201) }
            F.expectCode(.notFound) { try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 300) }
            #expect(try tombstones(store) == stones)
        }
    }

    @Test func aRegistrationAtTheRemovalsTimeReinstallsAndClearsTheTombstone() throws {
        try withStore { store throws in
            let token = F.apnsToken(9)
            try store.register(F.reg("phone", "app", token, user: "kim", at: F.t0))
            try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 200)
            #expect(try store.register(F.reg("phone", "app", token, user: "kim", at: F.t0 + 200)) == .applied)
            #expect(try store.token(deviceID: "phone", appID: "app")?.token == token)
            #expect(try tombstones(store).isEmpty)
            #expect(try store.statistics().tombstones == 0)
            // With the tombstone gone, the key's ordering is the live record's again.
            #expect(try store.changeUser(deviceID: "phone", appID: "app", userID: "charlie", at: F.t0 + 199) == .stale)
            #expect(try store.verify() == [])
        }
    }

    @Test func aRegistrationAfterTheRemovalAppliesAsANewKey() throws {
        try withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(10), user: "kim", at: F.t0))
            try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 200)
            #expect(try store.register(F.reg("phone", "app", F.apnsToken(11), user: "kim", at: F.t0 + 500)) == .applied)
            let record = try #require(try store.token(deviceID: "phone", appID: "app"))
            #expect(record.token == F.apnsToken(11))
            #expect(record.createdAt == F.t0 + 500)
            #expect(try tombstones(store).isEmpty)
        }
    }

    @Test func anUninstallsTombstoneDoesNotKeepItsTokenOffOtherKeys() throws {
        try withStore { store throws in
            let token = F.apnsToken(12)
            try store.register(F.reg("phone", "app", token, user: "kim", at: F.t0))
            try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 200)
            #expect(try store.register(F.reg("tablet", "app", token, user: "kim", at: F.t0 + 100)) == .applied)
            #expect(try store.token(deviceID: "tablet", appID: "app")?.token == token)
        }
    }

    // MARK: A bounced token stays dead on any key

    @Test func aRegistrationOfABouncedTokenOlderThanTheBounceIsStaleOnAnotherKey() throws {
        try withStore(shards: 16) { store throws in
            let token = F.apnsToken(13)
            try store.register(F.reg("phone", "app", token, user: "kim", at: F.t0))
            #expect(try store.bounce(token: token, errorCode: "Unregistered", at: F.t0 + 410).outcome == .removed)
            let before = try DomainSnapshot(store, apps: ["app"])
            for device in ["tablet", "watch", "laptop", "tv"] {
                #expect(try store.register(F.reg(device, "app", token, user: "kim", at: F.t0 + 409)) == .stale)
            }
            #expect(try DomainSnapshot(store, apps: ["app"]) == before)
            #expect(try store.count() == 0)
        }
    }

    @Test func aRegistrationOfTheTokenAtOrAfterTheBounceBringsItBackAndEndsItsDeath() throws {
        try withStore(shards: 16) { store throws in
            let token = F.apnsToken(14)
            try store.register(F.reg("phone", "app", token, user: "kim", at: F.t0))
            _ = try store.bounce(token: token, errorCode: "Unregistered", at: F.t0 + 410)
            #expect(try store.register(F.reg("tablet", "app", token, user: "kim", at: F.t0 + 410)) == .applied)
            #expect(try store.token(deviceID: "tablet", appID: "app")?.token == token)
            // The phone's tombstone stays for the phone's own ordering, without the dead mark.
            #expect(try tombstones(store) == [Tombstone(deviceID: "phone", appID: "app", tokenHash: hash(token), at: F.t0 + 410, bounced: false)])
            #expect(try store.register(F.reg("phone", "app", F.apnsToken(15), user: "kim", at: F.t0 + 409)) == .stale)
            #expect(try store.verify() == [])
        }
    }

    @Test func aDifferentTokenOnAnotherKeyIsNotRefusedByABounce() throws {
        try withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(16), user: "kim", at: F.t0))
            _ = try store.bounce(token: F.apnsToken(16), errorCode: "BadDeviceToken", at: F.t0 + 410)
            #expect(try store.register(F.reg("tablet", "app", F.apnsToken(17), user: "kim", at: F.t0 + 1)) == .applied)
        }
    }

    // MARK: Tombstones are bounded

    @Test func aSweepDropsTombstonesOlderThanTheRetentionAndLateWritesApplyAgain() throws {
        try withStore(retention: 10 * F.day) { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(18), user: "kim", at: F.t0))
            try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + F.day)
            // Ten days after the removal the tombstone still holds: retention drops only strictly older ones.
            #expect(try store.sweep(olderThan: 0, at: F.t0 + 11 * F.day) == 0)
            #expect(try tombstones(store).count == 1)
            #expect(try store.register(F.reg("phone", "app", F.apnsToken(18), user: "kim", at: F.t0 + 100)) == .stale)
            #expect(try store.sweep(olderThan: 0, at: F.t0 + 11 * F.day + 1) == 0)
            #expect(try tombstones(store).isEmpty)
            #expect(try store.statistics().tombstones == 0)
            #expect(try store.register(F.reg("phone", "app", F.apnsToken(18), user: "kim", at: F.t0 + 100)) == .applied)
            #expect(try store.verify() == [])
        }
    }

    @Test func aTombstoneExpiresOnceALaterRemovalInItsShardMovesTheClockPastTheRetention() throws {
        try withStore(shards: 1, retention: 10 * F.day) { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(19), user: "kim", at: F.t0))
            try store.register(F.reg("tablet", "app", F.apnsToken(20), user: "kim", at: F.t0))
            try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + F.day)
            try store.uninstall(deviceID: "tablet", appID: "app", at: F.t0 + 12 * F.day)
            // Expired tombstones act nowhere and are left out of backups, before any sweep drops them.
            #expect(try tombstones(store).map(\.deviceID) == ["tablet"])
            #expect(try store.register(F.reg("phone", "app", F.apnsToken(19), user: "kim", at: F.t0 + 100)) == .applied)
            #expect(try store.register(F.reg("tablet", "app", F.apnsToken(20), user: "kim", at: F.t0 + 100)) == .stale)
            #expect(try store.verify() == [])
        }
    }

    @Test func aSweepDropsABouncedTombstoneWithItsDeadMark() throws {
        try withStore(shards: 8, retention: F.day) { store throws in
            let token = F.apnsToken(21)
            try store.register(F.reg("phone", "app", token, user: "kim", at: F.t0))
            _ = try store.bounce(token: token, errorCode: "Unregistered", at: F.t0 + 10)
            _ = try store.sweep(olderThan: 0, at: F.t0 + 2 * F.day)
            #expect(try store.statistics().tombstones == 0)
            #expect(try store.verify() == [])
            #expect(try store.register(F.reg("tablet", "app", token, user: "kim", at: F.t0 + 5)) == .applied)
        }
    }

    @Test func theRetentionIsFixedWhenTheStoreIsCreated() throws {
        try F.withDirectory { path throws in
            var options = F.options(shards: 2)
            options.tombstoneRetention = 7 * F.day
            try TokenStore(path: path, options: options).close()
            var other = options
            other.tombstoneRetention = 90 * F.day
            let store = try TokenStore(path: path, options: other)
            defer { try? store.close() }
            #expect(store.options.tombstoneRetention == 7 * F.day)
        }
    }

    @Test func theDefaultRetentionIsThirtyDays() {
        #expect(StoreOptions().tombstoneRetention == 30 * F.day)
    }

    @Test func aRetentionThatIsNotWholeSecondsInRangeIsRefused() throws {
        for bad: Int64 in [0, -1000, 1500, (Int64(UInt32.max) + 1) * 1000] {
            var options = F.options(shards: 1)
            options.tombstoneRetention = bad
            F.expectCode(.invalidArgument) { _ = try TokenStore(path: F.makeDirectory(), options: options) }
        }
    }

    // MARK: They count nowhere

    @Test func tombstonesNeverCountAsTokensSegmentMembersExportsOrSendableTokens() throws {
        try withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(22), user: "kim", at: F.t0))
            try store.register(F.reg("pixel", "app", F.fcmToken(23), .android, user: "kim", at: F.t0))
            try store.register(F.reg("laptop", "site", F.webToken(24), .web, user: "kim", at: F.t0))
            try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 1)
            _ = try store.bounce(token: F.fcmToken(23), errorCode: "NotRegistered", at: F.t0 + 1)
            _ = try store.sweep(olderThan: F.t0 + 1, at: F.t0 + 2)
            #expect(try store.statistics().tombstones == 3)
            #expect(try store.count() == 0)
            #expect(try store.statistics().tokens == 0)
            #expect(F.nonZero(try store.statistics().byPlatform).isEmpty)
            #expect(try store.tokens(userID: "kim").isEmpty)
            #expect(try store.registeredFor(userID: "kim").isEmpty)
            for kind in [PushKind.visible, .silent] {
                #expect(try store.sendableTokens(userID: "kim", appID: "app", kind: kind).isEmpty)
            }
            for segment in F.segments(apps: ["app", "site"]) where segment != .subscription(.subscribed) {
                #expect(try store.count(segment) == 0, "\(segment)")
                #expect(try store.users(in: segment).isEmpty, "\(segment)")
            }
            var records = 0
            try store.forEachRecord { _ in records += 1; return true }
            try store.forEachBackupRecord { _ in records += 1; return true }
            #expect(records == 0)
            let export = try F.parseExport(try #require(try store.exportJSON(userID: "kim")))
            #expect((export["push_tokens"] as? [Any])?.isEmpty == true)
        }
    }

    // MARK: They survive what a record survives

    @Test func tombstonesSurviveCloseAndReopen() throws {
        try F.withDirectory { path throws in
            let options = F.options(shards: 4)
            var store = try TokenStore(path: path, options: options)
            try store.register(F.reg("phone", "app", F.apnsToken(25), user: "kim", at: F.t0))
            _ = try store.bounce(token: F.apnsToken(25), errorCode: "Unregistered", at: F.t0 + 10)
            let stones = try tombstones(store)
            store = try F.reopen(store, options: options)
            defer { try? store.close() }
            #expect(try tombstones(store) == stones)
            #expect(try store.register(F.reg("tablet", "app", F.apnsToken(25), user: "kim", at: F.t0 + 5)) == .stale)
            #expect(try store.verify() == [])
        }
    }

    @Test func tombstonesRestoredFromABackupRefuseTheSameLateWrites() throws {
        try withStore { source throws in
            try source.register(F.reg("phone", "app", F.apnsToken(26), user: "kim", at: F.t0))
            try source.register(F.reg("pixel", "app", F.fcmToken(27), .android, user: "kim", at: F.t0))
            try source.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 10)
            _ = try source.bounce(token: F.fcmToken(27), errorCode: "NotRegistered", at: F.t0 + 10)
            let stones = try tombstones(source)
            try withStore { copy throws in
                for t in stones { #expect(try copy.restore(t) == .applied) }
                #expect(try tombstones(copy) == stones)
                #expect(try copy.register(F.reg("phone", "app", F.apnsToken(26), user: "kim", at: F.t0 + 9)) == .stale)
                #expect(try copy.register(F.reg("tv", "app", F.fcmToken(27), .android, user: "kim", at: F.t0 + 9)) == .stale)
                // Restoring an older tombstone over a newer one is stale.
                var older = stones[0]
                older.at -= 1
                #expect(try copy.restore(older) == .stale)
                #expect(try copy.verify() == [])
            }
        }
    }
}
