import Foundation
import Testing
@testable import TokenStore

private typealias F = DomainFixture

/// Users who hold many tokens (a placeholder "guest" for anonymous devices): every write
/// keeps the user's entries, counts and segment membership exact, and no count caps them.
@Suite struct LargeUserTests {
    /// A model of one user's keys: key number → (visible, quarantined).
    private struct Model {
        var keys: [Int: (visible: Bool, quarantined: Bool)] = [:]
        var visible: Bool { keys.values.contains { $0.visible && !$0.quarantined } }
        var reachable: Bool { keys.values.contains { !$0.quarantined } }
    }

    @Test func randomWritesToOneUserKeepItsEntriesAndMembershipExact() throws {
        try F.withStore(shards: 4, quarantine: true) { store throws in
            var model = Model()
            var random = SystemRandomNumberGenerator()
            var at = F.t0
            let apps = ["app-a", "app-b", "app-c"]
            func device(_ k: Int) -> String { "device-\(k)" }
            func app(_ k: Int) -> String { apps[k % apps.count] }
            for step in 0..<3_000 {
                at += 1
                let k = Int.random(in: 0..<400, using: &random)
                switch Int.random(in: 0..<5, using: &random) {
                case 0, 1:
                    let auth: Authorization = Bool.random(using: &random) ? .foreground : .background
                    try store.register(F.reg(device(k), app(k), "token-\(k)-\(step)", .ios, auth, user: "guest", at: at))
                    model.keys[k] = (auth == .foreground, false)
                case 2 where model.keys[k] != nil:
                    try store.changeUser(deviceID: device(k), appID: app(k), userID: "other-\(k)", at: at)
                    model.keys[k] = nil
                case 3 where model.keys[k] != nil:
                    let visible = Bool.random(using: &random)
                    try store.setAuthorization(deviceID: device(k), appID: app(k), authorization: visible ? .foreground : .background, at: at)
                    model.keys[k]!.visible = visible
                case 4 where model.keys[k] != nil:
                    let token = try #require(try store.token(deviceID: device(k), appID: app(k))).token
                    _ = try store.bounce(token: token, errorCode: "MismatchSenderId", at: at)  // misconfigured: quarantines
                    model.keys[k]!.quarantined = true
                default:
                    break
                }
            }
            let devices = Set(try store.tokens(userID: "guest").map(\.deviceID))
            #expect(devices == Set(model.keys.keys.map(device)))
            #expect(try store.users(in: .foregroundPushEnabled).contains("guest") == model.visible)
            #expect(try store.users(in: .backgroundOrForegroundPushEnabled).contains("guest") == model.reachable)
            for (i, name) in apps.enumerated() {
                let expected = model.keys.contains { $0.key % apps.count == i && $0.value.visible && !$0.value.quarantined }
                #expect(try store.users(in: .foregroundPushEnabledForApp(name)).contains("guest") == expected, "\(name)")
            }
            #expect(try store.verify() == [])
        }
    }

    @Test func aUserMayHoldMoreThanSixtyFiveThousandTokens() throws {
        var options = F.options(shards: 1, changelogLimit: 1)
        options.durability = .none
        let path = TemporaryStorePath()
        let count = 66_000
        do {
            let store = try TokenStore(path: path.path, options: options)
            for i in 0..<count {
                try store.register(F.reg("device-\(i)", "app", "token-\(i)", .android, .foreground, user: "guest", at: F.t0 + Int64(i)))
            }
            try store.changeUser(deviceID: "device-7", appID: "app", userID: "kim", at: F.t0 + Int64(count))
            #expect(try store.registeredFor(userID: "guest").count == count - 1)
            try store.close()
        }
        let reopened = try TokenStore(path: path.path, options: options)
        #expect(try reopened.registeredFor(userID: "guest").count == count - 1)
        #expect(try reopened.verify() == [])
        try reopened.close()
    }
}
