import Foundation
import Testing
@testable import TokenStore

private typealias F = DomainFixture

/// DOMAIN.md "Segment filters", "Push registered for" and "Campaign sends".
@Suite struct SegmentTests {
    /// A population covering every row of the filter table.
    private func populate(_ store: TokenStore) throws {
        var n = 0
        func reg(_ device: String, _ app: String, _ auth: Authorization, _ user: String?) throws {
            n += 1
            try store.register(F.reg(device, app, F.apnsToken(n), .ios, auth, user: user, at: F.t0 + Int64(n)))
        }
        try reg("a-phone", "app1", .foreground, "a")                          // subscribed, foreground
        try store.setSubscription(userID: "b", subscription: .unsubscribed, at: F.t0)
        try reg("b-phone", "app1", .foreground, "b")                          // unsubscribed, foreground
        try store.setSubscription(userID: "c", subscription: .optedIn, at: F.t0)
        try reg("c-phone", "app2", .provisional, "c")                         // opted in, provisional
        try reg("d-phone", "app1", .background, "d")                          // subscribed, background only
        try store.setSubscription(userID: "e", subscription: .optedIn, at: F.t0)   // no token at all
        try store.setSubscription(userID: "f", subscription: .unsubscribed, at: F.t0)
        try reg("f-phone", "app2", .background, "f")                          // unsubscribed, background
        try reg("g-phone", "app1", .foreground, "g")                          // foreground app1,
        try reg("g-phone", "app2", .background, "g")                          // background app2
        try reg("h-phone", "app1", .foreground, "h")                          // two devices, one app
        try reg("h-tablet", "app1", .provisional, "h")
        try reg("anon-phone", "app1", .foreground, nil)                       // anonymous token
    }

    @Test(arguments: [4, 64])
    func everyFilterMatchesExactlyAsDomainDefinesIt(shards: Int) throws {
        try F.withStore(shards: shards) { store throws in
            try populate(store)
            #expect(try F.members(store, .foregroundPushEnabledForApp("app1")) == ["a", "b", "g", "h"])
            #expect(try F.members(store, .foregroundPushEnabledForApp("app2")) == ["c"])
            #expect(try F.members(store, .foregroundPushEnabledForApp("app3")).isEmpty)
            #expect(try F.members(store, .foregroundPushEnabled) == ["a", "c", "g", "h"])
            #expect(try F.members(store, .backgroundOrForegroundPushEnabled) == ["a", "c", "d", "g", "h"])
            #expect(try F.members(store, .subscription(.subscribed)) == ["a", "d", "g", "h"])
            #expect(try F.members(store, .subscription(.optedIn)) == ["c", "e"])
            #expect(try F.members(store, .subscription(.unsubscribed)) == ["b", "f"])
        }
    }

    @Test func foregroundPushEnabledForAppIgnoresTheSubscriptionState() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(1), user: "ann", at: F.t0))
            for state in [Subscription.unsubscribed, .optedIn, .subscribed, .unsubscribed] {
                try store.setSubscription(userID: "ann", subscription: state, at: F.t0 + 1)
                #expect(try F.members(store, .foregroundPushEnabledForApp("app")) == ["ann"], "state \(state)")
            }
        }
    }

    @Test func foregroundAndBackgroundFiltersExcludeUnsubscribedUsers() throws {
        try F.withStore(shards: 4) { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(1), user: "ann", at: F.t0))
            #expect(try F.members(store, .foregroundPushEnabled) == ["ann"])
            #expect(try F.members(store, .backgroundOrForegroundPushEnabled) == ["ann"])
            try store.setSubscription(userID: "ann", subscription: .unsubscribed, at: F.t0 + 1)
            #expect(try F.members(store, .foregroundPushEnabled).isEmpty)
            #expect(try F.members(store, .backgroundOrForegroundPushEnabled).isEmpty)
            try store.setSubscription(userID: "ann", subscription: .optedIn, at: F.t0 + 2)
            #expect(try F.members(store, .foregroundPushEnabled) == ["ann"])
            #expect(try F.members(store, .backgroundOrForegroundPushEnabled) == ["ann"])
        }
    }

    @Test func provisionalCountsAsForeground() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(1), .ios, .provisional, user: "ann", at: F.t0))
            #expect(try F.members(store, .foregroundPushEnabledForApp("app")) == ["ann"])
            #expect(try F.members(store, .foregroundPushEnabled) == ["ann"])
            #expect(try store.registeredFor(userID: "ann") == ["Foreground: app"])
            #expect(try store.sendableTokens(userID: "ann", appID: "app", kind: .visible).count == 1)
        }
    }

    @Test func turningNotificationsOffAndOnMovesTheUserOutOfAndBackIntoForegroundSegments() throws {
        try F.withStore(shards: 4) { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(1), user: "ann", at: F.t0))
            try store.setAuthorization(deviceID: "phone", appID: "app", authorization: .background, at: F.t0 + 1)
            #expect(try F.members(store, .foregroundPushEnabledForApp("app")).isEmpty)
            #expect(try F.members(store, .foregroundPushEnabled).isEmpty)
            #expect(try F.members(store, .backgroundOrForegroundPushEnabled) == ["ann"])
            #expect(try store.registeredFor(userID: "ann") == ["Background: app"])
            try store.setAuthorization(deviceID: "phone", appID: "app", authorization: .provisional, at: F.t0 + 2)
            #expect(try F.members(store, .foregroundPushEnabled) == ["ann"])
            try store.setAuthorization(deviceID: "phone", appID: "app", authorization: .foreground, at: F.t0 + 3)
            #expect(try F.members(store, .foregroundPushEnabledForApp("app")) == ["ann"])
            #expect(try store.registeredFor(userID: "ann") == ["Foreground: app"])
        }
    }

    @Test func aUserWithManyTokensIsCountedOnce() throws {
        try F.withStore(shards: 4) { store throws in
            for i in 0..<10 {
                try store.register(F.reg("device-\(i)", i % 2 == 0 ? "app" : "other", F.apnsToken(i), .ios,
                                         i % 3 == 0 ? .background : .foreground, user: "ann", at: F.t0))
            }
            #expect(try store.count(.foregroundPushEnabled) == 1)
            #expect(try store.count(.foregroundPushEnabledForApp("app")) == 1)
            #expect(try store.count(.foregroundPushEnabledForApp("other")) == 1)
            #expect(try store.count(.backgroundOrForegroundPushEnabled) == 1)
            // Removing all but one foreground token keeps her in; removing the last takes her out.
            for i in 0..<10 where i != 4 { _ = try store.uninstall(deviceID: "device-\(i)", appID: i % 2 == 0 ? "app" : "other", at: F.t0 + 1) }
            #expect(try F.members(store, .foregroundPushEnabledForApp("app")) == ["ann"])
            #expect(try F.members(store, .foregroundPushEnabledForApp("other")).isEmpty)
            try store.uninstall(deviceID: "device-4", appID: "app", at: F.t0 + 2)
            #expect(try F.members(store, .foregroundPushEnabled).isEmpty)
            #expect(try F.members(store, .backgroundOrForegroundPushEnabled).isEmpty)
            #expect(try F.members(store, .subscription(.subscribed)) == ["ann"])
        }
    }

    @Test func anonymousTokensBelongToNoSegment() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(1), user: nil, at: F.t0))
            for segment in F.segments(apps: ["app"]) {
                #expect(try F.members(store, segment).isEmpty, "\(segment)")
            }
        }
    }

    @Test func subscriptionSegmentsIncludeUsersWithoutTokens() throws {
        try F.withStore { store throws in
            try store.setSubscription(userID: "ann", subscription: .subscribed, at: F.t0)
            try store.setSubscription(userID: "bob", subscription: .optedIn, at: F.t0)
            try store.setSubscription(userID: "cy", subscription: .unsubscribed, at: F.t0)
            #expect(try F.members(store, .subscription(.subscribed)) == ["ann"])
            #expect(try F.members(store, .subscription(.optedIn)) == ["bob"])
            #expect(try F.members(store, .subscription(.unsubscribed)) == ["cy"])
            #expect(try store.count(.backgroundOrForegroundPushEnabled) == 0)
        }
    }

    @Test func segmentCountsAndMembersSurviveReopen() throws {
        try F.withDirectory { path throws in
            let options = F.options(shards: 4)
            var store = try TokenStore(path: path, options: options)
            try populate(store)
            var before: [Segment: Set<String>] = [:]
            for segment in F.segments(apps: ["app1", "app2"]) { before[segment] = try F.members(store, segment) }
            store = try F.reopen(store, options: options)
            defer { try? store.close() }
            for segment in F.segments(apps: ["app1", "app2"]) {
                #expect(try F.members(store, segment) == before[segment], "\(segment) after reopen")
            }
        }
    }

    @Test func enumerationStopsWhenTheBodyReturnsFalse() throws {
        try F.withStore(shards: 4) { store throws in
            for i in 0..<20 { try store.register(F.reg("d\(i)", "app", F.apnsToken(i), user: "u\(i)", at: F.t0)) }
            var seen = 0
            try store.forEachUser(in: .foregroundPushEnabled) { _ in
                seen += 1
                return seen < 5
            }
            #expect(seen == 5)
        }
    }

    @Test func visiblePushGoesToForegroundAndProvisionalTokensOfUsersNotUnsubscribed() throws {
        try F.withStore { store throws in
            try store.register(F.reg("p1", "app", F.apnsToken(1), .ios, .foreground, user: "ann", at: F.t0))
            try store.register(F.reg("p2", "app", F.apnsToken(2), .ios, .provisional, user: "ann", at: F.t0))
            try store.register(F.reg("p3", "app", F.apnsToken(3), .ios, .background, user: "ann", at: F.t0))
            try store.register(F.reg("p4", "other", F.apnsToken(4), .ios, .foreground, user: "ann", at: F.t0))
            #expect(Set(try store.sendableTokens(userID: "ann", appID: "app", kind: .visible).map(\.token))
                    == [F.apnsToken(1), F.apnsToken(2)])
            #expect(Set(try store.sendableTokens(userID: "ann", appID: "app", kind: .silent).map(\.token))
                    == [F.apnsToken(1), F.apnsToken(2), F.apnsToken(3)])
            try store.setSubscription(userID: "ann", subscription: .unsubscribed, at: F.t0 + 1)
            #expect(try store.sendableTokens(userID: "ann", appID: "app", kind: .visible).isEmpty)
            // A silent push goes to any token, whatever the subscription.
            #expect(try store.sendableTokens(userID: "ann", appID: "app", kind: .silent).count == 3)
            #expect(try store.sendableTokens(userID: "nobody", appID: "app", kind: .silent).isEmpty)
        }
    }

    @Test func pushRegisteredForShowsOneLinePerDevice() throws {
        try F.withStore { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(1), .ios, .foreground, user: "ann", at: F.t0))
            try store.register(F.reg("tablet", "app", F.apnsToken(2), .ios, .background, user: "ann", at: F.t0))
            try store.register(F.reg("laptop", "site", F.webToken(3), .web, .foreground, user: "ann", at: F.t0))
            #expect(try store.registeredFor(userID: "ann").sorted()
                    == ["Background: app", "Foreground: app", "Foreground: site"])
            #expect(try store.registeredFor(userID: "nobody").isEmpty)
        }
    }
}
