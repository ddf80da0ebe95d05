import Foundation
import Testing
@testable import TokenStore

private typealias F = DomainFixture

/// The changelog rule: every kind recorded, persisted, bounded per user, oldest dropped.
@Suite struct ChangelogTests {
    @Test func everyKindOfChangeIsRecorded() throws {
        try F.withStore(quarantine: false) { store throws in
            let t1 = F.apnsToken(1), t2 = F.apnsToken(2), t3 = F.apnsToken(3), t4 = F.apnsToken(4)
            try store.register(F.reg("phone", "app", t1, user: "ann", at: F.t0 + 1))                // registered
            try store.register(F.reg("phone", "app", t2, user: "ann", at: F.t0 + 2))                // tokenReplaced
            try store.setAuthorization(deviceID: "phone", appID: "app", authorization: .background,
                                       at: F.t0 + 3)                                               // authorizationChanged
            try store.changeUser(deviceID: "phone", appID: "app", userID: "bob", at: F.t0 + 4)     // movedOut
            try store.changeUser(deviceID: "phone", appID: "app", userID: "ann", at: F.t0 + 5)     // movedIn
            _ = try store.bounce(token: t2, errorCode: "BadDeviceToken", at: F.t0 + 6)             // bounced
            try store.register(F.reg("phone", "app", t3, user: "ann", at: F.t0 + 7))                // registered
            try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 8)                     // uninstalled
            try store.register(F.reg("tablet", "app", t4, user: "ann", at: F.t0 + 9))               // registered
            #expect(try store.sweep(olderThan: F.t0 + 10, at: F.t0 + 11) == 1)                     // expired
            try store.setSubscription(userID: "ann", subscription: .unsubscribed, at: F.t0 + 12)   // subscriptionChanged

            let log = try store.changelog(userID: "ann")
            #expect(log.map(\.kind) == [.registered, .tokenReplaced, .authorizationChanged, .movedOut, .movedIn,
                                        .bounced, .registered, .uninstalled, .registered, .expired,
                                        .subscriptionChanged])
            #expect(log.map(\.at) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12].map { F.t0 + $0 })
            guard log.count == 11 else { return }
            #expect(log[0] == ChangeEntry(at: F.t0 + 1, kind: .registered, deviceID: "phone", appID: "app", token: t1))
            #expect(log[1].deviceID == "phone" && log[1].appID == "app")
            #expect([t1, t2].contains(log[1].token), "tokenReplaced names neither token")
            #expect(log[2] == ChangeEntry(at: F.t0 + 3, kind: .authorizationChanged, deviceID: "phone", appID: "app",
                                          token: t2, detail: "background"))
            #expect(log[3] == ChangeEntry(at: F.t0 + 4, kind: .movedOut, deviceID: "phone", appID: "app", token: t2,
                                          otherUserID: "bob"))
            #expect(log[4] == ChangeEntry(at: F.t0 + 5, kind: .movedIn, deviceID: "phone", appID: "app", token: t2,
                                          otherUserID: "bob"))
            #expect(log[5] == ChangeEntry(at: F.t0 + 6, kind: .bounced, deviceID: "phone", appID: "app", token: t2,
                                          detail: "BadDeviceToken"))
            #expect(log[7] == ChangeEntry(at: F.t0 + 8, kind: .uninstalled, deviceID: "phone", appID: "app", token: t3))
            // The sweep's entry carries the sweep's time, not the token's.
            #expect(log[9] == ChangeEntry(at: F.t0 + 11, kind: .expired, deviceID: "tablet", appID: "app", token: t4))
            #expect(log[10].kind == .subscriptionChanged)
            #expect(log[10].detail == "unsubscribed")
            #expect(log[10].otherUserID == nil)
        }
    }

    @Test func quarantineIsRecordedAsABounceWithItsCode() throws {
        try F.withStore(quarantine: true) { store throws in
            let token = F.fcmToken(1)
            try store.register(F.reg("phone", "app", token, .android, user: "ann", at: F.t0))
            _ = try store.bounce(token: token, errorCode: "SENDER_ID_MISMATCH", at: F.t0 + 1)
            #expect(try store.changelog(userID: "ann").last
                    == ChangeEntry(at: F.t0 + 1, kind: .bounced, deviceID: "phone", appID: "app", token: token,
                                   detail: "SENDER_ID_MISMATCH"))
        }
    }

    @Test func subscriptionChangesRecordTheNewValue() throws {
        try F.withStore { store throws in
            try store.setSubscription(userID: "ann", subscription: .optedIn, at: F.t0)
            try store.setSubscription(userID: "ann", subscription: .unsubscribed, at: F.t0 + 1)
            try store.setSubscription(userID: "ann", subscription: .subscribed, at: F.t0 + 2)
            let log = try store.changelog(userID: "ann")
            #expect(log.map(\.kind) == [.subscriptionChanged, .subscriptionChanged, .subscriptionChanged])
            #expect(log.map(\.detail) == ["opted_in", "unsubscribed", "subscribed"])
            #expect(log.map(\.at) == [F.t0, F.t0 + 1, F.t0 + 2])
        }
    }

    @Test(arguments: [1, 5, 17])
    func theChangelogIsBoundedPerUserAndDropsTheOldestFirst(limit: Int) throws {
        try F.withStore(shards: 4, changelogLimit: limit) { store throws in
            var expected: [ChangeEntry] = []
            for i in 0..<(limit + 7) {
                let token = F.apnsToken(i)
                try store.register(F.reg("device-\(i)", "app", token, user: "ann", at: F.t0 + Int64(i)))
                expected.append(ChangeEntry(at: F.t0 + Int64(i), kind: .registered, deviceID: "device-\(i)",
                                            appID: "app", token: token))
                // Another user's entries never evict Ann's.
                try store.register(F.reg("other-\(i)", "app", F.fcmToken(i), .android, user: "bob", at: F.t0 + Int64(i)))
            }
            #expect(try store.changelog(userID: "ann") == Array(expected.suffix(limit)))
            #expect(try store.changelog(userID: "bob").count == limit)
        }
    }

    @Test func theDefaultBoundIs64Entries() throws {
        #expect(StoreOptions().changelogLimit == 64)
        try F.withDirectory { path throws in
            let store = try TokenStore(path: path, options: StoreOptions())
            defer { try? store.close() }
            for i in 0..<70 {
                try store.register(F.reg("device-\(i)", "app", F.apnsToken(i), user: "ann", at: F.t0 + Int64(i)))
            }
            let log = try store.changelog(userID: "ann")
            #expect(log.count == 64)
            #expect(log.first?.deviceID == "device-6")
            #expect(log.last?.deviceID == "device-69")
        }
    }

    @Test func theChangelogIsPersistedAcrossReopen() throws {
        try F.withDirectory { path throws in
            let options = F.options(shards: 4, changelogLimit: 8)
            var store = try TokenStore(path: path, options: options)
            for i in 0..<20 {
                try store.register(F.reg("device-\(i)", "app", F.apnsToken(i), user: i % 2 == 0 ? "ann" : "bob",
                                         at: F.t0 + Int64(i)))
            }
            try store.changeUser(deviceID: "device-0", appID: "app", userID: "bob", at: F.t0 + 50)
            let ann = try store.changelog(userID: "ann"), bob = try store.changelog(userID: "bob")
            #expect(ann.count == 8)
            store = try F.reopen(store, options: options)
            #expect(try store.changelog(userID: "ann") == ann)
            #expect(try store.changelog(userID: "bob") == bob)
            // Trimming continues correctly after reopen.
            try store.setSubscription(userID: "ann", subscription: .unsubscribed, at: F.t0 + 100)
            let after = try store.changelog(userID: "ann")
            #expect(after.count == 8)
            #expect(Array(after.prefix(7)) == Array(ann.suffix(7)))
            store = try F.reopen(store, options: options)
            defer { try? store.close() }
            #expect(try store.changelog(userID: "ann") == after)
        }
    }

    @Test func streamingTheChangelogMatchesTheCopyAndStopsEarly() throws {
        try F.withStore { store throws in
            for i in 0..<6 { try store.register(F.reg("d\(i)", "app", F.apnsToken(i), user: "ann", at: F.t0 + Int64(i))) }
            var streamed: [ChangeEntry] = []
            try store.forEachChange(userID: "ann") { view in
                streamed.append(view.entry)
                return true
            }
            #expect(streamed == (try store.changelog(userID: "ann")))
            var seen = 0
            try store.forEachChange(userID: "ann") { _ in
                seen += 1
                return seen < 2
            }
            #expect(seen == 2)
        }
    }

    @Test func anUnknownUserHasAnEmptyChangelog() throws {
        try F.withStore { store throws in
            #expect(try store.changelog(userID: "nobody").isEmpty)
            var called = false
            try store.forEachChange(userID: "nobody") { _ in
                called = true
                return true
            }
            #expect(!called)
        }
    }

    @Test func anIdempotentRegistrationRecordsNothingNew() throws {
        try F.withStore { store throws in
            let token = F.apnsToken(1)
            try store.register(F.reg("phone", "app", token, user: "ann", at: F.t0))
            #expect(try store.register(F.reg("phone", "app", token, user: "ann", at: F.t0 + F.day)) == .applied)
            #expect(try store.register(F.reg("phone", "app", token, user: nil, at: F.t0 + 2 * F.day)) == .applied)
            #expect(try store.changelog(userID: "ann").map(\.kind) == [.registered])
            let record = try #require(try store.token(deviceID: "phone", appID: "app"))
            // The same call twice changes only updated_at.
            #expect(record.createdAt == F.t0)
            #expect(record.updatedAt == F.t0 + 2 * F.day)
            #expect(record.userID == "ann")
            #expect(try store.count() == 1)
        }
    }

    /// An entry's link to the next one lies outside its checksum (appending must not rehash
    /// the predecessor), so it carries a check of its own: a damaged link is corruption,
    /// never a walk into another user's entries.
    @Test func aDamagedChangelogLinkIsReportedNotFollowed() throws {
        try F.withStore(shards: 1) { store throws in
            for i in 0..<3 { try store.register(F.reg("phone-\(i)", "app", F.apnsToken(i), user: "ann", at: F.t0 + Int64(i))) }
            try store.register(F.reg("other", "app", F.apnsToken(9), user: "bob", at: F.t0 + 9))
            #expect(try store.changelog(userID: "ann").count == 3)
            let registry = store.registry
            var bobID = "bob", annID = "ann"
            let bob = try #require(try bobID.withUTF8 { try registry.user(UnsafeRawBufferPointer($0), create: false) })
            try annID.withUTF8 { ann in
                let (_, record) = try #require(try registry.user(UnsafeRawBufferPointer(ann), create: false))
                let oldest = ChangeRecord(file: registry.store.pages(ofShard: 0).changes.file, offset: record.oldestChange)
                // Point the oldest entry at bob's entry, keeping its old check.
                oldest.set(UInt32(bob.record.oldestChange >> 4), 12)
            }
            #expect(throws: TokenStoreError.self) { try store.changelog(userID: "ann") }
            #expect(try store.verify().contains { $0.contains("changelog") })
        }
    }

    /// Found by the corruption campaign: dropping the oldest entry through a damaged link
    /// stored a negative offset and trapped. It is corruption, refused before anything changes.
    @Test func droppingTheOldestEntryThroughADamagedLinkIsCorruptionNotATrap() throws {
        try F.withStore(shards: 1, changelogLimit: 2) { store throws in
            for i in 0..<2 { try store.register(F.reg("phone-\(i)", "app", F.apnsToken(i), user: "ann", at: F.t0 + Int64(i))) }
            let registry = store.registry
            var annID = "ann"
            try annID.withUTF8 { ann in
                let (_, record) = try #require(try registry.user(UnsafeRawBufferPointer(ann), create: false))
                let oldest = ChangeRecord(file: registry.store.pages(ofShard: 0).changes.file, offset: record.oldestChange)
                oldest.set(UInt16(truncatingIfNeeded: oldest.u16(6) ^ 0x5A5A), 6)  // the link's check no longer holds
            }
            let error = #expect(throws: TokenStoreError.self) {
                try store.register(F.reg("phone-2", "app", F.apnsToken(2), user: "ann", at: F.t0 + 2))
            }
            #expect(error?.code == .corrupt && error?.detail.contains("shard-0000.changes") == true, "\(String(describing: error))")
        }
    }
}
