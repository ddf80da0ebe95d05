import Foundation
import Testing
@testable import TokenStore

private typealias F = DomainFixture

/// DOMAIN.md "uninstall", and the seed's reinstall-without-launch question.
@Suite struct UninstallTests {
    @Test func uninstallRemovesTheTokenAndRecordsIt() throws {
        try F.withStore { store throws in
            let token = F.apnsToken(1)
            try store.register(F.reg("phone", "app", token, user: "ann", at: F.t0))
            #expect(try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 1) == .applied)
            #expect(try store.token(deviceID: "phone", appID: "app") == nil)
            #expect(try store.tokens(userID: "ann").isEmpty)
            #expect(try store.count() == 0)
            #expect(try store.changelog(userID: "ann").last
                    == ChangeEntry(at: F.t0 + 1, kind: .uninstalled, deviceID: "phone", appID: "app", token: token))
            // The token is gone from the token index too.
            F.expectCode(.notFound) { _ = try store.bounce(token: token, errorCode: "Unregistered", at: F.t0 + 2) }
        }
    }

    @Test func aReinstallThatIsNeverLaunchedCannotBeSentTo() throws {
        try F.withStore(shards: 4) { store throws in
            try store.setSubscription(userID: "ann", subscription: .optedIn, at: F.t0)
            try store.register(F.reg("phone", "app", F.apnsToken(2), user: "ann", at: F.t0 + 1))
            try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 2)
            // The app is reinstalled but never launched: no session, so nothing reaches the store.
            #expect(try store.sendableTokens(userID: "ann", appID: "app", kind: .visible).isEmpty)
            #expect(try store.sendableTokens(userID: "ann", appID: "app", kind: .silent).isEmpty)
            #expect(try F.members(store, .foregroundPushEnabledForApp("app")).isEmpty)
            #expect(try F.members(store, .foregroundPushEnabled).isEmpty)
            #expect(try F.members(store, .backgroundOrForegroundPushEnabled).isEmpty)
            #expect(try store.registeredFor(userID: "ann").isEmpty)
            // The user, and their explicit opt-in, remain.
            #expect(try store.user(userID: "ann")?.subscription == .optedIn)
        }
    }

    @Test func foregroundPushComesBackOnlyWithANewRegistration() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(3), user: "ann", at: F.t0))
            try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 1)
            F.expectCode(.notFound, "setAuthorization cannot revive an uninstalled key") {
                try store.setAuthorization(deviceID: "phone", appID: "app", authorization: .foreground, at: F.t0 + 2)
            }
            F.expectCode(.notFound, "changeUser cannot revive an uninstalled key") {
                try store.changeUser(deviceID: "phone", appID: "app", userID: "ann", at: F.t0 + 2)
            }
            #expect(try store.count(.foregroundPushEnabled) == 0)
            // The first session after the reinstall registers a new token.
            let fresh = F.apnsToken(4)
            try store.register(F.reg("phone", "app", fresh, user: "ann", at: F.t0 + 3))
            #expect(try store.sendableTokens(userID: "ann", appID: "app", kind: .visible).map(\.token) == [fresh])
            #expect(try F.members(store, .foregroundPushEnabled) == ["ann"])
            let record = try #require(try store.token(deviceID: "phone", appID: "app"))
            #expect(record.createdAt == F.t0 + 3, "a reinstall's token is a new record")
            #expect(try store.changelog(userID: "ann").map(\.kind) == [.registered, .uninstalled, .registered])
        }
    }

    @Test func uninstallOfAKeyWithoutATokenThrowsNotFound() throws {
        try F.withStore { store throws in
            F.expectCode(.notFound) { try store.uninstall(deviceID: "phone", appID: "app", at: F.t0) }
            try store.register(F.reg("phone", "app", F.apnsToken(5), user: "ann", at: F.t0))
            try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 1)
            F.expectCode(.notFound, "second uninstall") { try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 2) }
            #expect(try store.changelog(userID: "ann").map(\.kind) == [.registered, .uninstalled])
        }
    }

    @Test func uninstallingOneAppLeavesTheDevicesOtherAppsAlone() throws {
        try F.withStore(shards: 4) { store throws in
            try store.register(F.reg("phone", "app-a", F.apnsToken(6), user: "ann", at: F.t0))
            try store.register(F.reg("phone", "app-b", F.apnsToken(7), user: "ann", at: F.t0))
            try store.uninstall(deviceID: "phone", appID: "app-a", at: F.t0 + 1)
            #expect(try store.tokens(userID: "ann").map(\.appID) == ["app-b"])
            #expect(try F.members(store, .foregroundPushEnabledForApp("app-a")).isEmpty)
            #expect(try F.members(store, .foregroundPushEnabledForApp("app-b")) == ["ann"])
            #expect(try F.members(store, .foregroundPushEnabled) == ["ann"])
        }
    }

    @Test func aStaleUninstallIsIgnored() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(8), user: "ann", at: F.t0 + 10))
            #expect(try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 5) == .stale)
            #expect(try store.token(deviceID: "phone", appID: "app") != nil)
            #expect(try store.changelog(userID: "ann").map(\.kind) == [.registered])
        }
    }

    @Test func anAnonymousUninstallLeavesNoUserBehind() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(9), user: nil, at: F.t0))
            try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 1)
            #expect(try store.count() == 0)
            #expect(try store.statistics().users == 0)
        }
    }
}
