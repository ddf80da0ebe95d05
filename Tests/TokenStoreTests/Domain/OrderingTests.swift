import Foundation
import Testing
@testable import TokenStore

private typealias F = DomainFixture

/// DOMAIN.md "Ordering": every write carries its event time; older writes are stale.
@Suite struct OrderingTests {
    private func seeded(_ store: TokenStore) throws {
        try store.register(F.reg("phone", "app", F.apnsToken(1), .ios, .foreground, user: "kim", at: F.t0 + 100))
    }

    @Test func anOlderRegistrationIsStaleAndChangesNothing() throws {
        try F.withStore { store throws in
            try seeded(store)
            let before = try DomainSnapshot(store, apps: ["app"])
            #expect(try store.register(F.reg("phone", "app", F.apnsToken(2), .ios, .background, user: "charlie",
                                             at: F.t0 + 99)) == .stale)
            #expect(try DomainSnapshot(store, apps: ["app"]) == before)
            #expect(try store.user(userID: "charlie") == nil, "a stale write created a user")
        }
    }

    @Test func anOlderChangeUserIsStaleAndChangesNothing() throws {
        try F.withStore { store throws in
            try seeded(store)
            let before = try DomainSnapshot(store, apps: ["app"])
            #expect(try store.changeUser(deviceID: "phone", appID: "app", userID: "charlie", at: F.t0 + 50) == .stale)
            #expect(try DomainSnapshot(store, apps: ["app"]) == before)
        }
    }

    @Test func anOlderSetAuthorizationIsStaleAndChangesNothing() throws {
        try F.withStore { store throws in
            try seeded(store)
            let before = try DomainSnapshot(store, apps: ["app"])
            #expect(try store.setAuthorization(deviceID: "phone", appID: "app", authorization: .background,
                                               at: F.t0 + 1) == .stale)
            #expect(try DomainSnapshot(store, apps: ["app"]) == before)
        }
    }

    @Test func anOlderUninstallIsStaleAndChangesNothing() throws {
        try F.withStore { store throws in
            try seeded(store)
            let before = try DomainSnapshot(store, apps: ["app"])
            #expect(try store.uninstall(deviceID: "phone", appID: "app", at: F.t0) == .stale)
            #expect(try DomainSnapshot(store, apps: ["app"]) == before)
        }
    }

    @Test func anOlderSetSubscriptionIsStaleAndChangesNothing() throws {
        try F.withStore { store throws in
            try store.setSubscription(userID: "kim", subscription: .optedIn, at: F.t0 + 100)
            let before = try DomainSnapshot(store, apps: ["app"])
            #expect(try store.setSubscription(userID: "kim", subscription: .unsubscribed, at: F.t0 + 99) == .stale)
            #expect(try DomainSnapshot(store, apps: ["app"]) == before)
            #expect(try store.user(userID: "kim")?.subscription == .optedIn)
        }
    }

    @Test func aLateLogoutCannotUndoANewerLogin() throws {
        try F.withStore(shards: 4) { store throws in
            let token = F.apnsToken(3)
            try store.register(F.reg("phone", "app", token, user: "charlie", at: F.t0))
            // Kim logs in at t0+20; the logout that happened at t0+10 arrives afterwards.
            #expect(try store.changeUser(deviceID: "phone", appID: "app", userID: "kim", at: F.t0 + 20) == .applied)
            #expect(try store.changeUser(deviceID: "phone", appID: "app", userID: nil, at: F.t0 + 10) == .stale)
            #expect(try store.token(deviceID: "phone", appID: "app")?.userID == "kim")
            #expect(try store.tokens(userID: "kim").map(\.token) == [token])
            #expect(try store.changelog(userID: "kim").map(\.kind) == [.movedIn])
            #expect(try store.changelog(userID: "charlie").map(\.kind) == [.registered, .movedOut])
            #expect(try F.members(store, .foregroundPushEnabled) == ["kim"])
        }
    }

    @Test func aLateLoginOfTheOldUserCannotUndoANewerLoginEither() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(4), user: "charlie", at: F.t0))
            try store.register(F.reg("phone", "app", F.apnsToken(4), user: "kim", at: F.t0 + 20))
            #expect(try store.register(F.reg("phone", "app", F.apnsToken(4), user: "charlie", at: F.t0 + 15)) == .stale)
            #expect(try store.token(deviceID: "phone", appID: "app")?.userID == "kim")
            #expect(try store.token(deviceID: "phone", appID: "app")?.updatedAt == F.t0 + 20)
        }
    }

    @Test func aTimeTieIsBrokenByArrival() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(5), user: "charlie", at: F.t0))
            #expect(try store.changeUser(deviceID: "phone", appID: "app", userID: "kim", at: F.t0) == .applied)
            #expect(try store.token(deviceID: "phone", appID: "app")?.userID == "kim")
            #expect(try store.setAuthorization(deviceID: "phone", appID: "app", authorization: .background, at: F.t0) == .applied)
            #expect(try store.token(deviceID: "phone", appID: "app")?.authorization == .background)
            #expect(try store.setSubscription(userID: "kim", subscription: .unsubscribed, at: F.t0) == .applied)
            #expect(try store.setSubscription(userID: "kim", subscription: .optedIn, at: F.t0) == .applied)
            #expect(try store.user(userID: "kim")?.subscription == .optedIn)
            #expect(try store.uninstall(deviceID: "phone", appID: "app", at: F.t0) == .applied)
            #expect(try store.token(deviceID: "phone", appID: "app") == nil)
        }
    }

    @Test func aStaleRegistrationDoesNotStealItsTokenFromAnotherKey() throws {
        try F.withStore(shards: 4) { store throws in
            let shared = F.apnsToken(6)
            try store.register(F.reg("phone", "app", F.apnsToken(7), user: "kim", at: F.t0 + 100))
            try store.register(F.reg("tablet", "app", shared, user: "ann", at: F.t0))
            let before = try DomainSnapshot(store, apps: ["app"])
            // Stale for `phone`, so the token must stay on `tablet`.
            #expect(try store.register(F.reg("phone", "app", shared, user: "kim", at: F.t0 + 50)) == .stale)
            #expect(try DomainSnapshot(store, apps: ["app"]) == before)
            #expect(try store.token(deviceID: "tablet", appID: "app")?.token == shared)
        }
    }

    @Test func eventTimesAreKeptPerKey() throws {
        try F.withStore(shards: 4) { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(8), user: "kim", at: F.t0 + 100))
            // An older time on another key is not stale: ordering is per key.
            #expect(try store.register(F.reg("tablet", "app", F.apnsToken(9), user: "kim", at: F.t0)) == .applied)
            #expect(try store.register(F.reg("phone", "other-app", F.apnsToken(10), user: "kim", at: F.t0)) == .applied)
            #expect(try store.count() == 3)
        }
    }

    @Test func eventTimesSurviveReopen() throws {
        try F.withDirectory { path throws in
            let options = F.options(shards: 4)
            var store = try TokenStore(path: path, options: options)
            try store.register(F.reg("phone", "app", F.apnsToken(11), user: "charlie", at: F.t0))
            try store.changeUser(deviceID: "phone", appID: "app", userID: "kim", at: F.t0 + 20)
            try store.setSubscription(userID: "kim", subscription: .optedIn, at: F.t0 + 30)
            store = try F.reopen(store, options: options)
            defer { try? store.close() }
            #expect(try store.changeUser(deviceID: "phone", appID: "app", userID: nil, at: F.t0 + 10) == .stale)
            #expect(try store.setSubscription(userID: "kim", subscription: .unsubscribed, at: F.t0 + 29) == .stale)
            #expect(try store.token(deviceID: "phone", appID: "app")?.userID == "kim")
            #expect(try store.user(userID: "kim")?.subscription == .optedIn)
        }
    }
}
