import Foundation
import Testing
@testable import TokenStore

private typealias F = DomainFixture

/// DOMAIN.md "Uniqueness": a token string lives on at most one (device, app) key.
@Suite struct UniquenessTests {
    @Test(arguments: [4, 64])
    func registeringATokenHeldByAnotherKeyMovesItAndNeverDuplicatesIt(shards: Int) throws {
        try F.withStore(shards: shards) { store throws in
            let token = F.apnsToken(1)
            try store.register(F.reg("phone-1", "app", token, user: "ann", at: F.t0))
            // Device transfer: the same token now reported from another device and by another user.
            #expect(try store.register(F.reg("phone-2", "app", token, user: "bob", at: F.t0 + 1)) == .applied)

            #expect(try store.token(deviceID: "phone-1", appID: "app") == nil, "the old key still holds the token")
            let moved = try #require(try store.token(deviceID: "phone-2", appID: "app"))
            #expect(moved.token == token)
            #expect(moved.userID == "bob")
            #expect(try store.count() == 1)
            #expect(try store.tokens(userID: "ann").isEmpty)
            #expect(try store.tokens(userID: "bob").map(\.token) == [token])
            #expect(try store.statistics().tokens == 1)
        }
    }

    @Test(arguments: [1, 4, 64])
    func aTokenMovedBetweenManyKeysEndsOnExactlyOneOfThem(shards: Int) throws {
        try F.withStore(shards: shards) { store throws in
            let token = F.fcmToken(7)
            // Sixteen keys spread over every shard, same-shard and cross-shard hops alike.
            for i in 0..<16 {
                try store.register(F.reg("device-\(i)", "app-\(i % 3)", token, .android, user: "user-\(i % 5)",
                                         at: F.t0 + Int64(i)))
            }
            var holders: [TokenRecord] = []
            try store.forEachRecord { view in
                holders.append(view.record)
                return true
            }
            #expect(holders.count == 1)
            #expect(holders.first?.deviceID == "device-15")
            #expect(holders.first?.appID == "app-0")
            #expect(holders.first?.userID == "user-0")
            for u in 1..<5 { #expect(try store.tokens(userID: "user-\(u)").isEmpty) }
            #expect(try store.verify().isEmpty)
        }
    }

    @Test func aMovedTokenCanBeBouncedAtItsNewKeyOnly() throws {
        try F.withStore(shards: 4) { store throws in
            let token = F.apnsToken(2)
            try store.register(F.reg("old-phone", "app", token, user: "ann", at: F.t0))
            try store.register(F.reg("new-phone", "app", token, user: "ann", at: F.t0 + 1))
            let result = try store.bounce(token: token, errorCode: "BadDeviceToken", at: F.t0 + 2)
            #expect(result.outcome == .removed)
            #expect(try store.token(deviceID: "new-phone", appID: "app") == nil)
            #expect(try store.token(deviceID: "old-phone", appID: "app") == nil)
            #expect(try store.count() == 0)
        }
    }

    @Test func replacingAKeysTokenFreesTheOldTokenString() throws {
        try F.withStore { store throws in
            let old = F.apnsToken(3), new = F.apnsToken(4)
            try store.register(F.reg("phone", "app", old, user: "ann", at: F.t0))
            try store.register(F.reg("phone", "app", new, user: "ann", at: F.t0 + 1))
            #expect(try store.token(deviceID: "phone", appID: "app")?.token == new)
            #expect(try store.count() == 1)
            F.expectCode(.notFound, "bouncing the purged token") {
                _ = try store.bounce(token: old, errorCode: "Unregistered", at: F.t0 + 2)
            }
            // The freed string may be registered again elsewhere without touching the first key.
            try store.register(F.reg("tablet", "app", old, user: "bob", at: F.t0 + 3))
            #expect(try store.token(deviceID: "phone", appID: "app")?.token == new)
            #expect(try store.token(deviceID: "tablet", appID: "app")?.token == old)
            #expect(try store.count() == 2)
        }
    }

    @Test func tokensAreComparedAsBytes() throws {
        try F.withStore { store throws in
            // Canonically equivalent but byte-different strings are different tokens.
            let composed = "tok-\u{00E9}"        // é as one scalar
            let decomposed = "tok-e\u{0301}"    // e + combining acute
            try store.register(F.reg("d1", "app", composed, user: "ann", at: F.t0))
            try store.register(F.reg("d2", "app", decomposed, user: "bob", at: F.t0 + 1))
            #expect(try store.count() == 2, "canonically equal strings were treated as one token")
            #expect(try store.token(deviceID: "d1", appID: "app")?.userID == "ann")
            #expect(try store.token(deviceID: "d2", appID: "app")?.userID == "bob")
            // Case differs: different tokens too.
            try store.register(F.reg("d3", "app", "ABCDEF", user: "cy", at: F.t0 + 2))
            try store.register(F.reg("d4", "app", "abcdef", user: "cy", at: F.t0 + 3))
            #expect(try store.count() == 4)
        }
    }

    @Test func theSameTokenForTwoAppsOnOneDeviceStillLivesOnOneKey() throws {
        try F.withStore(shards: 4) { store throws in
            let token = F.webToken(1)
            try store.register(F.reg("browser", "site-a", token, .web, user: "ann", at: F.t0))
            try store.register(F.reg("browser", "site-b", token, .web, user: "ann", at: F.t0 + 1))
            #expect(try store.token(deviceID: "browser", appID: "site-a") == nil)
            #expect(try store.token(deviceID: "browser", appID: "site-b")?.token == token)
            #expect(try store.tokens(userID: "ann").count == 1)
        }
    }

    @Test func uniquenessSurvivesReopen() throws {
        try F.withDirectory { path throws in
            let options = F.options(shards: 4)
            var store = try TokenStore(path: path, options: options)
            let token = F.apnsToken(5)
            try store.register(F.reg("p1", "app", token, user: "ann", at: F.t0))
            try store.register(F.reg("p2", "app", token, user: "bob", at: F.t0 + 1))
            store = try F.reopen(store, options: options)
            defer { try? store.close() }
            #expect(try store.token(deviceID: "p1", appID: "app") == nil)
            #expect(try store.token(deviceID: "p2", appID: "app")?.userID == "bob")
            // The token index must point at p2 after reopen: a bounce removes p2's record.
            #expect(try store.bounce(token: token, errorCode: "Unregistered", at: F.t0 + 2).outcome == .removed)
            #expect(try store.count() == 0)
            #expect(try store.verify().isEmpty)
        }
    }
}
