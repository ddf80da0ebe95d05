import Foundation
import Testing
@testable import TokenStore

/// Everything a store answers, copied, so that two moments (before a fault and after a
/// reopen) can be compared whole: nothing lost, nothing added.
struct StoreSnapshot: Equatable, CustomStringConvertible {
    var records: [TokenRecord] = []
    var users: [String: UserState] = [:]
    var changelogs: [String: [ChangeEntry]] = [:]
    var statistics = StoreStatistics()
    var tombstones: [Tombstone] = []

    init(_ store: TokenStore) throws {
        try store.forEachRecord { records.append($0.record); return true }
        records.sort { ($0.deviceID, $0.appID) < ($1.deviceID, $1.appID) }
        try store.forEachUserState { user, state in
            users[String(decoding: user, as: UTF8.self)] = state
            return true
        }
        for user in users.keys { changelogs[user] = try store.changelog(userID: user) }
        statistics = try store.statistics()
        try store.forEachBackupTombstone { tombstones.append($0); return true }
    }

    var description: String { "\(records.count) records, \(users.count) users, \(changelogs.values.reduce(0) { $0 + $1.count }) changes" }

    /// A short account of how `other` differs, for failure messages.
    func difference(from other: StoreSnapshot) -> String {
        var out: [String] = []
        let mine = Dictionary(records.map { ($0.deviceID + "|" + $0.appID, $0) }, uniquingKeysWith: { a, _ in a })
        let theirs = Dictionary(other.records.map { ($0.deviceID + "|" + $0.appID, $0) }, uniquingKeysWith: { a, _ in a })
        let missing = theirs.keys.filter { mine[$0] == nil }.count, extra = mine.keys.filter { theirs[$0] == nil }.count
        let changed = mine.keys.filter { theirs[$0] != nil && theirs[$0] != mine[$0] }.count
        if missing + extra + changed > 0 { out.append("records: \(missing) missing, \(extra) extra, \(changed) changed") }
        if let key = mine.keys.sorted().first(where: { theirs[$0] != nil && theirs[$0] != mine[$0] }) {
            out.append("e.g. \(String(describing: mine[key]!)) instead of \(String(describing: theirs[key]!))")
        }
        if users != other.users { out.append("users: \(users.count) vs \(other.users.count), states differ") }
        let logs = changelogs.keys.filter { changelogs[$0] != other.changelogs[$0] }
        if !logs.isEmpty {
            let sample = logs.sorted().first!
            out.append("changelogs of \(logs.count) users differ (e.g. \(changelogs[sample]?.count ?? 0) vs \(other.changelogs[sample]?.count ?? 0) entries)")
        }
        if tombstones != other.tombstones { out.append("tombstones: \(tombstones.count) vs \(other.tombstones.count), or they differ") }
        if statistics != other.statistics { out.append("statistics differ: \(statistics) vs \(other.statistics)") }
        return out.isEmpty ? "no difference" : out.joined(separator: "; ")
    }
}

/// A deterministic workload whose ids and tokens are easy to spot in error messages.
enum Workload {
    static func device(_ i: Int) -> String { "dev-\(i)" }
    static func user(_ i: Int) -> String { "user-\(i % 23)" }
    static func token(_ i: Int, generation: Int = 0, padding: Int = 0) -> String {
        "tok-\(i)-\(generation)" + String(repeating: "x", count: padding)
    }

    /// Registers key `i` (owned by `user(i)`) with token generation `generation`.
    @discardableResult
    static func register(_ store: TokenStore, _ i: Int, generation: Int = 0, padding: Int = 0, at: Int64? = nil) throws -> WriteOutcome {
        try store.register(Registration(
            deviceID: device(i), appID: "app", token: token(i, generation: generation, padding: padding),
            platform: i % 3 == 0 ? .web : .ios, authorization: i % 4 == 0 ? .background : .foreground,
            userID: user(i), at: at ?? Int64(1_000 + i + generation * 100_000)))
    }

    /// A mix of every write over keys `range`: registers, moves, bounces, uninstalls,
    /// subscription and authorization changes.
    static func mix(_ store: TokenStore, _ range: Range<Int>, generation: Int) throws {
        for i in range {
            let at = Int64(1_000 + i + generation * 100_000)
            try register(store, i, generation: generation, at: at)
            switch i % 6 {
            case 0: try store.changeUser(deviceID: device(i), appID: "app", userID: user(i + 1), at: at + 1)
            case 1: _ = try store.bounce(token: token(i, generation: generation), errorCode: "Unavailable", at: at + 1)
            case 2: try store.setAuthorization(deviceID: device(i), appID: "app", authorization: .provisional, at: at + 1)
            case 3: try store.setSubscription(userID: user(i), subscription: .optedIn, at: at + 1)
            case 4: try store.uninstall(deviceID: device(i), appID: "app", at: at + 1)
            default: _ = try store.bounce(token: token(i, generation: generation), errorCode: "Unregistered", at: at + 1)
            }
        }
    }
}

/// Issue 7's security rule: no token or id in an error message. The workload's ids and
/// tokens all carry one of these prefixes.
func expectNoPersonalData(_ error: any Error, sourceLocation: SourceLocation = #_sourceLocation) {
    let text = String(describing: error)
    for marker in ["tok-", "dev-", "user-", "t0-", "tk0-"] {
        #expect(!text.contains(marker), "error message leaks an id or token: \(text)", sourceLocation: sourceLocation)
    }
}
