import Foundation
import Testing
@testable import TokenStore

private typealias F = DomainFixture
private typealias W = CampaignWorkload

/// `forEachCampaignToken` / `campaignTokens`: a segment's sendable tokens in one pass, equal to
/// the composition of today's calls (the segment's users, then each one's sendable tokens).
@Suite struct CampaignTests {
    /// The composition a sender writes without the one-pass call.
    private func composition(_ store: TokenStore, _ segment: Segment, app: String, kind: PushKind) throws -> [TokenRecord] {
        try store.users(in: segment).flatMap { try store.sendableTokens(userID: $0, appID: app, kind: kind) }
    }

    @Test(arguments: [(seed: UInt64(1), shards: 4), (2, 4), (3, 64), (4, 1)])
    func campaignTokensEqualTheSegmentUsersSendableTokensForEverySegmentKindAndApp(seed: UInt64, shards: Int) throws {
        try F.withStore(shards: shards, quarantine: true) { store throws in
            try W.fill(store, seed: seed)
            try W.expectEveryCase(store)
            var streamed = 0
            for segment in W.segments {
                for kind in [PushKind.visible, .silent] {
                    for app in W.apps + [W.unknownApp] {
                        let onePass = try store.campaignTokens(in: segment, appID: app, kind: kind)
                        let composed = try composition(store, segment, app: app, kind: kind)
                        #expect(TokenRecord.sorted(onePass) == TokenRecord.sorted(composed), "\(segment), \(kind), \(app)")
                        #expect(Set(onePass.map(\.token)).count == onePass.count, "a token came twice: \(segment), \(kind), \(app)")
                        streamed += onePass.count
                    }
                }
            }
            #expect(streamed > 100, "the comparisons compared almost nothing: \(streamed) tokens")
        }
    }

    @Test func aCampaignStillEqualsTheCompositionAfterAReopen() throws {
        try F.withDirectory { path throws in
            let options = F.options(shards: 4, quarantine: true)
            var store = try TokenStore(path: path, options: options)
            try W.fill(store, seed: 7, steps: 800)
            store = try F.reopen(store, options: options)
            defer { try? store.close() }
            let onePass = try store.campaignTokens(in: .backgroundOrForegroundPushEnabled, appID: W.apps[0], kind: .visible)
            let composed = try composition(store, .backgroundOrForegroundPushEnabled, app: W.apps[0], kind: .visible)
            #expect(!onePass.isEmpty)
            #expect(TokenRecord.sorted(onePass) == TokenRecord.sorted(composed))
        }
    }

    @Test func visiblePushesSkipUnsubscribedBackgroundAndQuarantinedTokensAndSilentPushesOnlyQuarantinedOnes() throws {
        try F.withStore(shards: 4, quarantine: true) { store throws in
            try store.register(F.reg("ann-phone", "app", F.apnsToken(1), .ios, .foreground, user: "ann", at: F.t0))
            try store.register(F.reg("ann-pad", "app", F.apnsToken(2), .ios, .provisional, user: "ann", at: F.t0))
            try store.register(F.reg("bob-phone", "app", F.fcmToken(3), .android, .foreground, user: "bob", at: F.t0))
            try store.setSubscription(userID: "bob", subscription: .unsubscribed, at: F.t0)
            try store.register(F.reg("cat-phone", "app", F.fcmToken(4), .android, .background, user: "cat", at: F.t0))
            try store.register(F.reg("dan-phone", "app", F.apnsToken(5), .ios, .foreground, user: "dan", at: F.t0))
            #expect(try store.bounce(token: F.apnsToken(5), errorCode: "MismatchSenderId", at: F.t0 + 1).outcome == .quarantined)
            try store.register(F.reg("eve-phone", "other", F.apnsToken(6), .ios, .foreground, user: "eve", at: F.t0))

            let everyone = Segment.subscription(.subscribed)
            let visible = try store.campaignTokens(in: .backgroundOrForegroundPushEnabled, appID: "app", kind: .visible)
            #expect(Set(visible.map(\.deviceID)) == ["ann-phone", "ann-pad"])
            let silentToSubscribed = try store.campaignTokens(in: everyone, appID: "app", kind: .silent)
            #expect(Set(silentToSubscribed.map(\.deviceID)) == ["ann-phone", "ann-pad", "cat-phone"])
            // Silent pushes ignore the subscription: the unsubscribed segment still gets them.
            let silentToUnsubscribed = try store.campaignTokens(in: .subscription(.unsubscribed), appID: "app", kind: .silent)
            #expect(silentToUnsubscribed.map(\.deviceID) == ["bob-phone"])
        }
    }

    @Test func aCampaignStopsWhenTheClosureReturnsFalse() throws {
        try F.withStore(shards: 4) { store throws in
            for n in 0..<200 {
                try store.register(F.reg("device-\(n)", "app", F.apnsToken(n), .ios, .foreground, user: "user-\(n)", at: F.t0))
            }
            var calls = 0
            try store.forEachCampaignToken(in: .foregroundPushEnabled, appID: "app", kind: .visible) { _ in
                calls += 1
                return calls < 70
            }
            #expect(calls == 70)
        }
    }

    @Test func aCampaignWithABadAppIDThrowsBeforeAnyToken() throws {
        try F.withStore(shards: 4) { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(1), user: "kim", at: F.t0))
            var calls = 0
            for (app, code) in [("", TokenStoreError.Code.invalidArgument), ("a\u{0}b", .invalidArgument),
                                (String(repeating: "a", count: Limits.maxAppIDBytes + 1), .tooLarge)] {
                F.expectCode(code, "for campaign app \(app.utf8.count) bytes") {
                    try store.forEachCampaignToken(in: .foregroundPushEnabled, appID: app, kind: .visible) { _ in calls += 1; return true }
                }
                F.expectCode(code, "for segment app \(app.utf8.count) bytes") {
                    try store.forEachCampaignToken(in: .foregroundPushEnabledForApp(app), appID: "app", kind: .visible) { _ in
                        calls += 1
                        return true
                    }
                }
            }
            #expect(calls == 0)
        }
    }

    @Test func aClosedStoreRefusesACampaign() throws {
        try F.withDirectory { path throws in
            let store = try TokenStore(path: path, options: F.options(shards: 4))
            try store.close()
            F.expectCode(.closed) { _ = try store.campaignTokens(in: .foregroundPushEnabled, appID: "app", kind: .visible) }
        }
    }
}
