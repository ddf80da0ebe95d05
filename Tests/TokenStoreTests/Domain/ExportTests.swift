import Foundation
import Testing
@testable import TokenStore

private typealias F = DomainFixture

/// DOMAIN.md "Export": the per-user JSON shape.
@Suite struct ExportTests {
    private func tokens(_ export: [String: Any]) throws -> [[String: Any]] {
        try #require(export["push_tokens"] as? [[String: Any]], "push_tokens missing or not an array of objects")
    }

    @Test func exportHasDomainsJSONShape() throws {
        try F.withStore { store throws in
            let token = F.apnsToken(1)
            try store.setSubscription(userID: "kim", subscription: .optedIn, at: F.t0)   // 2026-11-28T10:00:00Z
            try store.register(F.reg("kims-phone", "app-id", token, .ios, .foreground, user: "kim", at: F.t0 + 1))
            let json = try #require(try store.exportJSON(userID: "kim"))
            let export = try F.parseExport(json)
            #expect(export["external_id"] as? String == "kim")
            #expect(export["push_subscribe"] as? String == "opted_in")
            let optedIn = try #require(export["push_opted_in_at"] as? String, "push_opted_in_at missing")
            #expect(F.parseISO8601(optedIn) == F.t0, "push_opted_in_at \(optedIn) is not 2026-11-28T10:00:00Z")
            #expect(optedIn.hasPrefix("2026-11-28T10:00:00"))
            #expect(optedIn.hasSuffix("Z"))
            let list = try tokens(export)
            #expect(list.count == 1)
            let entry = try #require(list.first)
            #expect(entry["app"] as? String == "app-id")
            #expect(entry["platform"] as? String == "ios")
            #expect(entry["token"] as? String == token)
            #expect(entry["device_id"] as? String == "kims-phone")
            #expect(entry["notifications_enabled"] as? Bool == true)
            // A real JSON boolean, not 1 or "true".
            #expect(json.range(of: #""notifications_enabled"\s*:\s*true"#, options: .regularExpression) != nil,
                    "notifications_enabled is not the JSON literal true: \(json)")
        }
    }

    @Test func aQuarantinedForegroundTokenIsNeitherNotificationsEnabledNorForeground() throws {
        try F.withStore(shards: 4, quarantine: true) { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(2), .ios, .foreground, user: "ann", at: F.t0))
            #expect(try store.registeredFor(userID: "ann") == ["Foreground: app"])
            #expect(try store.bounce(token: F.apnsToken(2), errorCode: "MismatchSenderId", at: F.t0 + 1).outcome == .quarantined)
            let export = try F.parseExport(try #require(try store.exportJSON(userID: "ann")))
            #expect(try tokens(export).first?["notifications_enabled"] as? Bool == false)
            #expect(try store.registeredFor(userID: "ann") == ["Background: app"])
        }
    }

    @Test(arguments: [(Authorization.foreground, true), (.provisional, true), (.background, false)])
    func notificationsEnabledFollowsTheAuthorization(authorization: Authorization, enabled: Bool) throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(2), .ios, authorization, user: "ann", at: F.t0))
            let export = try F.parseExport(try #require(try store.exportJSON(userID: "ann")))
            #expect(try tokens(export).first?["notifications_enabled"] as? Bool == enabled)
        }
    }

    @Test func exportListsEveryTokenOfTheUserWithItsPlatform() throws {
        try F.withStore(shards: 4) { store throws in
            try store.register(F.reg("iphone", "app", F.apnsToken(3), .ios, .foreground, user: "ann", at: F.t0))
            try store.register(F.reg("pixel", "app", F.fcmToken(4), .android, .background, user: "ann", at: F.t0))
            try store.register(F.reg("laptop", "site", F.webToken(5), .web, .foreground, user: "ann", at: F.t0))
            try store.register(F.reg("other", "app", F.apnsToken(6), .ios, .foreground, user: "bob", at: F.t0))
            let list = try tokens(try F.parseExport(try #require(try store.exportJSON(userID: "ann"))))
            let byDevice = Dictionary(uniqueKeysWithValues: list.compactMap { entry in
                (entry["device_id"] as? String).map { ($0, entry) }
            })
            #expect(Set(byDevice.keys) == ["iphone", "pixel", "laptop"])
            #expect(byDevice["iphone"]?["platform"] as? String == "ios")
            #expect(byDevice["pixel"]?["platform"] as? String == "android")
            #expect(byDevice["pixel"]?["notifications_enabled"] as? Bool == false)
            #expect(byDevice["laptop"]?["platform"] as? String == "web")
            #expect(byDevice["laptop"]?["app"] as? String == "site")
            // The Web Push token is itself JSON text; it must round-trip as a string.
            #expect(byDevice["laptop"]?["token"] as? String == F.webToken(5))
            #expect(byDevice["pixel"]?["token"] as? String == F.fcmToken(4))
        }
    }

    @Test func aUserWithoutTokensExportsAnEmptyList() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(7), user: "ann", at: F.t0))
            try store.uninstall(deviceID: "phone", appID: "app", at: F.t0 + 1)
            let export = try F.parseExport(try #require(try store.exportJSON(userID: "ann")))
            #expect(export["external_id"] as? String == "ann")
            #expect(export["push_subscribe"] as? String == "subscribed")
            #expect(try tokens(export).isEmpty)
            // Never opted in: the time is absent or null.
            #expect(export["push_opted_in_at"] == nil || export["push_opted_in_at"] is NSNull)
        }
    }

    @Test func anUnknownUserHasNoExport() throws {
        try F.withStore { store throws in
            #expect(try store.exportJSON(userID: "nobody") == nil)
        }
    }

    @Test(arguments: [Subscription.subscribed, .optedIn, .unsubscribed])
    func pushSubscribeUsesTheDomainNames(state: Subscription) throws {
        try F.withStore { store throws in
            try store.setSubscription(userID: "ann", subscription: state, at: F.t0)
            let export = try F.parseExport(try #require(try store.exportJSON(userID: "ann")))
            #expect(export["push_subscribe"] as? String == state.description)
        }
    }

    @Test func optedInAtStaysAfterALaterUnsubscribe() throws {
        try F.withStore { store throws in
            try store.setSubscription(userID: "ann", subscription: .optedIn, at: F.t0)
            try store.setSubscription(userID: "ann", subscription: .unsubscribed, at: F.t0 + F.day)
            let state = try #require(try store.user(userID: "ann"))
            #expect(state.optedInAt == F.t0)
            #expect(state.unsubscribedAt == F.t0 + F.day)
            let export = try F.parseExport(try #require(try store.exportJSON(userID: "ann")))
            #expect(export["push_subscribe"] as? String == "unsubscribed")
            #expect((export["push_opted_in_at"] as? String).flatMap(F.parseISO8601) == F.t0)
        }
    }

    @Test func idsAndTokensWithJSONSpecialCharactersAreEscaped() throws {
        try F.withStore { store throws in
            let user = "ann \"the\" \\admin\\ \u{1F600} é\ttab\nline\u{1}"
            let device = "device/\"quoted\"\u{7F}"
            let app = "app<script>&'"
            let token = "tok\"en\\with\u{2028}separators"
            try store.register(F.reg(device, app, token, .web, .foreground, user: user, at: F.t0))
            let json = try #require(try store.exportJSON(userID: user))
            let export = try F.parseExport(json)
            #expect(export["external_id"] as? String == user)
            let entry = try #require(try tokens(export).first)
            #expect(entry["device_id"] as? String == device)
            #expect(entry["app"] as? String == app)
            #expect(entry["token"] as? String == token)
        }
    }

    @Test func exportSurvivesReopen() throws {
        try F.withDirectory { path throws in
            let options = F.options(shards: 4)
            var store = try TokenStore(path: path, options: options)
            try store.setSubscription(userID: "kim", subscription: .optedIn, at: F.t0)
            try store.register(F.reg("phone", "app", F.apnsToken(8), .ios, .provisional, user: "kim", at: F.t0))
            let before = try F.parseExport(try #require(try store.exportJSON(userID: "kim")))
            store = try F.reopen(store, options: options)
            defer { try? store.close() }
            let after = try F.parseExport(try #require(try store.exportJSON(userID: "kim")))
            #expect(NSDictionary(dictionary: before).isEqual(to: after))
        }
    }
}
