import Foundation
import Testing
@testable import TokenStore

private typealias F = DomainFixture

/// DOMAIN.md "expiry sweep".
@Suite struct SweepTests {
    @Test func aSweepRemovesTokensStrictlyOlderThanTheBound() throws {
        try F.withStore { store throws in
            try store.register(F.reg("older", "app", F.apnsToken(1), user: "ann", at: F.t0 - 1))
            try store.register(F.reg("equal", "app", F.apnsToken(2), user: "ann", at: F.t0))
            try store.register(F.reg("newer", "app", F.apnsToken(3), user: "ann", at: F.t0 + 1))
            #expect(try store.sweep(olderThan: F.t0, at: F.t0 + F.day) == 1)
            #expect(try store.token(deviceID: "older", appID: "app") == nil)
            #expect(try store.token(deviceID: "equal", appID: "app") != nil, "a token exactly at the bound was swept")
            #expect(try store.token(deviceID: "newer", appID: "app") != nil)
            #expect(try store.count() == 2)
        }
    }

    @Test func theExpiredEntryCarriesTheSweepsTime() throws {
        try F.withStore { store throws in
            let token = F.apnsToken(4)
            try store.register(F.reg("phone", "app", token, user: "ann", at: F.t0))
            _ = try store.sweep(olderThan: F.t0 + F.day, at: F.t0 + 2 * F.day)
            #expect(try store.changelog(userID: "ann").last
                    == ChangeEntry(at: F.t0 + 2 * F.day, kind: .expired, deviceID: "phone", appID: "app", token: token))
        }
    }

    @Test func aWebSweepAfterSixtyDaysLeavesOtherPlatformsAlone() throws {
        try F.withStore(shards: 4) { store throws in
            let now = F.t0 + 400 * F.day
            try store.register(F.reg("laptop-old", "site", F.webToken(1), .web, .foreground, user: "ann", at: now - 61 * F.day))
            try store.register(F.reg("laptop-new", "site", F.webToken(2), .web, .foreground, user: "ann", at: now - 59 * F.day))
            try store.register(F.reg("iphone", "app", F.apnsToken(3), .ios, .foreground, user: "ann", at: now - 300 * F.day))
            try store.register(F.reg("pixel", "app", F.fcmToken(4), .android, .foreground, user: "ann", at: now - 300 * F.day))
            #expect(try store.sweep(olderThan: now - 60 * F.day, platform: .web, at: now) == 1)
            #expect(try store.token(deviceID: "laptop-old", appID: "site") == nil)
            #expect(try store.token(deviceID: "laptop-new", appID: "site") != nil)
            #expect(try store.token(deviceID: "iphone", appID: "app") != nil)
            #expect(try store.token(deviceID: "pixel", appID: "app") != nil)
            // FCM expires tokens after 270 days.
            #expect(try store.sweep(olderThan: now - 270 * F.day, platform: .android, at: now) == 1)
            #expect(try store.token(deviceID: "pixel", appID: "app") == nil)
            #expect(try store.token(deviceID: "iphone", appID: "app") != nil)
            #expect(try store.statistics().byPlatform[.ios] == 1)
            #expect(try store.statistics().byPlatform[.web] == 1)
        }
    }

    @Test func registeringEverySessionKeepsATokenFromExpiring() throws {
        try F.withStore { store throws in
            let token = F.fcmToken(5)
            try store.register(F.reg("pixel", "app", token, .android, user: "ann", at: F.t0))
            for session in 1...10 {
                try store.register(F.reg("pixel", "app", token, .android, user: "ann", at: F.t0 + Int64(session) * 20 * F.day))
            }
            #expect(try store.sweep(olderThan: F.t0 + 200 * F.day - 30 * F.day, at: F.t0 + 200 * F.day) == 0)
            #expect(try store.token(deviceID: "pixel", appID: "app")?.updatedAt == F.t0 + 200 * F.day)
        }
    }

    @Test func aSweepUpdatesSegmentsIndexesAndTheTokenIndex() throws {
        try F.withStore(shards: 4) { store throws in
            for i in 0..<30 {
                try store.register(F.reg("d\(i)", "app", F.apnsToken(i), .ios, i % 2 == 0 ? .foreground : .background,
                                         user: "u\(i % 6)", at: F.t0 + Int64(i)))
            }
            #expect(try store.sweep(olderThan: F.t0 + 15, at: F.t0 + 100) == 15)
            #expect(try store.count() == 15)
            for i in 0..<15 {
                F.expectCode(.notFound, "swept token \(i)") {
                    _ = try store.bounce(token: F.apnsToken(i), errorCode: "Unregistered", at: F.t0 + 101)
                }
            }
            for u in 0..<6 {
                let owned = try store.tokens(userID: "u\(u)")
                #expect(owned.allSatisfy { $0.updatedAt >= F.t0 + 15 })
                #expect(owned.count == (15..<30).filter { $0 % 6 == u }.count)
            }
            // Users keep existing after their tokens expire.
            #expect(try store.statistics().users == 6)
            _ = try F.members(store, .foregroundPushEnabled)
            _ = try F.members(store, .backgroundOrForegroundPushEnabled)
            #expect(try store.verify().isEmpty)
        }
    }

    @Test func aSweepRemovesQuarantinedAndAnonymousTokensToo() throws {
        try F.withStore(quarantine: true) { store throws in
            try store.register(F.reg("q", "app", F.apnsToken(6), user: "ann", at: F.t0))
            _ = try store.bounce(token: F.apnsToken(6), errorCode: "MismatchSenderId", at: F.t0 + 1)
            try store.register(F.reg("anon", "app", F.apnsToken(7), user: nil, at: F.t0))
            #expect(try store.sweep(olderThan: F.t0 + 1, at: F.t0 + 2) == 2)
            #expect(try store.count() == 0)
            #expect(try store.statistics().quarantined == 0)
        }
    }

    @Test func anEmptySweepRemovesNothingAndRecordsNothing() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(8), user: "ann", at: F.t0))
            #expect(try store.sweep(olderThan: F.t0, at: F.t0 + 1) == 0)
            #expect(try store.sweep(olderThan: F.t0 + 10, platform: .web, at: F.t0 + 1) == 0)
            #expect(try store.changelog(userID: "ann").map(\.kind) == [.registered])
        }
    }

    @Test func sweptTokensStayGoneAfterReopen() throws {
        try F.withDirectory { path throws in
            let options = F.options(shards: 4)
            var store = try TokenStore(path: path, options: options)
            try store.register(F.reg("old", "app", F.apnsToken(9), user: "ann", at: F.t0))
            try store.register(F.reg("new", "app", F.apnsToken(10), user: "ann", at: F.t0 + F.day))
            #expect(try store.sweep(olderThan: F.t0 + 1, at: F.t0 + 2 * F.day) == 1)
            store = try F.reopen(store, options: options)
            defer { try? store.close() }
            #expect(try store.tokens(userID: "ann").map(\.deviceID) == ["new"])
            #expect(try store.changelog(userID: "ann").last?.kind == .expired)
        }
    }
}
