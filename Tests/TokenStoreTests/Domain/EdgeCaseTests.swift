import Foundation
import Testing
@testable import TokenStore

private typealias F = DomainFixture

/// DOMAIN.md "Edge cases": decisions every layer answers alike.
@Suite struct EdgeCaseTests {
    @Test func aRegistrationWithoutAUserKeepsTheKeysCurrentOwner() throws {
        try F.withStore { store throws in
            let token = F.apnsToken(1)
            try store.register(F.reg("phone", "app", token, .ios, .foreground, user: "charlie", at: F.t0))
            #expect(try store.register(F.reg("phone", "app", token, .ios, .background, user: nil, at: F.t0 + 1)) == .applied)
            let record = try #require(try store.token(deviceID: "phone", appID: "app"))
            #expect(record.userID == "charlie")
            #expect(record.authorization == .background)
            #expect(try store.tokens(userID: "charlie").count == 1)
            #expect(!(try store.changelog(userID: "charlie").contains { $0.kind == .movedOut }))
        }
    }

    @Test func aRegistrationWithoutAUserKeepsTheOwnerEvenWhenTheTokenChanges() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(2), user: "charlie", at: F.t0))
            try store.register(F.reg("phone", "app", F.apnsToken(3), user: nil, at: F.t0 + 1))
            let record = try #require(try store.token(deviceID: "phone", appID: "app"))
            #expect(record.userID == "charlie")
            #expect(record.token == F.apnsToken(3))
            #expect(try store.changelog(userID: "charlie").map(\.kind) == [.registered, .tokenReplaced])
        }
    }

    @Test func anUnownedKeyStaysAnonymous() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(4), user: nil, at: F.t0))
            try store.register(F.reg("phone", "app", F.apnsToken(4), user: nil, at: F.t0 + 1))
            #expect(try store.token(deviceID: "phone", appID: "app")?.userID == nil)
            #expect(try store.statistics().users == 0)
            #expect(try store.statistics().tokens == 1)
        }
    }

    @Test func usersPersistOnceCreatedByARegistration() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(5), user: "ann", at: F.t0))
            try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 1)
            #expect(try store.user(userID: "ann") == UserState(subscription: .subscribed, optedInAt: nil, unsubscribedAt: nil))
            #expect(try store.changelog(userID: "ann").map(\.kind) == [.registered, .uninstalled])
            #expect(try store.statistics().users == 1)
            #expect(try F.members(store, .subscription(.subscribed)) == ["ann"])
        }
    }

    @Test func usersPersistOnceCreatedByChangeUser() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(6), user: nil, at: F.t0))
            try store.changeUser(deviceID: "phone", appID: "app", userID: "kim", at: F.t0 + 1)
            try store.changeUser(deviceID: "phone", appID: "app", userID: "lee", at: F.t0 + 2)
            #expect(try store.user(userID: "kim")?.subscription == .subscribed)
            #expect(try store.tokens(userID: "kim").isEmpty)
            #expect(try store.changelog(userID: "kim").map(\.kind) == [.movedIn, .movedOut])
            #expect(try store.statistics().users == 2)
        }
    }

    @Test func usersPersistOnceCreatedBySetSubscription() throws {
        try F.withDirectory { path throws in
            let options = F.options()
            var store = try TokenStore(path: path, options: options)
            try store.setSubscription(userID: "ann", subscription: .unsubscribed, at: F.t0)
            store = try F.reopen(store, options: options)
            defer { try? store.close() }
            #expect(try store.user(userID: "ann") == UserState(subscription: .unsubscribed, optedInAt: nil, unsubscribedAt: F.t0))
            #expect(try store.changelog(userID: "ann").count == 1)
            #expect(try store.exportJSON(userID: "ann") != nil)
            var states: [String: UserState] = [:]
            try store.forEachUserState { bytes, state in
                states[String(decoding: bytes, as: UTF8.self)] = state
                return true
            }
            #expect(states.keys.sorted() == ["ann"])
        }
    }

    @Test func aNewUserStartsSubscribed() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(7), user: "ann", at: F.t0))
            #expect(try store.user(userID: "ann")?.subscription == .subscribed)
        }
    }

    @Test func unknownUsersAnswerWithNothingAndNoError() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(8), user: "ann", at: F.t0))
            #expect(try store.user(userID: "ghost") == nil)
            #expect(try store.tokens(userID: "ghost").isEmpty)
            #expect(try store.registeredFor(userID: "ghost").isEmpty)
            #expect(try store.changelog(userID: "ghost").isEmpty)
            #expect(try store.exportJSON(userID: "ghost") == nil)
            #expect(try store.sendableTokens(userID: "ghost", appID: "app", kind: .visible).isEmpty)
            #expect(try store.sendableTokens(userID: "ghost", appID: "app", kind: .silent).isEmpty)
            var called = false
            try store.forEachToken(userID: "ghost") { _ in
                called = true
                return true
            }
            #expect(!called)
            // Reads never create the user.
            #expect(try store.statistics().users == 1)
        }
    }

    @Test func aProviderTimestampTieAppliesTheBounce() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(9), user: "ann", at: F.t0))
            try store.register(F.reg("phone", "app", F.apnsToken(9), user: "ann", at: F.t0 + 5))
            #expect(try store.bounce(token: F.apnsToken(9), errorCode: "Unregistered", providerTimestamp: F.t0 + 4,
                                     at: F.t0 + 6).outcome == .stale)
            #expect(try store.bounce(token: F.apnsToken(9), errorCode: "Unregistered", providerTimestamp: F.t0 + 5,
                                     at: F.t0 + 6).outcome == .removed)
        }
    }

    @Test func aSweepIsStrictlyOlderAndItsEntryCarriesTheSweepsTime() throws {
        try F.withStore { store throws in
            try store.register(F.reg("a", "app", F.apnsToken(10), user: "ann", at: F.t0))
            try store.register(F.reg("b", "app", F.apnsToken(11), user: "ann", at: F.t0 + 1))
            #expect(try store.sweep(olderThan: F.t0 + 1, at: F.t0 + 50) == 1)
            #expect(try store.tokens(userID: "ann").map(\.deviceID) == ["b"])
            #expect(try store.changelog(userID: "ann").last?.at == F.t0 + 50)
        }
    }

    @Test func quarantinedTokensStayReadableWithTheirState() throws {
        try F.withStore(quarantine: true) { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(12), .ios, .provisional, user: "ann", at: F.t0))
            _ = try store.bounce(token: F.apnsToken(12), errorCode: "TopicDisallowed", at: F.t0 + 1)
            let record = try #require(try store.token(deviceID: "phone", appID: "app"))
            #expect(record.isQuarantined)
            #expect(record.authorization == .provisional)
            #expect(try store.tokens(userID: "ann").first?.isQuarantined == true)
            var viewed = false
            try store.forEachToken(userID: "ann") { view in
                viewed = view.isQuarantined
                return true
            }
            #expect(viewed)
            #expect(try store.count(.foregroundPushEnabledForApp("app")) == 0)
        }
    }

    @Test func changeUserToTheSameUserChangesNothingVisible() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(13), user: "ann", at: F.t0))
            #expect(try store.changeUser(deviceID: "phone", appID: "app", userID: "ann", at: F.t0 + 1) == .applied)
            #expect(try store.token(deviceID: "phone", appID: "app")?.userID == "ann")
            #expect(!(try store.changelog(userID: "ann").contains { $0.kind == .movedOut || $0.kind == .movedIn }))
        }
    }
}
