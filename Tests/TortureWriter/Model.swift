import TokenStore

/// The observable state of one key, as `TokenStore.token(deviceID:appID:)` returns it.
struct KeyState: Equatable {
    var token: String
    var user: String?
    var platform: Platform
    var authorization: Authorization
    var createdAt: Int64
    var updatedAt: Int64

    init(token: String, user: String?, platform: Platform, authorization: Authorization, createdAt: Int64, updatedAt: Int64) {
        self.token = token
        self.user = user
        self.platform = platform
        self.authorization = authorization
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    init(_ r: TokenRecord) {
        self.init(token: r.token, user: r.userID, platform: r.platform, authorization: r.authorization,
            createdAt: r.createdAt, updatedAt: r.updatedAt)
    }
}

/// One thread's share of the store: keys, users and tokens no other thread touches, so
/// that each thread's model predicts the store exactly.
///
/// Names: key `k` is device `t<t>-d<k/2>` and app `com.app<k%2>`; user `j` is `t<t>-u<j>`;
/// tokens are `tk<t>-<generation>-<n>`, padded to vary their size. Only thread 0 registers
/// Web Push tokens, so a sweep limited to `.web` touches only its keys.
struct ThreadModel {
    let thread: Int
    var keys: [KeyState?]
    var users: [Subscription?]
    /// Which of this thread's keys holds each token.
    var holder: [String: Int] = [:]
    /// The removals whose tombstones stand: by key, the removal's time and, for a removing
    /// bounce in this run, the token it killed (a restart knows only the hash). A late write
    /// older than one of them must be stale, before and after a crash.
    var removed: [Int: Removal] = [:]

    struct Removal: Equatable {
        var at: Int64
        var deadToken: String?
    }

    init(thread: Int, keyCount: Int, userCount: Int) {
        self.thread = thread
        keys = Array(repeating: nil, count: keyCount)
        users = Array(repeating: nil, count: userCount)
    }

    func device(_ k: Int) -> String { "t\(thread)-d\(k >> 1)" }
    func app(_ k: Int) -> String { "com.app\(k & 1)" }
    func user(_ j: Int) -> String { "t\(thread)-u\(j)" }
    func userIndex(_ name: String) -> Int? {
        let prefix = "t\(thread)-u"
        guard name.hasPrefix(prefix) else { return nil }
        return Int(name.dropFirst(prefix.count))
    }

    /// Reads this thread's part of the store, as a previous writer left it.
    mutating func load(from store: TokenStore) throws {
        holder = [:]
        for k in keys.indices {
            keys[k] = try store.token(deviceID: device(k), appID: app(k)).map(KeyState.init)
            if let t = keys[k]?.token { holder[t] = k }
        }
        for j in users.indices {
            users[j] = try store.user(userID: user(j))?.subscription
        }
        // The tombstones a previous writer left, recovered with everything else.
        removed = [:]
        var index: [String: Int] = [:]
        for k in keys.indices { index[device(k) + "\t" + app(k)] = k }
        var found: [Int: Removal] = [:]
        try store.forEachBackupTombstone { t in
            if let k = index[t.deviceID + "\t" + t.appID] { found[k] = Removal(at: t.at, deadToken: nil) }
            return true
        }
        removed = found
    }

    /// Sets a key's state; a removal then records its tombstone with `removedAt`.
    mutating func setKey(_ k: Int, _ state: KeyState?, removedAt: Int64? = nil, bounced: Bool = false) {
        if let old = keys[k], let at = removedAt { removed[k] = Removal(at: at, deadToken: bounced ? old.token : nil) }
        if state != nil { removed[k] = nil }
        if let old = keys[k], holder[old.token] == k { holder[old.token] = nil }
        keys[k] = state
        if let t = state?.token { holder[t] = k }
    }

    mutating func touchUser(_ name: String?) {
        guard let name, let j = userIndex(name) else { return }
        if users[j] == nil { users[j] = .subscribed }
    }

    // MARK: The line format shared with the parent

    func encodeKey(_ k: Int) -> String {
        // A removed key shows its tombstone's time, so that the parent checks tombstones
        // survive a crash as records do.
        guard let s = keys[k] else { return removed[k].map { "K,\(k),-,\($0.at)" } ?? "K,\(k),-" }
        return "K,\(k),\(s.token),\(s.user ?? "-"),\(s.platform.rawValue),\(s.authorization.rawValue),\(s.createdAt),\(s.updatedAt)"
    }

    func encodeUser(_ j: Int) -> String {
        guard let s = users[j] else { return "U,\(j),-" }
        return "U,\(j),\(s.rawValue)"
    }
}
