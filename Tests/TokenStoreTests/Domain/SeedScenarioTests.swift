import Foundation
import Testing
@testable import TokenStore

private typealias F = DomainFixture

/// One test per scenario on the seed page (`seed/000_ca2f7ae07ee4436b.txt`, Braze "Pousser l'enregistrement").
@Suite struct SeedScenarioTests {
    /// "À propos des jetons de poussée": each app on a device gets its own unique, anonymous token.
    @Test func eachAppOnADeviceGetsItsOwnAnonymousToken() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "news", F.apnsToken(1), user: nil, at: F.t0))
            try store.register(F.reg("phone", "shop", F.apnsToken(2), user: nil, at: F.t0))
            #expect(try store.count() == 2)
            #expect(try store.token(deviceID: "phone", appID: "news")?.token == F.apnsToken(1))
            #expect(try store.token(deviceID: "phone", appID: "shop")?.token == F.apnsToken(2))
            #expect(try store.token(deviceID: "phone", appID: "news")?.userID == nil)
            #expect(try store.statistics().users == 0)
        }
    }

    /// "Poussée d'avant-plan ou d'arrière-plan": foreground push needs the subscription, background does not.
    @Test func foregroundPushNeedsASubscriptionWhileBackgroundPushDoesNot() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(3), user: "ann", at: F.t0))
            try store.setSubscription(userID: "ann", subscription: .unsubscribed, at: F.t0 + 1)
            #expect(try store.sendableTokens(userID: "ann", appID: "app", kind: .visible).isEmpty)
            #expect(try store.sendableTokens(userID: "ann", appID: "app", kind: .silent).map(\.token) == [F.apnsToken(3)])
        }
    }

    /// A user who subscribes for an app is "registered" and targetable by Foreground Push Enabled for App;
    /// Foreground Push Enabled means at least one app.
    @Test func aRegisteredUserIsTargetableForThatAppWhileForegroundPushEnabledMeansAnyApp() throws {
        try F.withStore(shards: 4) { store throws in
            try store.register(F.reg("phone", "news", F.apnsToken(4), .ios, .foreground, user: "ann", at: F.t0))
            try store.register(F.reg("phone", "shop", F.apnsToken(5), .ios, .background, user: "ann", at: F.t0))
            #expect(try F.members(store, .foregroundPushEnabledForApp("news")) == ["ann"])
            #expect(try F.members(store, .foregroundPushEnabledForApp("shop")).isEmpty)
            #expect(try F.members(store, .foregroundPushEnabled) == ["ann"])
        }
    }

    /// "Plusieurs utilisateurs sur un appareil": Kim logs out Charlie and logs in on Charlie's phone; the
    /// token stays with Kim until she logs out and Charlie logs in again.
    @Test func charlieAndKimShareAPhone() throws {
        try F.withStore(shards: 4) { store throws in
            let token = F.apnsToken(6)
            try store.register(F.reg("charlies-phone", "app", token, user: "charlie", at: F.t0))
            try store.changeUser(deviceID: "charlies-phone", appID: "app", userID: nil, at: F.t0 + 1)   // Charlie logs out
            try store.changeUser(deviceID: "charlies-phone", appID: "app", userID: "kim", at: F.t0 + 2) // Kim logs in
            #expect(try store.tokens(userID: "kim").map(\.token) == [token])
            #expect(try store.tokens(userID: "charlie").isEmpty)
            // Kim's next sessions keep it with her.
            try store.register(F.reg("charlies-phone", "app", token, user: "kim", at: F.t0 + 3))
            #expect(try store.token(deviceID: "charlies-phone", appID: "app")?.userID == "kim")
            try store.changeUser(deviceID: "charlies-phone", appID: "app", userID: nil, at: F.t0 + 4)     // Kim logs out
            try store.changeUser(deviceID: "charlies-phone", appID: "app", userID: "charlie", at: F.t0 + 5) // Charlie back
            #expect(try store.tokens(userID: "charlie").map(\.token) == [token])
            #expect(try store.tokens(userID: "kim").isEmpty)
            #expect(try store.count() == 1)
        }
    }

    /// One subscription per device and app; the changelog shows when the token moved and which token it was.
    @Test func aWebsiteLoginMovesTheSingleSubscriptionAndTheChangelogShowsWhenAndWhichToken() throws {
        try F.withStore { store throws in
            let token = F.webToken(7)
            try store.register(F.reg("browser", "site", token, .web, .foreground, user: "ann", at: F.t0))
            try store.changeUser(deviceID: "browser", appID: "site", userID: "bob", at: F.t0 + F.hour)
            let moved = try #require(try store.changelog(userID: "ann").last)
            #expect(moved.kind == .movedOut)
            #expect(moved.at == F.t0 + F.hour)
            #expect(moved.token == token)
            #expect(moved.otherUserID == "bob")
            #expect(try store.changelog(userID: "bob").last?.token == token)
        }
    }

    /// Providers cannot tell users on one device apart: the token goes to the last user who logged in.
    @Test func theLastUserToLogInIsTheOneTargetedOnTheDevice() throws {
        try F.withStore { store throws in
            let token = F.fcmToken(8)
            try store.register(F.reg("tablet", "app", token, .android, user: "ann", at: F.t0))
            for (i, user) in ["bob", "cy", "dee", "bob"].enumerated() {
                try store.changeUser(deviceID: "tablet", appID: "app", userID: user, at: F.t0 + Int64(i + 1))
            }
            for user in ["ann", "cy", "dee"] {
                #expect(try store.sendableTokens(userID: user, appID: "app", kind: .silent).isEmpty, "\(user)")
            }
            #expect(try store.sendableTokens(userID: "bob", appID: "app", kind: .visible).map(\.token) == [token])
        }
    }

    /// Android tab: 13 needs the grant; 12 and earlier are subscribed and push-enabled after the first session.
    @Test func androidRegistrationDependsOnTheVersion() throws {
        try F.withStore { store throws in
            let old = try #require(Registration(
                session: SessionFacts(platform: .android, osMajorVersion: 12, permission: .notDetermined,
                                      promptAnswered: false),
                deviceID: "old-pixel", appID: "app", token: F.fcmToken(9), userID: "ann", at: F.t0))
            let new = try #require(Registration(
                session: SessionFacts(platform: .android, osMajorVersion: 13, permission: .notDetermined,
                                      promptAnswered: false),
                deviceID: "new-pixel", appID: "app", token: F.fcmToken(10), userID: "bob", at: F.t0))
            try store.register(old)
            try store.register(new)
            #expect(try store.user(userID: "ann")?.subscription == .subscribed)
            #expect(try F.members(store, .foregroundPushEnabledForApp("app")) == ["ann"])
            #expect(try store.token(deviceID: "new-pixel", appID: "app")?.authorization == .background)
        }
    }

    /// iOS tab: no token at install; iOS 12 may be provisional; iOS 11 only after an explicit grant.
    @Test func iOSRegistrationDependsOnTheVersion() throws {
        try F.withStore { store throws in
            let ios11 = SessionFacts(platform: .ios, osMajorVersion: 11, permission: .notDetermined, promptAnswered: false)
            #expect(Registration(session: ios11, deviceID: "old-iphone", appID: "app", token: F.apnsToken(11),
                                 userID: "ann", at: F.t0) == nil, "iOS 11 has no token before the grant")
            let ios12 = SessionFacts(platform: .ios, osMajorVersion: 12, permission: .provisional, promptAnswered: false)
            try store.register(try #require(Registration(session: ios12, deviceID: "iphone", appID: "app",
                                                         token: F.apnsToken(12), userID: "bob", at: F.t0)))
            #expect(try store.token(deviceID: "iphone", appID: "app")?.authorization == .provisional)
            #expect(try F.members(store, .foregroundPushEnabledForApp("app")) == ["bob"])
            let granted11 = SessionFacts(platform: .ios, osMajorVersion: 11, permission: .granted, promptAnswered: true)
            try store.register(try #require(Registration(session: granted11, deviceID: "old-iphone", appID: "app",
                                                         token: F.apnsToken(11), userID: "ann", at: F.t0 + 1)))
            #expect(try store.token(deviceID: "old-iphone", appID: "app")?.authorization == .foreground)
        }
    }

    /// Web tab: a token exists only after the user subscribes through the browser dialog.
    @Test func webGetsATokenOnlyAfterTheBrowserOptIn() throws {
        try F.withStore { store throws in
            let before = SessionFacts(platform: .web, osMajorVersion: 0, permission: .notDetermined, promptAnswered: false)
            #expect(Registration(session: before, deviceID: "browser", appID: "site", token: F.webToken(13), at: F.t0) == nil)
            let after = SessionFacts(platform: .web, osMajorVersion: 0, permission: .granted, promptAnswered: true)
            try store.register(try #require(Registration(session: after, deviceID: "browser", appID: "site",
                                                         token: F.webToken(13), userID: "ann", at: F.t0)))
            #expect(try F.members(store, .foregroundPushEnabledForApp("site")) == ["ann"])
        }
    }

    /// "Vérification de l'état de l'abonnement": the REST export returns a push tokens object per device.
    @Test func theExportShowsSubscriptionStateAndOnePushTokenPerDevice() throws {
        try F.withStore { store throws in
            try store.setSubscription(userID: "john", subscription: .subscribed, at: F.t0)
            try store.register(F.reg("iphone", "app", F.apnsToken(14), .ios, .foreground, user: "john", at: F.t0))
            try store.register(F.reg("ipad", "app", F.apnsToken(15), .ios, .background, user: "john", at: F.t0))
            let export = try F.parseExport(try #require(try store.exportJSON(userID: "john")))
            #expect(export["push_subscribe"] as? String == "subscribed")
            let list = try #require(export["push_tokens"] as? [[String: Any]])
            #expect(Set(list.compactMap { $0["device_id"] as? String }) == ["iphone", "ipad"])
            #expect(list.first { $0["device_id"] as? String == "ipad" }?["notifications_enabled"] as? Bool == false)
        }
    }

    /// "Push Registered For": one line per device, Foreground:/Background:, and a transferred token
    /// leaves the first user unregistered.
    @Test func pushRegisteredForShowsEachDeviceAndDropsTransferredTokens() throws {
        try F.withStore { store throws in
            try store.register(F.reg("iphone", "app", F.apnsToken(16), .ios, .foreground, user: "ann", at: F.t0))
            try store.register(F.reg("ipad", "app", F.apnsToken(17), .ios, .foreground, user: "ann", at: F.t0))
            // The user turned notifications off on the iPad.
            try store.setAuthorization(deviceID: "ipad", appID: "app", authorization: .background, at: F.t0 + 1)
            #expect(try store.registeredFor(userID: "ann").sorted() == ["Background: app", "Foreground: app"])
            try store.changeUser(deviceID: "ipad", appID: "app", userID: "bob", at: F.t0 + 2)
            #expect(try store.registeredFor(userID: "ann") == ["Foreground: app"])
            #expect(try store.registeredFor(userID: "bob") == ["Background: app"])
        }
    }

    /// "Gestion des jetons": changeUser moves the token; MismatchSenderId and InvalidRegistration remove it;
    /// an uninstall removes it.
    @Test func theTokenManagementTableChangesOrRemovesTokens() throws {
        try F.withStore { store throws in
            try store.register(F.reg("p1", "app", F.fcmToken(18), .android, user: "ann", at: F.t0))
            try store.register(F.reg("p2", "app", F.fcmToken(19), .android, user: "ann", at: F.t0))
            try store.register(F.reg("p3", "app", F.fcmToken(20), .android, user: "ann", at: F.t0))
            try store.register(F.reg("p4", "app", F.fcmToken(21), .android, user: "ann", at: F.t0))
            try store.changeUser(deviceID: "p1", appID: "app", userID: "bob", at: F.t0 + 1)
            #expect(try store.bounce(token: F.fcmToken(19), errorCode: "MismatchSenderId", at: F.t0 + 1).outcome == .removed)
            #expect(try store.bounce(token: F.fcmToken(20), errorCode: "InvalidRegistration", at: F.t0 + 1).outcome == .removed)
            try store.uninstall(deviceID: "p4", appID: "app", at: F.t0 + 1)
            #expect(try store.tokens(userID: "ann").isEmpty)
            #expect(try store.tokens(userID: "bob").map(\.deviceID) == ["p1"])
        }
    }

    /// "À plus grande échelle": the user opens a new app and grants; the token reaches the store, which
    /// creates the profile; the user is registered and a campaign can send.
    @Test func aNewAppGrantCreatesTheProfileAndMakesTheUserRegistered() throws {
        try F.withStore { store throws in
            #expect(try store.user(userID: "newbie") == nil)
            let session = SessionFacts(platform: .ios, osMajorVersion: 17, permission: .granted, promptAnswered: true)
            try store.register(try #require(Registration(session: session, deviceID: "iphone", appID: "app",
                                                         token: F.apnsToken(22), userID: "newbie", at: F.t0)))
            #expect(try store.user(userID: "newbie")?.subscription == .subscribed)
            #expect(try F.members(store, .foregroundPushEnabledForApp("app")) == ["newbie"])
            #expect(try store.sendableTokens(userID: "newbie", appID: "app", kind: .visible).map(\.token) == [F.apnsToken(22)])
        }
    }

    /// FAQ: a subscribed user deletes the app; the first bounce after the uninstall removes the token
    /// (never the subscription); a reinstall never launched cannot be sent to; foreground needs a session.
    @Test func aDeletedAndReinstalledButNeverLaunchedAppCannotBeSentTo() throws {
        try F.withStore { store throws in
            try store.setSubscription(userID: "ann", subscription: .optedIn, at: F.t0)
            let token = F.apnsToken(23)
            try store.register(F.reg("iphone", "app", token, user: "ann", at: F.t0 + 1))
            // The app is deleted; the next (background) push bounces.
            #expect(try store.bounce(token: token, errorCode: "Unregistered", providerTimestamp: F.t0 + 5,
                                     at: F.t0 + 6).outcome == .removed)
            #expect(try store.user(userID: "ann")?.subscription == .optedIn)
            // Reinstalled, never launched.
            #expect(try store.sendableTokens(userID: "ann", appID: "app", kind: .visible).isEmpty)
            #expect(try store.sendableTokens(userID: "ann", appID: "app", kind: .silent).isEmpty)
            // The first session registers again.
            try store.register(F.reg("iphone", "app", F.apnsToken(24), user: "ann", at: F.t0 + 10))
            #expect(try store.sendableTokens(userID: "ann", appID: "app", kind: .visible).map(\.token) == [F.apnsToken(24)])
        }
    }

    /// FAQ "Quand les jetons expirent-ils ?": tokens expire silently; registering at every session start
    /// purges the old token, and a sweep purges tokens not refreshed.
    @Test func tokensExpireSilentlyAndSessionStartRegistrationPurgesTheOldOne() throws {
        try F.withStore { store throws in
            try store.register(F.reg("iphone", "app", F.apnsToken(25), user: "ann", at: F.t0))
            // App update: the OS issues a new token; the next session registers it.
            try store.register(F.reg("iphone", "app", F.apnsToken(26), user: "ann", at: F.t0 + F.day))
            #expect(try store.tokens(userID: "ann").map(\.token) == [F.apnsToken(26)])
            F.expectCode(.notFound) { _ = try store.bounce(token: F.apnsToken(25), errorCode: "Unregistered", at: F.t0 + 2 * F.day) }
            // Device transferred: the old device never starts a session again and is swept.
            try store.register(F.reg("old-ipad", "app", F.apnsToken(27), user: "ann", at: F.t0))
            #expect(try store.sweep(olderThan: F.t0 + 30 * F.day, platform: .ios, at: F.t0 + 31 * F.day) == 2)
            #expect(try store.tokens(userID: "ann").isEmpty)
            #expect(try store.changelog(userID: "ann").suffix(2).map(\.kind) == [.expired, .expired])
        }
    }
}
