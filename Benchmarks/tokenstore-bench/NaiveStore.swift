import Glibc
import TokenStore

/// The baseline: the obvious in-memory implementation of the same rules.
///
/// One Swift `Dictionary` per index (records by key, keys by token, users by id) behind a
/// single `pthread_mutex_t` (the primitive the engine's stripes are built from), no
/// persistence, and segment queries that scan every user. It keeps the same per-user
/// changelog as the engine (64 entries), so both do the same work per write. The benchmark
/// prints its figures beside the engine's to show what striping and layout buy.
final class NaiveStore: BenchStore, @unchecked Sendable {
    private struct Key: Hashable {
        var deviceID: String
        var appID: String
    }

    private struct Record {
        var token: String
        var userID: String?
        var platform: Platform
        var authorization: Authorization
        var isQuarantined = false
        var createdAt: Int64
        var updatedAt: Int64
        /// Event time of the last write, for the stale-write rule.
        var eventAt: Int64
    }

    private struct User {
        var subscription = Subscription.subscribed
        var optedInAt: Int64?
        var unsubscribedAt: Int64?
        var keys: Set<Key> = []
        var changelog: [ChangeEntry] = []
    }

    private struct State {
        var records: [Key: Record] = [:]
        var keyByToken: [String: Key] = [:]
        var users: [String: User] = [:]

        mutating func log(_ userID: String?, _ entry: ChangeEntry) {
            guard let userID else { return }
            users[userID, default: User()].changelog.append(entry)
            if users[userID]!.changelog.count > NaiveStore.changelogLimit {
                users[userID]!.changelog.removeFirst()
            }
        }

        /// Moves `key` from its owner to `newOwner`, logging on both sides.
        mutating func move(_ key: Key, to newOwner: String?, at: Int64) {
            let record = records[key]!
            let entry = { (kind: ChangeKind, other: String?) in
                ChangeEntry(
                    at: at, kind: kind, deviceID: key.deviceID, appID: key.appID, token: record.token, otherUserID: other)
            }
            if let old = record.userID {
                users[old]?.keys.remove(key)
                log(old, entry(.movedOut, newOwner))
            }
            if let newOwner {
                users[newOwner, default: User()].keys.insert(key)
                log(newOwner, entry(.movedIn, record.userID))
            }
            records[key]!.userID = newOwner
        }

        /// Deletes `key`'s record and its index entries, logging `kind` for the owner.
        mutating func remove(_ key: Key, kind: ChangeKind, detail: String?, at: Int64) {
            guard let record = records.removeValue(forKey: key) else { return }
            keyByToken.removeValue(forKey: record.token)
            if let owner = record.userID {
                users[owner]?.keys.remove(key)
                log(owner, ChangeEntry(at: at, kind: kind, deviceID: key.deviceID, appID: key.appID,
                                       token: record.token, detail: detail))
            }
        }

        func matches(_ user: User, _ segment: Segment) -> Bool {
            func sendable(_ key: Key) -> Record? {
                guard let record = records[key], !record.isQuarantined else { return nil }
                return record
            }
            switch segment {
            case .foregroundPushEnabled:
                return user.subscription != .unsubscribed
                    && user.keys.contains { sendable($0)?.authorization.allowsVisiblePush == true }
            case .foregroundPushEnabledForApp(let app):
                return user.keys.contains { $0.appID == app && sendable($0)?.authorization.allowsVisiblePush == true }
            case .backgroundOrForegroundPushEnabled:
                return user.subscription != .unsubscribed && user.keys.contains { sendable($0) != nil }
            case .subscription(let state):
                return user.subscription == state
            }
        }
    }

    private static let changelogLimit = 64
    private let state = Locked(State())

    /// An empty store.
    init() {}

    func register(_ r: Registration) -> WriteOutcome {
        let key = Key(deviceID: r.deviceID, appID: r.appID)
        return state.withLock { s in
            if let existing = s.records[key], r.at < existing.eventAt { return .stale }
            if let holder = s.keyByToken[r.token], holder != key {
                s.remove(holder, kind: .tokenReplaced, detail: nil, at: r.at)
            }
            guard let existing = s.records[key] else {
                s.records[key] = Record(
                    token: r.token, userID: r.userID, platform: r.platform, authorization: r.authorization,
                    createdAt: r.at, updatedAt: r.at, eventAt: r.at)
                s.keyByToken[r.token] = key
                if let user = r.userID {
                    s.users[user, default: User()].keys.insert(key)
                    s.log(user, ChangeEntry(at: r.at, kind: .registered, deviceID: r.deviceID, appID: r.appID, token: r.token))
                }
                return .applied
            }
            if existing.token != r.token {
                s.keyByToken.removeValue(forKey: existing.token)
                s.keyByToken[r.token] = key
                s.log(existing.userID, ChangeEntry(at: r.at, kind: .tokenReplaced, deviceID: r.deviceID,
                                                   appID: r.appID, token: r.token))
            }
            s.records[key]!.token = r.token
            if let user = r.userID, user != existing.userID { s.move(key, to: user, at: r.at) }
            s.records[key]!.platform = r.platform
            s.records[key]!.authorization = r.authorization
            s.records[key]!.isQuarantined = false
            s.records[key]!.updatedAt = r.at
            s.records[key]!.eventAt = r.at
            return .applied
        }
    }

    func setSubscription(userID: String, subscription: Subscription, at: Int64) -> WriteOutcome {
        state.withLock { s in
            s.users[userID, default: User()].subscription = subscription
            switch subscription {
            case .optedIn: s.users[userID]!.optedInAt = at
            case .unsubscribed: s.users[userID]!.unsubscribedAt = at
            case .subscribed: break
            }
            s.log(userID, ChangeEntry(at: at, kind: .subscriptionChanged, deviceID: "", appID: "", token: "",
                                      detail: subscription.description))
            return .applied
        }
    }

    func changeUser(deviceID: String, appID: String, userID: String?, at: Int64) -> WriteOutcome? {
        let key = Key(deviceID: deviceID, appID: appID)
        return state.withLock { s in
            guard let record = s.records[key] else { return nil }
            if at < record.eventAt { return .stale }
            if record.userID != userID { s.move(key, to: userID, at: at) }
            s.records[key]!.eventAt = at
            return .applied
        }
    }

    func bounce(token: String, errorCode: String, providerTimestamp: Int64?, at: Int64)
        -> (outcome: BounceOutcome, category: BounceCategory)?
    {
        let category = NaiveStore.classify(errorCode)
        return state.withLock { s in
            guard let key = s.keyByToken[token], let record = s.records[key] else { return nil }
            guard category == .dead || category == .misconfigured else { return (.kept, category) }
            if let providerTimestamp, record.updatedAt > providerTimestamp { return (.stale, category) }
            s.remove(key, kind: .bounced, detail: errorCode, at: at)
            return (.removed, category)
        }
    }

    func tokenLength(deviceID: String, appID: String) -> Int? {
        let key = Key(deviceID: deviceID, appID: appID)
        return state.withLock { s in s.records[key]?.token.utf8.count }
    }

    func tokenRecord(deviceID: String, appID: String) -> TokenRecord? {
        let key = Key(deviceID: deviceID, appID: appID)
        return state.withLock { s in s.records[key].map { NaiveStore.copy(key, $0) } }
    }

    func userTokenCount(userID: String) -> Int {
        state.withLock { s in
            guard let user = s.users[userID] else { return 0 }
            return user.keys.reduce(0) { count, key in count + (s.records[key] == nil ? 0 : 1) }
        }
    }

    func sendableTokenCount(userID: String, appID: String) -> Int {
        state.withLock { s in
            guard let user = s.users[userID], user.subscription != .unsubscribed else { return 0 }
            return user.keys.compactMap { key -> TokenRecord? in
                guard key.appID == appID, let record = s.records[key], !record.isQuarantined,
                    record.authorization.allowsVisiblePush
                else { return nil }
                return NaiveStore.copy(key, record)
            }.count
        }
    }

    func count(_ segment: Segment) -> Int {
        state.withLock { s in s.users.values.reduce(0) { $0 + (s.matches($1, segment) ? 1 : 0) } }
    }

    /// Scans every user, as `count` does: the baseline keeps no segment index.
    func enumerate(_ segment: Segment, _ visit: (UnsafeRawBufferPointer) -> Void) {
        state.withLock { s in
            for (id, user) in s.users where s.matches(user, segment) {
                var id = id
                id.withUTF8 { visit(UnsafeRawBufferPointer($0)) }
            }
        }
    }

    private static func copy(_ key: Key, _ record: Record) -> TokenRecord {
        TokenRecord(
            deviceID: key.deviceID, appID: key.appID, token: record.token, userID: record.userID,
            platform: record.platform, authorization: record.authorization, isQuarantined: record.isQuarantined,
            createdAt: record.createdAt, updatedAt: record.updatedAt)
    }

    /// DOMAIN.md's bounce table (the peer section resolves its bounces' categories with it too).
    static func classify(_ code: String) -> BounceCategory {
        if let category = categories[code] { return category }
        if let status = Int(code), (500...599).contains(status) { return .transient }
        return .unknown
    }

    private static let categories: [String: BounceCategory] = {
        var table: [String: BounceCategory] = [:]
        let groups: [(BounceCategory, [String])] = [
            (.dead, ["NotRegistered", "UNREGISTERED", "InvalidRegistration", "Unregistered", "ExpiredToken",
                     "BadDeviceToken", "404", "410"]),
            (.misconfigured, ["MismatchSenderId", "SENDER_ID_MISMATCH", "DeviceTokenNotForTopic", "TopicDisallowed",
                              "InvalidProviderToken", "401", "403"]),
            (.transient, ["429", "Unavailable", "InternalServerError", "QUOTA_EXCEEDED", "TooManyRequests"]),
            (.payload, ["PayloadTooLarge", "PayloadEmpty", "MessageTooBig"]),
        ]
        for (category, codes) in groups { for code in codes { table[code] = category } }
        return table
    }()
}

/// A value behind a `pthread_mutex_t` at a stable heap address.
private final class Locked<Value>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var value: Value

    init(_ value: Value) {
        self.value = value
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` on the value with the mutex held.
    @inline(__always)
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body(&value)
    }
}
