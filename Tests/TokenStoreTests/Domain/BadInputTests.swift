import Foundation
import Testing
@testable import TokenStore

private typealias F = DomainFixture

/// The bad-input rule: a typed error, and nothing changes.
@Suite struct BadInputTests {
    private static let apps = ["app", "other"]

    /// Runs `body` against a populated store and checks that nothing changed afterwards.
    private func rejecting(
        _ code: TokenStoreError.Code, _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: (TokenStore) throws -> Void
    ) throws {
        try F.withStore(shards: 4, quarantine: true) { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(1), .ios, .foreground, user: "ann", at: F.t0))
            try store.register(F.reg("pixel", "other", F.fcmToken(2), .android, .background, user: "bob", at: F.t0))
            try store.setSubscription(userID: "bob", subscription: .optedIn, at: F.t0)
            _ = try store.bounce(token: F.fcmToken(2), errorCode: "503", at: F.t0)
            let before = try DomainSnapshot(store, apps: Self.apps)
            F.expectCode(code, what, sourceLocation: sourceLocation) { try body(store) }
            let after = try DomainSnapshot(store, apps: Self.apps)
            #expect(after == before, "\(what) changed the store", sourceLocation: sourceLocation)
        }
    }

    static func long(_ n: Int) -> String { String(repeating: "x", count: n) }

    @Test func emptyIDsAreInvalid() throws {
        try rejecting(.invalidArgument, "empty device") { try $0.register(F.reg("", "app", "tok", at: F.t0 + 1)) }
        try rejecting(.invalidArgument, "empty app") { try $0.register(F.reg("d", "", "tok", at: F.t0 + 1)) }
        try rejecting(.invalidArgument, "empty token") { try $0.register(F.reg("d", "app", "", at: F.t0 + 1)) }
        try rejecting(.invalidArgument, "empty user") { try $0.register(F.reg("d", "app", "tok", user: "", at: F.t0 + 1)) }
        try rejecting(.invalidArgument, "changeUser empty device") {
            try $0.changeUser(deviceID: "", appID: "app", userID: "kim", at: F.t0 + 1)
        }
        try rejecting(.invalidArgument, "changeUser empty app") {
            try $0.changeUser(deviceID: "phone", appID: "", userID: "kim", at: F.t0 + 1)
        }
        try rejecting(.invalidArgument, "changeUser empty user") {
            try $0.changeUser(deviceID: "phone", appID: "app", userID: "", at: F.t0 + 1)
        }
        try rejecting(.invalidArgument, "setAuthorization empty device") {
            try $0.setAuthorization(deviceID: "", appID: "app", authorization: .background, at: F.t0 + 1)
        }
        try rejecting(.invalidArgument, "setSubscription empty user") {
            try $0.setSubscription(userID: "", subscription: .unsubscribed, at: F.t0 + 1)
        }
        try rejecting(.invalidArgument, "bounce empty token") {
            _ = try $0.bounce(token: "", errorCode: "Unregistered", at: F.t0 + 1)
        }
        try rejecting(.invalidArgument, "bounce empty code") {
            _ = try $0.bounce(token: F.apnsToken(1), errorCode: "", at: F.t0 + 1)
        }
        try rejecting(.invalidArgument, "uninstall empty app") { try $0.uninstall(deviceID: "phone", appID: "", at: F.t0 + 1) }
    }

    @Test func aTokenLongerThanTheLimitIsTooLargeAndOneAtTheLimitIsAccepted() throws {
        let limit = Limits.maxTokenBytes
        try rejecting(.tooLarge, "token of \(limit + 1) bytes") {
            try $0.register(F.reg("d", "app", Self.long(limit + 1), .web, at: F.t0 + 1))
        }
        try rejecting(.tooLarge, "bounce with an oversize token") {
            _ = try $0.bounce(token: Self.long(limit + 1), errorCode: "410", at: F.t0 + 1)
        }
        try F.withStore { store throws in
            let token = Self.long(limit)
            #expect(try store.register(F.reg("d", "app", token, .web, user: "ann", at: F.t0)) == .applied)
            #expect(try store.token(deviceID: "d", appID: "app")?.token == token)
        }
    }

    @Test func idsLongerThanTheirLimitsAreTooLarge() throws {
        try rejecting(.tooLarge, "device id") {
            try $0.register(F.reg(Self.long(Limits.maxDeviceIDBytes + 1), "app", "tok", at: F.t0 + 1))
        }
        try rejecting(.tooLarge, "app id") {
            try $0.register(F.reg("d", Self.long(Limits.maxAppIDBytes + 1), "tok", at: F.t0 + 1))
        }
        try rejecting(.tooLarge, "user id") {
            try $0.register(F.reg("d", "app", "tok", user: Self.long(Limits.maxUserIDBytes + 1), at: F.t0 + 1))
        }
        try rejecting(.tooLarge, "setSubscription user id") {
            try $0.setSubscription(userID: Self.long(Limits.maxUserIDBytes + 1), subscription: .optedIn, at: F.t0 + 1)
        }
        try rejecting(.tooLarge, "changeUser user id") {
            try $0.changeUser(deviceID: "phone", appID: "app", userID: Self.long(Limits.maxUserIDBytes + 1), at: F.t0 + 1)
        }
        try rejecting(.tooLarge, "error code") {
            _ = try $0.bounce(token: F.apnsToken(1), errorCode: Self.long(Limits.maxErrorCodeBytes + 1), at: F.t0 + 1)
        }
        // Limits count UTF-8 bytes, not characters: 129 × "é" is 258 bytes.
        try rejecting(.tooLarge, "multi-byte device id") {
            try $0.register(F.reg(String(repeating: "é", count: 129), "app", "tok", at: F.t0 + 1))
        }
    }

    @Test func idsExactlyAtTheirLimitsAreAccepted() throws {
        try F.withStore { store throws in
            let device = Self.long(Limits.maxDeviceIDBytes), app = Self.long(Limits.maxAppIDBytes)
            let user = String(repeating: "é", count: Limits.maxUserIDBytes / 2)
            try store.register(F.reg(device, app, "tok", user: user, at: F.t0))
            #expect(try store.token(deviceID: device, appID: app)?.userID == user)
            let code = Self.long(Limits.maxErrorCodeBytes)
            #expect(try store.bounce(token: "tok", errorCode: code, at: F.t0 + 1).category == .unknown)
        }
    }

    @Test func stringsWithNULBytesAreInvalid() throws {
        try rejecting(.invalidArgument, "NUL in device") { try $0.register(F.reg("ph\u{0}one", "app", "tok", at: F.t0 + 1)) }
        try rejecting(.invalidArgument, "NUL in app") { try $0.register(F.reg("d", "app\u{0}", "tok", at: F.t0 + 1)) }
        try rejecting(.invalidArgument, "NUL in token") { try $0.register(F.reg("d", "app", "\u{0}tok", at: F.t0 + 1)) }
        try rejecting(.invalidArgument, "NUL in user") {
            try $0.register(F.reg("d", "app", "tok", user: "ann\u{0}evil", at: F.t0 + 1))
        }
        try rejecting(.invalidArgument, "NUL in subscription user") {
            try $0.setSubscription(userID: "a\u{0}", subscription: .optedIn, at: F.t0 + 1)
        }
        try rejecting(.invalidArgument, "NUL in error code") {
            _ = try $0.bounce(token: F.apnsToken(1), errorCode: "Unregistered\u{0}", at: F.t0 + 1)
        }
    }

    @Test func missingKeysAreNotFoundAndChangeNothing() throws {
        try rejecting(.notFound, "changeUser on an empty key") {
            try $0.changeUser(deviceID: "nowhere", appID: "app", userID: "kim", at: F.t0 + 1)
        }
        try rejecting(.notFound, "setAuthorization on an empty key") {
            try $0.setAuthorization(deviceID: "phone", appID: "other", authorization: .background, at: F.t0 + 1)
        }
        try rejecting(.notFound, "uninstall of an empty key") { try $0.uninstall(deviceID: "nowhere", appID: "app", at: F.t0 + 1) }
        try rejecting(.notFound, "bounce of an unknown token") {
            _ = try $0.bounce(token: F.apnsToken(999), errorCode: "BadDeviceToken", at: F.t0 + 1)
        }
    }

    @Test func invalidOptionsAreRejectedAtOpen() throws {
        for (shards, limit) in [(0, 64), (3, 64), (8192, 64), (64, 0), (64, 4097)] {
            try F.withDirectory { path throws in
                var options = F.options(shards: shards, changelogLimit: limit)
                options.mustExist = false
                F.expectCode(.invalidArgument, "shards \(shards), changelogLimit \(limit)") {
                    let store = try TokenStore(path: path, options: options)
                    try? store.close()
                }
            }
        }
    }

    @Test func unknownEnumRawValuesAndNamesAreRejected() {
        #expect(Platform(rawValue: 0) == nil)
        #expect(Platform(rawValue: 4) == nil)
        #expect(Authorization(rawValue: 0) == nil)
        #expect(Authorization(rawValue: 4) == nil)
        #expect(Subscription(rawValue: 0) == nil)
        #expect(Subscription(rawValue: 4) == nil)
        #expect(ChangeKind(rawValue: 0) == nil)
        #expect(ChangeKind(rawValue: 10) == nil)
        #expect(BounceOutcome(rawValue: 5) == nil)
        #expect(BounceCategory(rawValue: 6) == nil)
        #expect(Platform(name: "iOS") == nil)
        #expect(Platform(name: "") == nil)
        #expect(Authorization(name: "Foreground") == nil)
        #expect(Subscription(name: "optedIn") == nil)
        #expect(Subscription(name: "opted_in") == .optedIn)
    }

    @Test func callsAfterCloseThrowClosed() throws {
        try F.withDirectory { path throws in
            let store = try TokenStore(path: path, options: F.options())
            try store.register(F.reg("phone", "app", F.apnsToken(1), user: "ann", at: F.t0))
            try store.close()
            F.expectCode(.closed, "register") { try store.register(F.reg("phone", "app", F.apnsToken(1), at: F.t0 + 1)) }
            F.expectCode(.closed, "token") { _ = try store.token(deviceID: "phone", appID: "app") }
            F.expectCode(.closed, "count") { _ = try store.count(.foregroundPushEnabled) }
            F.expectCode(.closed, "changelog") { _ = try store.changelog(userID: "ann") }
        }
    }
}

/// The byte-level writes (what the C ABI calls): the same rules as the `String` writes, plus
/// the UTF-8 check that a `String` would have made.
@Suite struct ByteWriteTests {
    private static let apps = ["app"]

    private static func withBytes<R>(_ s: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try s.withUnsafeBytes(body)
    }

    @Test func everyByteWriteRefusesBytesThatAreNotUTF8AndChangesNothing() throws {
        let bad: [UInt8] = [0x61, 0xC3, 0x28]  // "a" then a broken two-byte sequence
        let good = Array("phone".utf8), app = Array("app".utf8), token = Array(F.apnsToken(1).utf8)
        try F.withStore(shards: 4) { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(1), .ios, .foreground, user: "ann", at: F.t0))
            let before = try DomainSnapshot(store, apps: Self.apps)
            try Self.withBytes(bad) { b in
                try Self.withBytes(good) { d in
                    try Self.withBytes(app) { a in
                        try Self.withBytes(token) { t in
                            let at = F.t0 + 1
                            F.expectCode(.invalidArgument, "register device") {
                                try store.register(deviceID: b, appID: a, token: t, platform: .ios, authorization: .foreground, userID: nil, at: at)
                            }
                            F.expectCode(.invalidArgument, "register token") {
                                try store.register(deviceID: d, appID: a, token: b, platform: .ios, authorization: .foreground, userID: nil, at: at)
                            }
                            F.expectCode(.invalidArgument, "register user") {
                                try store.register(deviceID: d, appID: a, token: t, platform: .ios, authorization: .foreground, userID: b, at: at)
                            }
                            F.expectCode(.invalidArgument, "changeUser") { try store.changeUser(deviceID: d, appID: a, userID: b, at: at) }
                            F.expectCode(.invalidArgument, "setAuthorization") {
                                try store.setAuthorization(deviceID: d, appID: b, authorization: .background, at: at)
                            }
                            F.expectCode(.invalidArgument, "setSubscription") {
                                try store.setSubscription(userID: b, subscription: .unsubscribed, at: at)
                            }
                            F.expectCode(.invalidArgument, "bounce token") { _ = try store.bounce(token: b, errorCode: a, at: at) }
                            F.expectCode(.invalidArgument, "bounce code") { _ = try store.bounce(token: t, errorCode: b, at: at) }
                            F.expectCode(.invalidArgument, "uninstall") { try store.uninstall(deviceID: b, appID: a, at: at) }
                        }
                    }
                }
            }
            #expect(try DomainSnapshot(store, apps: Self.apps) == before)
        }
    }

    @Test func byteWritesDoWhatTheStringWritesDo() throws {
        func run(_ bytes: Bool, _ store: TokenStore) throws {
            let token = F.apnsToken(7)
            func b(_ s: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws { try Array(s.utf8).withUnsafeBytes(body) }
            if bytes {
                try b("phone") { d in try b("app") { a in try b(token) { t in try b("ann") { u in try b("bob") { v in try b("410") { c in
                    try store.register(deviceID: d, appID: a, token: t, platform: .ios, authorization: .foreground, userID: u, at: F.t0)
                    try store.changeUser(deviceID: d, appID: a, userID: v, at: F.t0 + 1)
                    try store.setAuthorization(deviceID: d, appID: a, authorization: .background, at: F.t0 + 2)
                    try store.setSubscription(userID: v, subscription: .optedIn, at: F.t0 + 3)
                    try store.changeUser(deviceID: d, appID: a, userID: nil, at: F.t0 + 4)
                    _ = try store.bounce(token: t, errorCode: c, at: F.t0 + 5)
                } } } } } }
            } else {
                try store.register(F.reg("phone", "app", token, .ios, .foreground, user: "ann", at: F.t0))
                try store.changeUser(deviceID: "phone", appID: "app", userID: "bob", at: F.t0 + 1)
                try store.setAuthorization(deviceID: "phone", appID: "app", authorization: .background, at: F.t0 + 2)
                try store.setSubscription(userID: "bob", subscription: .optedIn, at: F.t0 + 3)
                try store.changeUser(deviceID: "phone", appID: "app", userID: nil, at: F.t0 + 4)
                _ = try store.bounce(token: token, errorCode: "410", at: F.t0 + 5)
            }
        }
        var snapshots: [DomainSnapshot] = []
        var changelogs: [[String]] = []
        for bytes in [false, true] {
            try F.withStore(shards: 4) { store throws in
                try run(bytes, store)
                snapshots.append(try DomainSnapshot(store, apps: Self.apps))
                changelogs.append(try ["ann", "bob"].flatMap { u in try store.changelog(userID: u).map { "\(u) \($0)" } })
                #expect(try store.verify() == [])
            }
        }
        #expect(snapshots[0] == snapshots[1])
        #expect(changelogs[0] == changelogs[1])
        #expect(!changelogs[0].isEmpty)
    }
}

extension ByteWriteTests {
    @Test func bytesThatAreNotUTF8AreInvalidEvenOnAClosedStore() throws {
        let path = TemporaryStorePath()
        let store = try TokenStore(path: path.path, options: F.options(shards: 1))
        try store.close()
        let bad: [UInt8] = [0xFF, 0x61], good = Array("app".utf8)
        try bad.withUnsafeBytes { b in
            try good.withUnsafeBytes { a in
                F.expectCode(.invalidArgument, "changeUser") { try store.changeUser(deviceID: b, appID: a, userID: nil, at: F.t0) }
                F.expectCode(.closed, "a sound write") { try store.changeUser(deviceID: a, appID: a, userID: nil, at: F.t0) }
            }
        }
    }
}
