import Foundation
import Testing
@testable import TokenStore

private typealias F = DomainFixture

/// DOMAIN.md's bounce table, with the providers' real error codes.
@Suite struct BounceTests {
    /// FCM/GCM, APNs and Web Push (HTTP status) codes that mean the token is dead.
    static let deadCodes = [
        "NotRegistered", "UNREGISTERED", "InvalidRegistration",            // FCM legacy / v1
        "Unregistered", "ExpiredToken", "BadDeviceToken",                  // APNs
        "404", "410",                                                       // Web Push
    ]
    /// Sender or credential mismatch.
    static let misconfiguredCodes = [
        "MismatchSenderId", "SENDER_ID_MISMATCH",                          // FCM
        "DeviceTokenNotForTopic", "TopicDisallowed", "InvalidProviderToken", // APNs
        "401", "403",                                                       // Web Push
    ]
    /// Rate limits and server errors.
    static let transientCodes = [
        "429", "500", "502", "503", "Unavailable", "InternalServerError", "QUOTA_EXCEEDED", "TooManyRequests",
    ]
    /// The payload's fault.
    static let payloadCodes = ["PayloadTooLarge", "PayloadEmpty", "MessageTooBig"]
    /// Nothing the table lists.
    static let unknownCodes = ["SomethingNewFromTheProvider", "418", "x-custom-error"]

    static func platform(for code: String) -> Platform {
        if code.first?.isNumber == true { return .web }
        if ["Unregistered", "ExpiredToken", "BadDeviceToken", "DeviceTokenNotForTopic", "TopicDisallowed",
            "InvalidProviderToken", "TooManyRequests", "InternalServerError", "PayloadTooLarge", "PayloadEmpty"]
            .contains(code) { return .ios }
        return .android
    }

    /// Registers one token for `opted` user who opted in, then bounces it with `code`.
    private func bounceOnce(
        _ code: String, quarantine: Bool = false, shards: Int = 64,
        check: (TokenStore, String, BounceResult) throws -> Void
    ) throws {
        try F.withStore(shards: shards, quarantine: quarantine) { store throws in
            let platform = Self.platform(for: code)
            let token = F.token(for: platform, 1)
            try store.setSubscription(userID: "opted", subscription: .optedIn, at: F.t0)
            try store.register(F.reg("device", "app", token, platform, .foreground, user: "opted", at: F.t0 + 1))
            let before = try #require(try store.user(userID: "opted"))
            let result = try store.bounce(token: token, errorCode: code, at: F.t0 + 2)
            // A bounce never changes the user's subscription.
            #expect(try store.user(userID: "opted") == before, "bounce \(code) changed the subscription")
            #expect(try F.members(store, .subscription(.optedIn)) == ["opted"])
            try check(store, token, result)
        }
    }

    @Test(arguments: deadCodes)
    func aDeadTokenBounceRemovesTheToken(code: String) throws {
        try bounceOnce(code) { store, token, result throws in
            #expect(result == BounceResult(outcome: .removed, category: .dead), "code \(code)")
            #expect(try store.token(deviceID: "device", appID: "app") == nil)
            #expect(try store.count() == 0)
            #expect(try store.tokens(userID: "opted").isEmpty)
            #expect(try store.count(.foregroundPushEnabled) == 0)
            #expect(try store.changelog(userID: "opted").last
                    == ChangeEntry(at: F.t0 + 2, kind: .bounced, deviceID: "device", appID: "app", token: token,
                                   detail: code))
            let stats = try store.statistics()
            #expect(stats.bouncesByOutcome[.removed] == 1)
            #expect(stats.bouncesByCategory[.dead] == 1)
        }
    }

    @Test(arguments: misconfiguredCodes)
    func aMismatchBounceRemovesTheTokenByDefault(code: String) throws {
        try bounceOnce(code) { store, token, result throws in
            #expect(result == BounceResult(outcome: .removed, category: .misconfigured), "code \(code)")
            #expect(try store.token(deviceID: "device", appID: "app") == nil)
            #expect(try store.count() == 0)
            #expect(try store.changelog(userID: "opted").last
                    == ChangeEntry(at: F.t0 + 2, kind: .bounced, deviceID: "device", appID: "app", token: token,
                                   detail: code))
            #expect(try store.statistics().bouncesByCategory[.misconfigured] == 1)
        }
    }

    @Test(arguments: misconfiguredCodes)
    func aMismatchBounceQuarantinesTheTokenWhenTheStoreIsOpenedSo(code: String) throws {
        try bounceOnce(code, quarantine: true, shards: 4) { store, token, result throws in
            #expect(result == BounceResult(outcome: .quarantined, category: .misconfigured), "code \(code)")
            // Still readable, with its state visible.
            let record = try #require(try store.token(deviceID: "device", appID: "app"), "quarantined token vanished")
            #expect(record.isQuarantined)
            #expect(record.token == token)
            #expect(record.userID == "opted")
            let viewed = try store.withToken(deviceID: "device", appID: "app") { $0.isQuarantined }
            #expect(viewed == true)
            #expect(try store.tokens(userID: "opted").map(\.isQuarantined) == [true])
            // Left out of sends and segment membership.
            #expect(try store.sendableTokens(userID: "opted", appID: "app", kind: .visible).isEmpty)
            #expect(try store.sendableTokens(userID: "opted", appID: "app", kind: .silent).isEmpty)
            #expect(try F.members(store, .foregroundPushEnabledForApp("app")).isEmpty)
            #expect(try F.members(store, .foregroundPushEnabled).isEmpty)
            #expect(try F.members(store, .backgroundOrForegroundPushEnabled).isEmpty)
            let stats = try store.statistics()
            #expect(stats.quarantined == 1)
            #expect(stats.bouncesByOutcome[.quarantined] == 1)
            #expect(stats.bouncesByCategory[.misconfigured] == 1)
            #expect(try store.changelog(userID: "opted").last
                    == ChangeEntry(at: F.t0 + 2, kind: .bounced, deviceID: "device", appID: "app", token: token,
                                   detail: code))
        }
    }

    @Test func aQuarantinedTokenReturnsToSendsAndSegmentsWhenItRegistersAgain() throws {
        try F.withStore(shards: 4, quarantine: true) { store throws in
            let token = F.fcmToken(9)
            try store.register(F.reg("device", "app", token, .android, .foreground, user: "ann", at: F.t0))
            #expect(try store.bounce(token: token, errorCode: "MismatchSenderId", at: F.t0 + 1).outcome == .quarantined)
            // A non-registration write does not lift the quarantine.
            try store.setAuthorization(deviceID: "device", appID: "app", authorization: .background, at: F.t0 + 2)
            try store.setAuthorization(deviceID: "device", appID: "app", authorization: .foreground, at: F.t0 + 3)
            #expect(try store.token(deviceID: "device", appID: "app")?.isQuarantined == true)
            #expect(try store.count(.foregroundPushEnabledForApp("app")) == 0)

            try store.register(F.reg("device", "app", token, .android, .foreground, user: "ann", at: F.t0 + 4))
            #expect(try store.token(deviceID: "device", appID: "app")?.isQuarantined == false)
            #expect(try store.sendableTokens(userID: "ann", appID: "app", kind: .visible).map(\.token) == [token])
            #expect(try F.members(store, .foregroundPushEnabledForApp("app")) == ["ann"])
            #expect(try F.members(store, .foregroundPushEnabled) == ["ann"])
            #expect(try store.statistics().quarantined == 0)
        }
    }

    @Test func aDeadBounceRemovesAQuarantinedToken() throws {
        try F.withStore(quarantine: true) { store throws in
            let token = F.apnsToken(9)
            try store.register(F.reg("device", "app", token, user: "ann", at: F.t0))
            #expect(try store.bounce(token: token, errorCode: "InvalidProviderToken", at: F.t0 + 1).outcome == .quarantined)
            #expect(try store.bounce(token: token, errorCode: "Unregistered", at: F.t0 + 2).outcome == .removed)
            #expect(try store.token(deviceID: "device", appID: "app") == nil)
            #expect(try store.statistics().quarantined == 0)
        }
    }

    @Test func quarantineSurvivesReopen() throws {
        try F.withDirectory { path throws in
            let options = F.options(shards: 4, quarantine: true)
            var store = try TokenStore(path: path, options: options)
            let token = F.apnsToken(10)
            try store.register(F.reg("device", "app", token, user: "ann", at: F.t0))
            _ = try store.bounce(token: token, errorCode: "DeviceTokenNotForTopic", at: F.t0 + 1)
            store = try F.reopen(store, options: options)
            defer { try? store.close() }
            #expect(try store.token(deviceID: "device", appID: "app")?.isQuarantined == true)
            #expect(try store.count(.foregroundPushEnabled) == 0)
            #expect(try store.sendableTokens(userID: "ann", appID: "app", kind: .silent).isEmpty)
            #expect(try store.statistics().quarantined == 1)
        }
    }

    @Test(arguments: transientCodes)
    func aTransientBounceKeepsTheTokenAndCountsTheFailure(code: String) throws {
        try bounceOnce(code) { store, token, result throws in
            #expect(result == BounceResult(outcome: .kept, category: .transient), "code \(code)")
            try expectKept(store, token)
            let stats = try store.statistics()
            #expect(stats.bouncesByOutcome[.kept] == 1)
            #expect(stats.bouncesByCategory[.transient] == 1)
        }
    }

    @Test(arguments: payloadCodes)
    func aPayloadBounceKeepsTheToken(code: String) throws {
        try bounceOnce(code) { store, token, result throws in
            #expect(result == BounceResult(outcome: .kept, category: .payload), "code \(code)")
            try expectKept(store, token)
            #expect(try store.statistics().bouncesByCategory[.payload] == 1)
        }
    }

    @Test(arguments: unknownCodes)
    func anUnknownCodeKeepsTheTokenAndIsReportedAsUnknown(code: String) throws {
        try bounceOnce(code) { store, token, result throws in
            #expect(result == BounceResult(outcome: .kept, category: .unknown), "code \(code)")
            try expectKept(store, token)
            #expect(try store.statistics().bouncesByCategory[.unknown] == 1)
            #expect(try store.statistics().bouncesByOutcome[.kept] == 1)
        }
    }

    private func expectKept(_ store: TokenStore, _ token: String) throws {
        let record = try #require(try store.token(deviceID: "device", appID: "app"))
        #expect(record.token == token)
        #expect(!record.isQuarantined)
        #expect(try store.count() == 1)
        #expect(try store.sendableTokens(userID: "opted", appID: "app", kind: .visible).map(\.token) == [token])
        #expect(try store.count(.foregroundPushEnabled) == 1)
        // Only removal and quarantine are changelog events.
        #expect(try store.changelog(userID: "opted").map(\.kind) == [.subscriptionChanged, .registered])
    }

    @Test func anAPNs410OlderThanTheLatestRegistrationIsStale() throws {
        try F.withStore { store throws in
            let token = F.apnsToken(11)
            try store.register(F.reg("phone", "app", token, user: "ann", at: F.t0))
            // The device registers the same token again after APNs judged it invalid.
            try store.register(F.reg("phone", "app", token, user: "ann", at: F.t0 + 10 * F.minute))
            let result = try store.bounce(token: token, errorCode: "Unregistered",
                                          providerTimestamp: F.t0 + 5 * F.minute, at: F.t0 + 11 * F.minute)
            #expect(result == BounceResult(outcome: .stale, category: .dead))
            let record = try #require(try store.token(deviceID: "phone", appID: "app"), "a stale bounce removed the token")
            #expect(record.token == token)
            #expect(try store.changelog(userID: "ann").map(\.kind) == [.registered])
            #expect(try store.sendableTokens(userID: "ann", appID: "app", kind: .visible).count == 1)
        }
    }

    @Test func anAPNs410AtExactlyTheRegistrationTimeApplies() throws {
        try F.withStore { store throws in
            let token = F.apnsToken(12)
            try store.register(F.reg("phone", "app", token, user: "ann", at: F.t0))
            let result = try store.bounce(token: token, errorCode: "Unregistered", providerTimestamp: F.t0,
                                          at: F.t0 + 1)
            #expect(result == BounceResult(outcome: .removed, category: .dead))
            #expect(try store.token(deviceID: "phone", appID: "app") == nil)
        }
    }

    @Test func anAPNs410LaterThanTheRegistrationRemovesTheToken() throws {
        try F.withStore { store throws in
            let token = F.apnsToken(13)
            try store.register(F.reg("phone", "app", token, user: "ann", at: F.t0))
            let result = try store.bounce(token: token, errorCode: "410", providerTimestamp: F.t0 + F.hour,
                                          at: F.t0 + 2 * F.hour)
            #expect(result == BounceResult(outcome: .removed, category: .dead))
            #expect(try store.token(deviceID: "phone", appID: "app") == nil)
            #expect(try store.changelog(userID: "ann").last?.detail == "410")
        }
    }

    @Test func aKeptBounceIgnoresTheProviderTimestamp() throws {
        try F.withStore { store throws in
            let token = F.apnsToken(14)
            try store.register(F.reg("phone", "app", token, user: "ann", at: F.t0 + F.hour))
            let result = try store.bounce(token: token, errorCode: "TooManyRequests", providerTimestamp: F.t0,
                                          at: F.t0 + 2 * F.hour)
            #expect(result == BounceResult(outcome: .kept, category: .transient))
        }
    }

    /// Semantics assumed: a stale bounce is counted under `.stale` (it is a `BounceOutcome`).
    @Test func aStaleBounceIsCountedAsStaleInStatistics() throws {
        try F.withStore { store throws in
            let token = F.apnsToken(15)
            try store.register(F.reg("phone", "app", token, user: "ann", at: F.t0 + F.hour))
            _ = try store.bounce(token: token, errorCode: "ExpiredToken", providerTimestamp: F.t0, at: F.t0 + 2 * F.hour)
            let stats = try store.statistics()
            #expect(stats.bouncesByOutcome[.stale] == 1)
            #expect((stats.bouncesByOutcome[.removed] ?? 0) == 0)
            #expect(stats.tokens == 1)
        }
    }

    @Test func aBounceForAnUnknownTokenThrowsNotFoundAndChangesNothing() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(16), user: "ann", at: F.t0))
            let before = try DomainSnapshot(store, apps: ["app"])
            F.expectCode(.notFound) {
                _ = try store.bounce(token: F.apnsToken(17), errorCode: "Unregistered", at: F.t0 + 1)
            }
            F.expectCode(.notFound, "transient bounce on unknown token") {
                _ = try store.bounce(token: F.apnsToken(17), errorCode: "503", at: F.t0 + 1)
            }
            #expect(try DomainSnapshot(store, apps: ["app"]) == before)
        }
    }

    @Test(arguments: [Subscription.subscribed, .optedIn, .unsubscribed])
    func aBounceNeverChangesTheSubscription(state: Subscription) throws {
        try F.withStore(quarantine: state == .optedIn) { store throws in
            try store.setSubscription(userID: "ann", subscription: state, at: F.t0)
            let codes = Self.deadCodes.prefix(2) + Self.misconfiguredCodes.prefix(2) + Self.transientCodes.prefix(1)
                + Self.payloadCodes.prefix(1) + Self.unknownCodes.prefix(1)
            for (i, code) in codes.enumerated() {
                let token = F.apnsToken(200 + i)
                try store.register(F.reg("phone-\(i)", "app", token, user: "ann", at: F.t0 + 1))
                let before = try #require(try store.user(userID: "ann"))
                _ = try store.bounce(token: token, errorCode: code, at: F.t0 + 2)
                #expect(try store.user(userID: "ann") == before, "\(code) changed \(state)")
            }
        }
    }

    @Test func bounceCountsAccumulateAndSurviveReopen() throws {
        try F.withDirectory { path throws in
            let options = F.options(shards: 4)
            var store = try TokenStore(path: path, options: options)
            for i in 0..<6 { try store.register(F.reg("d\(i)", "app", F.apnsToken(300 + i), user: "u", at: F.t0)) }
            _ = try store.bounce(token: F.apnsToken(300), errorCode: "BadDeviceToken", at: F.t0 + 1)
            _ = try store.bounce(token: F.apnsToken(301), errorCode: "TopicDisallowed", at: F.t0 + 1)
            _ = try store.bounce(token: F.apnsToken(302), errorCode: "503", at: F.t0 + 1)
            _ = try store.bounce(token: F.apnsToken(302), errorCode: "429", at: F.t0 + 2)
            _ = try store.bounce(token: F.apnsToken(303), errorCode: "PayloadTooLarge", at: F.t0 + 1)
            _ = try store.bounce(token: F.apnsToken(304), errorCode: "Whatever", at: F.t0 + 1)
            let expectedOutcomes: [BounceOutcome: Int] = [.removed: 2, .kept: 4]
            let expectedCategories: [BounceCategory: Int] = [.dead: 1, .misconfigured: 1, .transient: 2, .payload: 1,
                                                             .unknown: 1]
            #expect(F.nonZero(try store.statistics().bouncesByOutcome) == expectedOutcomes)
            #expect(F.nonZero(try store.statistics().bouncesByCategory) == expectedCategories)
            store = try F.reopen(store, options: options)
            defer { try? store.close() }
            #expect(F.nonZero(try store.statistics().bouncesByOutcome) == expectedOutcomes)
            #expect(F.nonZero(try store.statistics().bouncesByCategory) == expectedCategories)
            #expect(try store.count() == 4)
        }
    }

    @Test func aBounceOnAnAnonymousTokenRemovesItWithoutAChangelog() throws {
        try F.withStore { store throws in
            let token = F.fcmToken(400)
            try store.register(F.reg("tablet", "app", token, .android, user: nil, at: F.t0))
            #expect(try store.bounce(token: token, errorCode: "NotRegistered", at: F.t0 + 1).outcome == .removed)
            #expect(try store.count() == 0)
            #expect(try store.statistics().users == 0)
        }
    }
}
