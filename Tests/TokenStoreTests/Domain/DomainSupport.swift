import Foundation
import Testing
@testable import TokenStore

/// Shared fixtures for the domain suite. Everything lives in `DomainFixture` so the helpers
/// cannot collide with other test files of the target.
enum DomainFixture {
    /// 2026-11-28T10:00:00Z, in ms since the epoch: the export example's time.
    static let t0: Int64 = 1_795_860_000_000
    static let minute: Int64 = 60_000
    static let hour: Int64 = 3_600_000
    static let day: Int64 = 86_400_000

    /// A fresh, empty directory under the system temp directory.
    static func makeDirectory() -> String {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("tokenstore-domain-\(UUID().uuidString)", isDirectory: true)
        return url.path
    }

    static func options(shards: Int = 64, quarantine: Bool = false, changelogLimit: Int = 64) -> StoreOptions {
        var options = StoreOptions()
        options.shards = shards
        options.quarantineMisconfigured = quarantine
        options.changelogLimit = changelogLimit
        options.durability = .none
        return options
    }

    /// Opens a store in a fresh temp directory, runs `body`, then closes it and removes the directory.
    static func withStore<R>(
        shards: Int = 64, quarantine: Bool = false, changelogLimit: Int = 64,
        _ body: (TokenStore) throws -> R
    ) throws -> R {
        let path = makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try TokenStore(
            path: path, options: options(shards: shards, quarantine: quarantine, changelogLimit: changelogLimit))
        defer { try? store.close() }
        return try body(store)
    }

    /// Like `withStore`, but hands over the path and options so the test can close and reopen.
    static func withDirectory<R>(_ body: (String) throws -> R) throws -> R {
        let path = makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(path)
    }

    /// Closes `store` and opens the same directory again with the same options.
    static func reopen(_ store: TokenStore, options: StoreOptions) throws -> TokenStore {
        let path = store.path
        try store.close()
        return try TokenStore(path: path, options: options)
    }

    // MARK: Realistic tokens

    /// A deterministic 64-hex-character APNs device token.
    static func apnsToken(_ n: Int) -> String {
        var rng = DomainRNG(seed: UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9 &+ 1)
        let hex = Array("0123456789abcdef")
        return String((0..<64).map { _ in hex[Int(rng.next() & 15)] })
    }

    /// A deterministic FCM registration token (about 160 characters).
    static func fcmToken(_ n: Int) -> String {
        var rng = DomainRNG(seed: UInt64(truncatingIfNeeded: n) &* 0x85EB_CA6B &+ 7)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let head = String((0..<22).map { _ in alphabet[Int(rng.next() % 64)] })
        let tail = String((0..<134).map { _ in alphabet[Int(rng.next() % 64)] })
        return "\(head):APA91b\(tail)"
    }

    /// A deterministic Web Push subscription (endpoint plus keys, a few hundred bytes).
    static func webToken(_ n: Int) -> String {
        var rng = DomainRNG(seed: UInt64(truncatingIfNeeded: n) &* 0xC2B2_AE35 &+ 3)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        func chunk(_ count: Int) -> String { String((0..<count).map { _ in alphabet[Int(rng.next() % 64)] }) }
        return #"{"endpoint":"https://fcm.googleapis.com/fcm/send/"# + chunk(140)
            + #"","keys":{"p256dh":""# + chunk(87) + #"","auth":""# + chunk(22) + #""}}"#
    }

    static func token(for platform: Platform, _ n: Int) -> String {
        switch platform {
        case .ios: return apnsToken(n)
        case .android: return fcmToken(n)
        case .web: return webToken(n)
        }
    }

    // MARK: Assertions

    /// Expects `body` to throw a `TokenStoreError` with `code`.
    static func expectCode(
        _ code: TokenStoreError.Code, _ what: String = "",
        sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
    ) {
        do {
            try body()
            Issue.record("expected \(code) \(what), but the call succeeded", sourceLocation: sourceLocation)
        } catch let error as TokenStoreError {
            #expect(error.code == code, "expected \(code) \(what), got \(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected \(code) \(what), got a non-TokenStoreError \(error)", sourceLocation: sourceLocation)
        }
    }

    /// Drops zero entries so statistics compare alike whether or not the engine lists zeros.
    static func nonZero<K: Hashable>(_ dictionary: [K: Int]) -> [K: Int] { dictionary.filter { $0.value != 0 } }

    /// The users of a segment, copied through both enumeration APIs; records a mismatch.
    static func members(
        _ store: TokenStore, _ segment: Segment, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Set<String> {
        let copied = try store.users(in: segment)
        var streamed: [String] = []
        try store.forEachUser(in: segment) { bytes in
            streamed.append(String(decoding: bytes, as: UTF8.self))
            return true
        }
        #expect(Set(copied) == Set(streamed), "users(in:) and forEachUser(in:) disagree for \(segment)",
                sourceLocation: sourceLocation)
        #expect(copied.count == Set(copied).count, "users(in: \(segment)) lists a user twice",
                sourceLocation: sourceLocation)
        let count = try store.count(segment)
        #expect(count == copied.count, "count(\(segment)) = \(count) but enumeration yields \(copied.count)",
                sourceLocation: sourceLocation)
        return Set(copied)
    }

    /// Every known segment filter for `apps`.
    static func segments(apps: [String]) -> [Segment] {
        [.foregroundPushEnabled, .backgroundOrForegroundPushEnabled]
            + apps.map { Segment.foregroundPushEnabledForApp($0) }
            + Subscription.allCases.map { Segment.subscription($0) }
    }

    /// Parses a user's export into a dictionary.
    static func parseExport(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let data = Data(json.utf8)
        let object = try JSONSerialization.jsonObject(with: data)
        return try #require(object as? [String: Any], "export is not a JSON object: \(json)",
                            sourceLocation: sourceLocation)
    }

    /// Parses an ISO 8601 UTC time with or without fractional seconds into ms since the epoch.
    static func parseISO8601(_ text: String) -> Int64? {
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = plain.date(from: text) ?? fractional.date(from: text) else { return nil }
        return Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}

/// A state capture used to prove that a rejected call changed nothing.
struct DomainSnapshot: Equatable, CustomStringConvertible {
    var records: [TokenRecord]
    var users: [String: UserState]
    var changelogs: [String: [ChangeEntry]]
    var statistics: StoreStatistics
    var segmentCounts: [Segment: Int]
    var tokenCount: Int

    init(_ store: TokenStore, apps: [String]) throws {
        var records: [TokenRecord] = []
        try store.forEachRecord { view in
            records.append(view.record)
            return true
        }
        self.records = records.sorted { ($0.deviceID, $0.appID) < ($1.deviceID, $1.appID) }
        var users: [String: UserState] = [:]
        try store.forEachUserState { bytes, state in
            users[String(decoding: bytes, as: UTF8.self)] = state
            return true
        }
        self.users = users
        var changelogs: [String: [ChangeEntry]] = [:]
        for user in users.keys { changelogs[user] = try store.changelog(userID: user) }
        self.changelogs = changelogs
        var statistics = try store.statistics()
        statistics.byPlatform = DomainFixture.nonZero(statistics.byPlatform)
        statistics.byAuthorization = DomainFixture.nonZero(statistics.byAuthorization)
        statistics.bouncesByOutcome = DomainFixture.nonZero(statistics.bouncesByOutcome)
        statistics.bouncesByCategory = DomainFixture.nonZero(statistics.bouncesByCategory)
        self.statistics = statistics
        var counts: [Segment: Int] = [:]
        for segment in DomainFixture.segments(apps: apps) { counts[segment] = try store.count(segment) }
        self.segmentCounts = counts
        self.tokenCount = try store.count()
    }

    var description: String {
        "records=\(records) users=\(users) changelogs=\(changelogs) statistics=\(statistics) segments=\(segmentCounts)"
    }
}

/// SplitMix64: small, fast and deterministic.
struct DomainRNG: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ upperBound: Int) -> Int { Int(next() % UInt64(upperBound)) }
    mutating func chance(_ percent: Int) -> Bool { int(100) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }
}

extension DomainFixture {
    /// Shorthand for a registration.
    static func reg(
        _ deviceID: String, _ appID: String, _ token: String, _ platform: Platform = .ios,
        _ authorization: Authorization = .foreground, user: String? = nil, at: Int64
    ) -> Registration {
        Registration(
            deviceID: deviceID, appID: appID, token: token, platform: platform,
            authorization: authorization, userID: user, at: at)
    }
}
