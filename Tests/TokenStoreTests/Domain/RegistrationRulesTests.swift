import Foundation
import Testing
@testable import TokenStore

private typealias F = DomainFixture

/// DOMAIN.md "Registration by platform": a session's facts → the token's authorization.
@Suite struct RegistrationRulesTests {
    private static let permissions: [PermissionState] = [.granted, .provisional, .denied, .notDetermined]

    private func facts(_ platform: Platform, _ os: Int, _ permission: PermissionState, answered: Bool = true)
        -> SessionFacts
    {
        SessionFacts(platform: platform, osMajorVersion: os, permission: permission, promptAnswered: answered)
    }

    @Test(arguments: [8, 10, 11, 12])
    func android12AndEarlierIsForegroundAfterTheFirstSessionWhateverThePermission(os: Int) {
        for permission in Self.permissions {
            for answered in [false, true] {
                #expect(facts(.android, os, permission, answered: answered).authorization == .foreground,
                        "Android \(os) \(permission)")
            }
        }
    }

    @Test(arguments: [13, 14, 15])
    func android13AndLaterIsBackgroundUntilTheUserGrants(os: Int) {
        #expect(facts(.android, os, .notDetermined, answered: false).authorization == .background)
        #expect(facts(.android, os, .denied).authorization == .background)
        #expect(facts(.android, os, .granted).authorization == .foreground)
        // Provisional is an iOS notion: on Android it is not a grant.
        #expect(facts(.android, os, .provisional).authorization == .background)
    }

    @Test(arguments: [10, 11, 12, 17])
    func iOSStandardGrantGivesForeground(os: Int) {
        #expect(facts(.ios, os, .granted).authorization == .foreground)
    }

    @Test(arguments: [12, 13, 17])
    func iOS12AndLaterCanHoldProvisionalAuthorizationWithoutAPrompt(os: Int) {
        #expect(facts(.ios, os, .provisional, answered: false).authorization == .provisional)
    }

    @Test(arguments: [12, 16])
    func iOS12AndLaterWithoutAGrantStillGetsATokenForBackgroundPush(os: Int) {
        #expect(facts(.ios, os, .denied).authorization == .background, "declined prompt")
        #expect(facts(.ios, os, .notDetermined, answered: false).authorization == .background, "no prompt yet")
    }

    @Test(arguments: [9, 10, 11])
    func iOSBefore12HasNoTokenWithoutAnExplicitGrant(os: Int) {
        #expect(facts(.ios, os, .denied).authorization == nil)
        #expect(facts(.ios, os, .notDetermined, answered: false).authorization == nil)
        #expect(facts(.ios, os, .provisional).authorization == nil)
        #expect(Registration(session: facts(.ios, os, .notDetermined), deviceID: "d", appID: "a", token: "t",
                             at: F.t0) == nil)
    }

    @Test func webHasATokenOnlyAfterTheBrowserGrant() {
        for os in [0, 1, 120] {
            #expect(facts(.web, os, .granted).authorization == .foreground)
            #expect(facts(.web, os, .denied).authorization == nil)
            #expect(facts(.web, os, .notDetermined, answered: false).authorization == nil)
            #expect(facts(.web, os, .provisional).authorization == nil)
        }
        // Web has no background push: it never yields a background token.
        for permission in Self.permissions {
            #expect(facts(.web, 1, permission).authorization != .background)
        }
    }

    @Test func theHelperCopiesEverythingIntoTheRegistration() throws {
        let registration = try #require(Registration(
            session: facts(.ios, 12, .provisional), deviceID: "phone", appID: "app", token: F.apnsToken(1),
            userID: "ann", at: F.t0))
        #expect(registration == Registration(deviceID: "phone", appID: "app", token: F.apnsToken(1), platform: .ios,
                                             authorization: .provisional, userID: "ann", at: F.t0))
        let anonymous = try #require(Registration(
            session: facts(.android, 13, .denied), deviceID: "pixel", appID: "app", token: F.fcmToken(1), at: F.t0))
        #expect(anonymous.userID == nil)
        #expect(anonymous.platform == .android)
        #expect(anonymous.authorization == .background)
    }

    @Test func decliningThePromptLeavesTheUserSubscribedWithNoForegroundToken() throws {
        try F.withStore { store throws in
            let registration = try #require(Registration(
                session: facts(.ios, 15, .denied), deviceID: "phone", appID: "app", token: F.apnsToken(2),
                userID: "ann", at: F.t0))
            try store.register(registration)
            #expect(try store.user(userID: "ann")?.subscription == .subscribed)
            #expect(try F.members(store, .foregroundPushEnabled).isEmpty)
            #expect(try F.members(store, .foregroundPushEnabledForApp("app")).isEmpty)
            #expect(try F.members(store, .backgroundOrForegroundPushEnabled) == ["ann"])
            #expect(try store.registeredFor(userID: "ann") == ["Background: app"])
            #expect(try store.sendableTokens(userID: "ann", appID: "app", kind: .visible).isEmpty)
            #expect(try store.sendableTokens(userID: "ann", appID: "app", kind: .silent).count == 1)
        }
    }

    @Test func android12UsersAreSubscribedAndForegroundEnabledAfterTheirFirstSession() throws {
        try F.withStore { store throws in
            let registration = try #require(Registration(
                session: facts(.android, 12, .notDetermined, answered: false), deviceID: "pixel", appID: "app",
                token: F.fcmToken(3), userID: "ann", at: F.t0))
            try store.register(registration)
            #expect(try store.user(userID: "ann")?.subscription == .subscribed)
            #expect(try F.members(store, .foregroundPushEnabled) == ["ann"])
        }
    }

    @Test func anAndroid13GrantUpgradesTheSameTokenToForeground() throws {
        try F.withStore { store throws in
            let token = F.fcmToken(4)
            try store.register(try #require(Registration(
                session: facts(.android, 14, .notDetermined, answered: false), deviceID: "pixel", appID: "app",
                token: token, userID: "ann", at: F.t0)))
            #expect(try store.token(deviceID: "pixel", appID: "app")?.authorization == .background)
            #expect(try F.members(store, .foregroundPushEnabledForApp("app")).isEmpty)
            // The app creates a notification channel; the user grants; the next session registers again.
            try store.register(try #require(Registration(
                session: facts(.android, 14, .granted), deviceID: "pixel", appID: "app", token: token,
                userID: "ann", at: F.t0 + F.minute)))
            #expect(try store.token(deviceID: "pixel", appID: "app")?.authorization == .foreground)
            #expect(try F.members(store, .foregroundPushEnabledForApp("app")) == ["ann"])
            #expect(try store.count() == 1)
        }
    }
}
