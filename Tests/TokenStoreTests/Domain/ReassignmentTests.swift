import Foundation
import Testing
@testable import TokenStore

private typealias F = DomainFixture

/// DOMAIN.md "change_user" and the "Charlie and Kim" rule.
@Suite struct ReassignmentTests {
    static let phone = "charlies-iphone"
    static let app = "com.example.app"

    @Test(arguments: [4, 64])
    func kimLoggingInOnCharliesPhoneMovesTheTokenToKimAndBothChangelogsRecordIt(shards: Int) throws {
        try F.withStore(shards: shards) { store throws in
            let token = F.apnsToken(100)
            try store.register(F.reg(Self.phone, Self.app, token, user: "charlie", at: F.t0))
            #expect(try store.changeUser(deviceID: Self.phone, appID: Self.app, userID: "kim", at: F.t0 + 10) == .applied)

            let record = try #require(try store.token(deviceID: Self.phone, appID: Self.app))
            #expect(record.userID == "kim")
            #expect(record.token == token)
            #expect(try store.tokens(userID: "charlie").isEmpty, "Charlie is still push-registered")
            #expect(try store.registeredFor(userID: "charlie").isEmpty)
            #expect(try store.tokens(userID: "kim").map(\.token) == [token])
            #expect(try store.sendableTokens(userID: "charlie", appID: Self.app, kind: .visible).isEmpty)
            #expect(try store.sendableTokens(userID: "charlie", appID: Self.app, kind: .silent).isEmpty)
            #expect(try store.sendableTokens(userID: "kim", appID: Self.app, kind: .visible).map(\.token) == [token])

            let charlie = try store.changelog(userID: "charlie")
            let kim = try store.changelog(userID: "kim")
            #expect(charlie == [
                ChangeEntry(at: F.t0, kind: .registered, deviceID: Self.phone, appID: Self.app, token: token),
                ChangeEntry(at: F.t0 + 10, kind: .movedOut, deviceID: Self.phone, appID: Self.app, token: token,
                            otherUserID: "kim"),
            ])
            #expect(kim == [
                ChangeEntry(at: F.t0 + 10, kind: .movedIn, deviceID: Self.phone, appID: Self.app, token: token,
                            otherUserID: "charlie"),
            ])
        }
    }

    @Test func whenCharlieLogsInAgainTheTokenMovesBack() throws {
        try F.withStore(shards: 4) { store throws in
            let token = F.apnsToken(101)
            try store.register(F.reg(Self.phone, Self.app, token, user: "charlie", at: F.t0))
            try store.changeUser(deviceID: Self.phone, appID: Self.app, userID: "kim", at: F.t0 + 10)
            #expect(try store.changeUser(deviceID: Self.phone, appID: Self.app, userID: "charlie", at: F.t0 + 20) == .applied)

            #expect(try store.token(deviceID: Self.phone, appID: Self.app)?.userID == "charlie")
            #expect(try store.tokens(userID: "kim").isEmpty)
            #expect(try store.tokens(userID: "charlie").map(\.token) == [token])
            #expect(try store.changelog(userID: "charlie").map(\.kind) == [.registered, .movedOut, .movedIn])
            #expect(try store.changelog(userID: "charlie").last
                    == ChangeEntry(at: F.t0 + 20, kind: .movedIn, deviceID: Self.phone, appID: Self.app,
                                   token: token, otherUserID: "kim"))
            #expect(try store.changelog(userID: "kim")
                    == [ChangeEntry(at: F.t0 + 10, kind: .movedIn, deviceID: Self.phone, appID: Self.app,
                                    token: token, otherUserID: "charlie"),
                        ChangeEntry(at: F.t0 + 20, kind: .movedOut, deviceID: Self.phone, appID: Self.app,
                                    token: token, otherUserID: "charlie")])
        }
    }

    @Test func aRegistrationByADifferentUserReassignsLikeChangeUser() throws {
        try F.withStore { store throws in
            let token = F.fcmToken(102)
            try store.register(F.reg(Self.phone, Self.app, token, .android, user: "charlie", at: F.t0))
            // Kim's next session reports the same token with Kim logged in.
            #expect(try store.register(F.reg(Self.phone, Self.app, token, .android, user: "kim", at: F.t0 + 5)) == .applied)
            #expect(try store.token(deviceID: Self.phone, appID: Self.app)?.userID == "kim")
            #expect(try store.tokens(userID: "charlie").isEmpty)
            #expect(try store.changelog(userID: "charlie").last
                    == ChangeEntry(at: F.t0 + 5, kind: .movedOut, deviceID: Self.phone, appID: Self.app,
                                   token: token, otherUserID: "kim"))
            #expect(try store.changelog(userID: "kim")
                    == [ChangeEntry(at: F.t0 + 5, kind: .movedIn, deviceID: Self.phone, appID: Self.app,
                                    token: token, otherUserID: "charlie")])
            #expect(try store.count() == 1)
        }
    }

    @Test func aReassignmentMovesSegmentMembershipBetweenTheUsers() throws {
        try F.withStore(shards: 4) { store throws in
            try store.register(F.reg(Self.phone, Self.app, F.apnsToken(103), user: "charlie", at: F.t0))
            #expect(try F.members(store, .foregroundPushEnabledForApp(Self.app)) == ["charlie"])
            try store.changeUser(deviceID: Self.phone, appID: Self.app, userID: "kim", at: F.t0 + 1)
            #expect(try F.members(store, .foregroundPushEnabledForApp(Self.app)) == ["kim"])
            #expect(try F.members(store, .foregroundPushEnabled) == ["kim"])
            #expect(try F.members(store, .backgroundOrForegroundPushEnabled) == ["kim"])
            // Charlie persists as a user, still subscribed, just without a token.
            #expect(try F.members(store, .subscription(.subscribed)) == ["charlie", "kim"])
            #expect(try store.user(userID: "charlie")?.subscription == .subscribed)
        }
    }

    @Test func loggingOutToAnonymousLeavesTheTokenWithNoOwner() throws {
        try F.withStore { store throws in
            let token = F.apnsToken(104)
            try store.register(F.reg(Self.phone, Self.app, token, user: "charlie", at: F.t0))
            #expect(try store.changeUser(deviceID: Self.phone, appID: Self.app, userID: nil, at: F.t0 + 1) == .applied)
            let record = try #require(try store.token(deviceID: Self.phone, appID: Self.app))
            #expect(record.userID == nil)
            #expect(record.token == token)
            #expect(try store.tokens(userID: "charlie").isEmpty)
            #expect(try store.changelog(userID: "charlie").last
                    == ChangeEntry(at: F.t0 + 1, kind: .movedOut, deviceID: Self.phone, appID: Self.app,
                                   token: token, otherUserID: nil))
            #expect(try store.count(.foregroundPushEnabledForApp(Self.app)) == 0)
            // Then Kim logs in on the anonymous device.
            try store.changeUser(deviceID: Self.phone, appID: Self.app, userID: "kim", at: F.t0 + 2)
            #expect(try store.changelog(userID: "kim")
                    == [ChangeEntry(at: F.t0 + 2, kind: .movedIn, deviceID: Self.phone, appID: Self.app,
                                    token: token, otherUserID: nil)])
        }
    }

    @Test func changeUserOnAKeyWithoutATokenThrowsNotFoundAndCreatesNoUser() throws {
        try F.withStore { store throws in
            F.expectCode(.notFound) {
                try store.changeUser(deviceID: "nowhere", appID: Self.app, userID: "kim", at: F.t0)
            }
            #expect(try store.user(userID: "kim") == nil)
            #expect(try store.statistics().users == 0)
        }
    }

    @Test func aReassignmentKeepsTheTokensAuthorizationAndTimes() throws {
        try F.withStore { store throws in
            let token = F.apnsToken(105)
            try store.register(F.reg(Self.phone, Self.app, token, .ios, .provisional, user: "charlie", at: F.t0))
            try store.changeUser(deviceID: Self.phone, appID: Self.app, userID: "kim", at: F.t0 + 1)
            let record = try #require(try store.token(deviceID: Self.phone, appID: Self.app))
            #expect(record.authorization == .provisional)
            #expect(record.platform == .ios)
            #expect(record.createdAt == F.t0)
            // Semantics assumed: only a registration refreshes updatedAt, not a login.
            #expect(record.updatedAt == F.t0)
        }
    }

    @Test func reassignmentSurvivesReopen() throws {
        try F.withDirectory { path throws in
            let options = F.options(shards: 4)
            var store = try TokenStore(path: path, options: options)
            let token = F.apnsToken(106)
            try store.register(F.reg(Self.phone, Self.app, token, user: "charlie", at: F.t0))
            try store.changeUser(deviceID: Self.phone, appID: Self.app, userID: "kim", at: F.t0 + 1)
            store = try F.reopen(store, options: options)
            defer { try? store.close() }
            #expect(try store.tokens(userID: "charlie").isEmpty)
            #expect(try store.tokens(userID: "kim").map(\.token) == [token])
            #expect(try store.changelog(userID: "charlie").map(\.kind) == [.registered, .movedOut])
            #expect(try store.changelog(userID: "kim").map(\.kind) == [.movedIn])
            #expect(try F.members(store, .foregroundPushEnabled) == ["kim"])
        }
    }
}
