import Foundation
import Testing
@testable import TokenStore

private typealias F = DomainFixture

/// A store filled by a random workload for the campaign suites: registrations on every
/// platform and authorization (provisional and background included), logins and logouts,
/// authorization and subscription changes (unsubscribed users included), quarantining,
/// removing and kept bounces, uninstalls, and users who never own a token.
struct CampaignWorkload {
    static let apps = ["app-a", "app-b", "app-c"]
    static let devices = (0..<60).map { "device-\($0)" }
    static let users = (0..<20).map { "user-\($0)" }
    /// Users who only ever get a subscription state: they exist but own no token.
    static let usersWithoutTokens = ["lonely-0", "lonely-1", "lonely-2"]
    /// An app no token is registered for.
    static let unknownApp = "app-unknown"

    /// Every segment, the per-app one for every app and the unknown one.
    static var segments: [Segment] { F.segments(apps: apps + [unknownApp]) }

    /// Runs `steps` random operations from `seed` on `store`, which quarantines misconfiguration bounces.
    static func fill(_ store: TokenStore, seed: UInt64, steps: Int = 2500) throws {
        var rng = DomainRNG(seed: seed &* 0x2545_F491_4F6C_DD1D &+ 1)
        var tokens: [String] = []
        for step in 0..<steps {
            let at = F.t0 + Int64(step) * F.minute
            let device = rng.pick(devices), app = rng.pick(apps)
            let user: String? = rng.chance(10) ? nil : rng.pick(users)
            switch rng.int(10) {
            case 0...3:
                let platform = rng.pick(Platform.allCases)
                let token = F.token(for: platform, step)
                tokens.append(token)
                try store.register(F.reg(device, app, token, platform, rng.pick(Authorization.allCases), user: user, at: at))
            case 4:
                _ = try? store.changeUser(deviceID: device, appID: app, userID: user, at: at)
            case 5:
                _ = try? store.setAuthorization(deviceID: device, appID: app, authorization: rng.pick(Authorization.allCases), at: at)
            case 6:
                try store.setSubscription(userID: rng.pick(users), subscription: rng.pick(Subscription.allCases), at: at)
            case 7 where !tokens.isEmpty:
                // Recent tokens are more often still live.
                let token = tokens[tokens.count - 1 - rng.int(min(tokens.count, 30))]
                _ = try? store.bounce(token: token, errorCode: rng.pick(["MismatchSenderId", "429", "Unregistered"]), at: at)
            case 8:
                _ = try? store.uninstall(deviceID: device, appID: app, at: at)
            default:
                break
            }
        }
        for (i, user) in usersWithoutTokens.enumerated() {
            try store.setSubscription(userID: user, subscription: Subscription.allCases[i % 3], at: F.t0)
        }
    }

    /// Records an issue unless the store holds every case the campaign rules distinguish, so
    /// that a comparison on it cannot pass vacuously.
    static func expectEveryCase(_ store: TokenStore, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let statistics = try store.statistics()
        #expect(statistics.quarantined > 0, "no quarantined token", sourceLocation: sourceLocation)
        #expect((statistics.byAuthorization[.provisional] ?? 0) > 0, "no provisional token", sourceLocation: sourceLocation)
        #expect((statistics.byAuthorization[.background] ?? 0) > 0, "no background token", sourceLocation: sourceLocation)
        #expect(try store.count(.subscription(.unsubscribed)) > 0, "no unsubscribed user", sourceLocation: sourceLocation)
        #expect(try store.tokens(userID: usersWithoutTokens[0]).isEmpty && store.user(userID: usersWithoutTokens[0]) != nil,
                "no user without tokens", sourceLocation: sourceLocation)
        var owned = 0, anonymous = 0
        try store.forEachRecord { view in
            if view.userID.isEmpty { anonymous += 1 } else { owned += 1 }
            return true
        }
        #expect(owned > 0 && anonymous > 0, "owned \(owned), anonymous \(anonymous)", sourceLocation: sourceLocation)
    }
}

extension TokenRecord {
    /// A total order for comparing record sets whatever order they were streamed in.
    static func sorted(_ records: [TokenRecord]) -> [TokenRecord] {
        records.sorted { ($0.deviceID, $0.appID, $0.token) < ($1.deviceID, $1.appID, $1.token) }
    }
}
