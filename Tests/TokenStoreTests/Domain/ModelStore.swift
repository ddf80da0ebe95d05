import Foundation
@testable import TokenStore

/// A `(device, app)` key in the reference model.
struct ModelKey: Hashable, Comparable, CustomStringConvertible {
    var device: String
    var app: String
    static func < (a: ModelKey, b: ModelKey) -> Bool { (a.device, a.app) < (b.device, b.app) }
    var description: String { "\(device)/\(app)" }
}

/// One token as the reference model keeps it.
struct ModelRecord: Equatable {
    var token: String
    var platform: Platform
    var authorization: Authorization
    var userID: String?
    var quarantined: Bool
    var createdAt: Int64
    var updatedAt: Int64
    /// The latest registration's time: what a provider timestamp is compared against.
    var registeredAt: Int64
    /// The event time stored for the key (DOMAIN.md "Ordering").
    var eventTime: Int64
    /// The latest `at` of any call that touched the key, bounces included (used to generate safe ties).
    var lastTouch: Int64

    func record(_ key: ModelKey) -> TokenRecord {
        TokenRecord(deviceID: key.device, appID: key.app, token: token, userID: userID, platform: platform,
                    authorization: authorization, isQuarantined: quarantined, createdAt: createdAt,
                    updatedAt: updatedAt)
    }
}

/// A removal's tombstone as the reference model keeps it (issue 14). The model keeps the token
/// itself; the engine keeps only its hash. Retention does not act in the model: its runs span
/// minutes of event time, far below the default 30 days (TombstoneTests covers retention).
struct ModelTombstone: Equatable {
    var token: String
    var at: Int64
    /// Left by a removing bounce, and the token not registered again since: dead on every key.
    var bounced: Bool

    func tombstone(_ key: ModelKey) -> Tombstone {
        Tombstone(deviceID: key.device, appID: key.app, tokenHash: ModelStore.hash(token), at: at, bounced: bounced)
    }
}

/// A user as the reference model keeps it.
struct ModelUser: Equatable {
    var state = UserState(subscription: .subscribed, optedInAt: nil, unsubscribedAt: nil)
    /// Event time of the last applied `setSubscription`.
    var subscriptionTime: Int64?
    var changelog: [ChangeEntry] = []
}

/// What an operation answered, from the engine or the model.
enum ModelOutcome: Equatable, CustomStringConvertible {
    case write(WriteOutcome)
    case bounce(BounceResult)
    case swept(Int)
    case error(TokenStoreError.Code)
    case reopened

    var description: String {
        switch self {
        case .write(let outcome): return "\(outcome)"
        case .bounce(let result): return "bounce(\(result.outcome), \(result.category))"
        case .swept(let n): return "swept(\(n))"
        case .error(let code): return "error(\(code))"
        case .reopened: return "reopened"
        }
    }
}

/// A plain, obviously-correct, in-memory reference of DOMAIN.md (plus the semantics this suite assumes,
/// listed in the report and marked "unpinned" below where DOMAIN.md and the issue leave a choice).
final class ModelStore {
    let changelogLimit: Int
    let quarantineMisconfigured: Bool
    private(set) var records: [ModelKey: ModelRecord] = [:]
    private(set) var byToken: [String: ModelKey] = [:]
    private(set) var tombstones: [ModelKey: ModelTombstone] = [:]
    var users: [String: ModelUser] = [:]
    private(set) var bouncesByOutcome: [BounceOutcome: Int] = [:]
    private(set) var bouncesByCategory: [BounceCategory: Int] = [:]

    /// Users whose changelog the last call changed in a way DOMAIN.md and the issue leave open.
    private(set) var unpinnedChangelogs: Set<String> = []
    /// A key whose `updatedAt` after the last call is not pinned (login or authorization change).
    private(set) var unpinnedUpdatedAt: ModelKey?
    /// Which unpinned case the last call hit, for grouping divergences in the strict run.
    private(set) var unpinnedCase: String?

    init(changelogLimit: Int, quarantineMisconfigured: Bool) {
        self.changelogLimit = changelogLimit
        self.quarantineMisconfigured = quarantineMisconfigured
    }

    // MARK: Classification (DOMAIN.md's bounce table)

    static let dead: Set<String> = ["NotRegistered", "UNREGISTERED", "InvalidRegistration", "Unregistered",
                                    "ExpiredToken", "BadDeviceToken", "404", "410"]
    static let misconfigured: Set<String> = ["MismatchSenderId", "SENDER_ID_MISMATCH", "DeviceTokenNotForTopic",
                                             "TopicDisallowed", "InvalidProviderToken", "401", "403"]
    static let transient: Set<String> = ["429", "500", "502", "503", "504", "Unavailable", "InternalServerError",
                                         "QUOTA_EXCEEDED", "TooManyRequests"]
    static let payload: Set<String> = ["PayloadTooLarge", "PayloadEmpty", "MessageTooBig"]
    static let unknown: Set<String> = ["SomethingNew", "418", "x-custom"]

    static func classify(_ code: String) -> BounceCategory {
        if dead.contains(code) { return .dead }
        if misconfigured.contains(code) { return .misconfigured }
        if transient.contains(code) { return .transient }
        if payload.contains(code) { return .payload }
        return .unknown
    }

    // MARK: Helpers

    static func hash(_ token: String) -> UInt64 {
        var token = token
        return token.withUTF8 { Registry.tokenHash(UnsafeRawBufferPointer($0)) }
    }

    /// The key whose tombstone holds `token` dead (a removing bounce's, not yet cleared).
    func deadMark(_ token: String) -> ModelKey? {
        tombstones.first { $0.value.bounced && $0.value.token == token }?.key
    }

    /// Whether the key's tombstone makes a write at `at` stale.
    private func refused(_ key: ModelKey, at: Int64) -> Bool {
        if let t = tombstones[key], at < t.at { return true }
        return false
    }

    private func ensureUser(_ user: String) {
        if users[user] == nil { users[user] = ModelUser() }
    }

    private func log(_ user: String?, _ entry: ChangeEntry) {
        guard let user else { return }
        ensureUser(user)
        users[user]!.changelog.append(entry)
        if users[user]!.changelog.count > changelogLimit {
            users[user]!.changelog.removeFirst(users[user]!.changelog.count - changelogLimit)
        }
    }

    private func unpinned(_ label: String, _ candidates: String?...) {
        if unpinnedCase == nil { unpinnedCase = label }
        for case let user? in candidates { unpinnedChangelogs.insert(user) }
    }

    private func remove(_ key: ModelKey) -> ModelRecord {
        let record = records.removeValue(forKey: key)!
        byToken[record.token] = nil
        return record
    }

    // MARK: Writes

    func register(_ r: Registration) -> ModelOutcome {
        resetUnpinned()
        let key = ModelKey(device: r.deviceID, app: r.appID)
        let old = records[key]
        if let old, r.at < old.eventTime { return .write(.stale) }
        // Issue 14: the key's tombstone, and a bounce's dead mark on the token, refuse older registrations.
        if refused(key, at: r.at) { return .write(.stale) }
        let mark = deadMark(r.token)
        if let mark, r.at < tombstones[mark]!.at { return .write(.stale) }
        tombstones[key] = nil
        if let mark, mark != key { tombstones[mark]!.bounced = false }
        let newOwner = r.userID ?? old?.userID
        if let user = r.userID { ensureUser(user) }

        // The token moves off another key (uniqueness). Changelog: unpinned.
        var movedFrom: String?? = nil
        if let holder = byToken[r.token], holder != key {
            let moved = remove(holder)
            movedFrom = .some(moved.userID)
            let shape = old == nil ? "onto an empty key" : "onto a key holding another token"
            let owners = moved.userID == nil ? "from an anonymous key"
                : moved.userID == newOwner ? "same owner" : "to a different owner"
            unpinned("register moves a token from another key \(shape), \(owners)", moved.userID, old?.userID, newOwner)
            if let previous = moved.userID, previous != newOwner {
                log(previous, ChangeEntry(at: r.at, kind: .movedOut, deviceID: holder.device, appID: holder.app,
                                          token: r.token, otherUserID: newOwner))
            }
        }

        if let old {
            if old.userID != newOwner {
                // A different user takes the key over, as in changeUser (pinned by the brief).
                log(old.userID, ChangeEntry(at: r.at, kind: .movedOut, deviceID: key.device, appID: key.app,
                                            token: old.token, otherUserID: newOwner))
                log(newOwner, ChangeEntry(at: r.at, kind: .movedIn, deviceID: key.device, appID: key.app,
                                          token: old.token, otherUserID: old.userID))
                if old.token != r.token {
                    unpinned("register changes both the owner and the token of a key", old.userID, newOwner)
                } else if old.authorization != r.authorization {
                    unpinned("register changes both the owner and the authorization of a key", old.userID, newOwner)
                }
            }
            if old.token != r.token {
                byToken[old.token] = nil
                // Pinned: a tokenReplaced entry. Its token field (new or old) is not: unpinned.
                log(newOwner, ChangeEntry(at: r.at, kind: .tokenReplaced, deviceID: key.device, appID: key.app,
                                          token: r.token))
                unpinned("register replaces the token of a key (tokenReplaced fields)", newOwner)
            } else if old.authorization != r.authorization {
                // Assumed: a session reporting a new authorization records it. Unpinned.
                log(newOwner, ChangeEntry(at: r.at, kind: .authorizationChanged, deviceID: key.device,
                                          appID: key.app, token: r.token, detail: r.authorization.description))
                unpinned("register of the same token with a new authorization", newOwner)
            }
            records[key] = ModelRecord(
                token: r.token, platform: r.platform, authorization: r.authorization, userID: newOwner,
                quarantined: false, createdAt: old.createdAt, updatedAt: r.at, registeredAt: r.at,
                eventTime: r.at, lastTouch: max(r.at, old.lastTouch))
        } else {
            if let owner = newOwner {
                if case .some(.some(let previous)) = movedFrom, previous != owner {
                    log(owner, ChangeEntry(at: r.at, kind: .movedIn, deviceID: key.device, appID: key.app,
                                           token: r.token, otherUserID: previous))
                } else {
                    log(owner, ChangeEntry(at: r.at, kind: .registered, deviceID: key.device, appID: key.app,
                                           token: r.token))
                }
            }
            records[key] = ModelRecord(
                token: r.token, platform: r.platform, authorization: r.authorization, userID: newOwner,
                quarantined: false, createdAt: r.at, updatedAt: r.at, registeredAt: r.at, eventTime: r.at,
                lastTouch: r.at)
        }
        byToken[r.token] = key
        return .write(.applied)
    }

    func changeUser(_ key: ModelKey, _ user: String?, at: Int64) -> ModelOutcome {
        resetUnpinned()
        guard var record = records[key] else { return refused(key, at: at) ? .write(.stale) : .error(.notFound) }
        if at < record.eventTime { return .write(.stale) }
        if let user { ensureUser(user) }
        if record.userID != user {
            log(record.userID, ChangeEntry(at: at, kind: .movedOut, deviceID: key.device, appID: key.app,
                                           token: record.token, otherUserID: user))
            log(user, ChangeEntry(at: at, kind: .movedIn, deviceID: key.device, appID: key.app,
                                  token: record.token, otherUserID: record.userID))
        } else {
            unpinned("changeUser to the current owner", user)   // Assumed: records nothing.
        }
        record.userID = user
        record.eventTime = at
        record.lastTouch = max(record.lastTouch, at)
        records[key] = record
        unpinnedUpdatedAt = key
        if unpinnedCase == nil { unpinnedCase = "changeUser (does a login refresh updatedAt?)" }
        return .write(.applied)
    }

    func setAuthorization(_ key: ModelKey, _ authorization: Authorization, at: Int64) -> ModelOutcome {
        resetUnpinned()
        guard var record = records[key] else { return refused(key, at: at) ? .write(.stale) : .error(.notFound) }
        if at < record.eventTime { return .write(.stale) }
        if record.authorization != authorization {
            log(record.userID, ChangeEntry(at: at, kind: .authorizationChanged, deviceID: key.device,
                                           appID: key.app, token: record.token, detail: authorization.description))
        } else {
            unpinned("setAuthorization to the current value", record.userID)
        }
        record.authorization = authorization
        record.eventTime = at
        record.lastTouch = max(record.lastTouch, at)
        records[key] = record
        unpinnedUpdatedAt = key
        if unpinnedCase == nil { unpinnedCase = "setAuthorization (does it refresh updatedAt?)" }
        return .write(.applied)
    }

    func setSubscription(_ user: String, _ subscription: Subscription, at: Int64) -> ModelOutcome {
        resetUnpinned()
        if let time = users[user]?.subscriptionTime, at < time { return .write(.stale) }
        if users[user]?.state.subscription ?? .subscribed == subscription {
            unpinned("setSubscription to the current value", user)
        }
        ensureUser(user)
        users[user]!.state.subscription = subscription
        if subscription == .optedIn { users[user]!.state.optedInAt = at }
        if subscription == .unsubscribed { users[user]!.state.unsubscribedAt = at }
        users[user]!.subscriptionTime = at
        log(user, ChangeEntry(at: at, kind: .subscriptionChanged, deviceID: "", appID: "", token: "",
                              detail: subscription.description))
        return .write(.applied)
    }

    func bounce(_ token: String, _ code: String, providerTimestamp: Int64?, at: Int64) -> ModelOutcome {
        resetUnpinned()
        guard let key = byToken[token], var record = records[key] else { return .error(.notFound) }
        let category = Self.classify(code)
        let outcome: BounceOutcome
        switch category {
        case .dead, .misconfigured:
            if let stamp = providerTimestamp, record.registeredAt > stamp {
                outcome = .stale
                record.lastTouch = max(record.lastTouch, at)
                records[key] = record
            } else if category == .misconfigured && quarantineMisconfigured {
                outcome = .quarantined
                record.quarantined = true
                record.lastTouch = max(record.lastTouch, at)
                records[key] = record
                log(record.userID, ChangeEntry(at: at, kind: .bounced, deviceID: key.device, appID: key.app,
                                               token: token, detail: code))
            } else {
                outcome = .removed
                _ = remove(key)
                tombstones[key] = ModelTombstone(token: token, at: at, bounced: true)
                log(record.userID, ChangeEntry(at: at, kind: .bounced, deviceID: key.device, appID: key.app,
                                               token: token, detail: code))
            }
        case .transient, .payload, .unknown:
            outcome = .kept
            record.lastTouch = max(record.lastTouch, at)
            records[key] = record
        }
        bouncesByOutcome[outcome, default: 0] += 1
        bouncesByCategory[category, default: 0] += 1
        return .bounce(BounceResult(outcome: outcome, category: category))
    }

    func uninstall(_ key: ModelKey, at: Int64) -> ModelOutcome {
        resetUnpinned()
        guard let record = records[key] else { return refused(key, at: at) ? .write(.stale) : .error(.notFound) }
        if at < record.eventTime { return .write(.stale) }
        _ = remove(key)
        tombstones[key] = ModelTombstone(token: record.token, at: at, bounced: false)
        log(record.userID, ChangeEntry(at: at, kind: .uninstalled, deviceID: key.device, appID: key.app,
                                       token: record.token))
        return .write(.applied)
    }

    func sweep(olderThan bound: Int64, platform: Platform?, at: Int64) -> ModelOutcome {
        resetUnpinned()
        var removed = 0
        var expiredPerUser: [String: Int] = [:]
        for key in records.keys.sorted() {
            let record = records[key]!
            guard record.updatedAt < bound, platform == nil || record.platform == platform else { continue }
            _ = remove(key)
            tombstones[key] = ModelTombstone(token: record.token, at: at, bounced: false)
            log(record.userID, ChangeEntry(at: at, kind: .expired, deviceID: key.device, appID: key.app,
                                           token: record.token))
            if let user = record.userID { expiredPerUser[user, default: 0] += 1 }
            removed += 1
        }
        // The order of several entries written by one sweep is the engine's shard order: when the
        // bound dropped part of such a run, which part survives is not pinned.
        for (user, n) in expiredPerUser where n > 1 && users[user]!.changelog.count == changelogLimit {
            unpinned("one sweep expiring several of a user's tokens at the changelog bound", user)
        }
        return .swept(removed)
    }

    private func resetUnpinned() {
        unpinnedChangelogs = []
        unpinnedUpdatedAt = nil
        unpinnedCase = nil
    }

    /// Lenient mode: adopt the engine's answer where the semantics are not pinned.
    func adopt(changelog: [ChangeEntry], for user: String) {
        users[user]?.changelog = changelog
    }

    func adopt(updatedAt: Int64, for key: ModelKey) {
        records[key]?.updatedAt = updatedAt
    }

    // MARK: Reads

    func token(_ key: ModelKey) -> TokenRecord? { records[key]?.record(key) }

    /// The tombstones, in no particular order (compare them sorted).
    func allTombstones() -> [Tombstone] { tombstones.map { $0.value.tombstone($0.key) } }

    func tokens(user: String) -> [TokenRecord] {
        records.filter { $0.value.userID == user }.sorted { $0.key < $1.key }.map { $0.value.record($0.key) }
    }

    func isMember(_ user: String, of segment: Segment) -> Bool {
        guard let state = users[user]?.state else { return false }
        let owned = records.values.filter { $0.userID == user && !$0.quarantined }
        switch segment {
        case .foregroundPushEnabled:
            return state.subscription != .unsubscribed && owned.contains { $0.authorization.allowsVisiblePush }
        case .foregroundPushEnabledForApp(let app):
            return records.contains { $0.key.app == app && $0.value.userID == user && !$0.value.quarantined
                && $0.value.authorization.allowsVisiblePush }
        case .backgroundOrForegroundPushEnabled:
            return state.subscription != .unsubscribed && !owned.isEmpty
        case .subscription(let wanted):
            return state.subscription == wanted
        }
    }

    func members(_ segment: Segment) -> Set<String> {
        Set(users.keys.filter { isMember($0, of: segment) })
    }

    func sendable(user: String, app: String, kind: PushKind) -> Set<String> {
        guard let state = users[user]?.state else { return [] }
        return Set(records.filter { key, record in
            guard key.app == app, record.userID == user, !record.quarantined else { return false }
            switch kind {
            case .visible: return state.subscription != .unsubscribed && record.authorization.allowsVisiblePush
            case .silent: return true
            }
        }.map(\.value.token))
    }

    func registeredFor(user: String) -> [String] {
        tokens(user: user).map { ($0.authorization.allowsVisiblePush ? "Foreground: " : "Background: ") + $0.appID }
            .sorted()
    }

    func statistics() -> StoreStatistics {
        var stats = StoreStatistics()
        stats.tokens = records.count
        stats.users = users.count
        stats.quarantined = records.values.filter(\.quarantined).count
        stats.tombstones = tombstones.count
        for record in records.values {
            stats.byPlatform[record.platform, default: 0] += 1
            stats.byAuthorization[record.authorization, default: 0] += 1
        }
        stats.bouncesByOutcome = bouncesByOutcome.filter { $0.value != 0 }
        stats.bouncesByCategory = bouncesByCategory.filter { $0.value != 0 }
        return stats
    }
}
