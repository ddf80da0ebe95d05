import Synchronization

/// An embeddable, sharded, crash-safe store of push tokens.
///
/// A store is a directory. Open it once per process (a second process gets `locked`); the
/// handle is safe to share between threads. Each call locks only the stripes it touches.
///
/// Closures passed to `with…`/`forEach…` run while stripe locks are held: they must not call
/// back into the same store, and must not escape the buffers they receive.
public final class TokenStore: @unchecked Sendable {
    /// The on-disk format version this build reads and writes.
    public static let formatVersion: UInt32 = 4

    /// The release, "MAJOR.MINOR.PATCH": what `ts_version` returns and `tokenstore --version`
    /// prints. The C header's `TS_VERSION_STRING` must say the same (the ABI test checks).
    public static let libraryVersion: StaticString = "0.2.0"

    let registry: Registry
    private let openOptions: StoreOptions
    /// What this open dropped from a damaged log, when `StoreOptions.dropDamagedLog` asked it
    /// to; `nil` when it dropped nothing.
    public let droppedLog: DroppedLog?
    private let closedFlag = ConditionLock()
    private let closedState = Atomic<Bool>(false)
    private var isClosed: Bool { closedState.load(ordering: .acquiring) }

    /// Opens the store in `path`, creating the directory and an empty store when absent.
    ///
    /// Recovery after a crash runs here and costs the work since the last checkpoint.
    /// - Throws: `locked` if another process has it open, `versionMismatch` for an unknown
    ///   format, `corrupt` naming the damaged file, `io`, `invalidArgument` for bad options.
    public init(path: String, options: StoreOptions = StoreOptions()) throws(TokenStoreError) {
        guard !path.isEmpty, !path.utf8.contains(0) else { throw TokenStoreError(.invalidArgument, "empty path") }
        guard options.changelogLimit >= 1, options.changelogLimit <= 4096 else {
            throw TokenStoreError(.invalidArgument, "changelogLimit must be 1...4096")
        }
        guard StoreOptions.tombstoneRetentionRange.contains(options.tombstoneRetention), options.tombstoneRetention % 1000 == 0 else {
            throw TokenStoreError(.invalidArgument, "tombstoneRetention must be whole seconds, from 1 s to \(UInt32.max) s, in milliseconds")
        }
        var registry: Registry?
        var times: ClosedRange<Int64>?
        let store = try ShardedStore(
            directory: path, options: options,
            replay: { store, payload in
                if registry == nil { registry = Registry(store: store, options: TokenStore.effective(options, store)) }
                try registry!.replay(payload)
            },
            inspectDropped: { payload in
                guard let at = Operation.decode(payload)?.at else { return }
                times = times.map { min($0.lowerBound, at)...max($0.upperBound, at) } ?? at...at
            })
        let effective = TokenStore.effective(options, store)
        self.registry = registry ?? Registry(store: store, options: effective)
        self.openOptions = effective
        self.droppedLog = store.wal.dropped.map { DroppedLog($0, times: times) }
    }

    deinit {
        if !isClosed { try? registry.store.close() }
    }

    /// The options a store runs with: shards, quarantine, the changelog limit and the
    /// tombstone retention are the ones recorded at creation; the rest are the caller's.
    private static func effective(_ options: StoreOptions, _ store: ShardedStore) -> StoreOptions {
        var o = options
        o.shards = store.shards.count
        (o.quarantineMisconfigured, o.changelogLimit, o.tombstoneRetention) = store.createdOptions
        return o
    }

    /// Checkpoints, forces and releases the store. Further calls throw `closed`.
    public func close() throws(TokenStoreError) {
        try closedFlag.withLock { () throws(TokenStoreError) in
            guard !isClosed else { return }
            closedState.store(true, ordering: .releasing)
            try registry.store.close()
        }
    }

    /// Forces every acknowledged write to disk, whatever the durability mode.
    public func sync() throws(TokenStoreError) {
        try checkOpen()
        try registry.store.sync()
    }

    /// Writes the in-memory state to the shard files and trims the log; bounds recovery.
    public func checkpoint() throws(TokenStoreError) {
        try checkOpen()
        try registry.store.checkpoint()
    }

    /// The options the store runs with (`shards` as read from the manifest).
    public var options: StoreOptions { openOptions }

    /// The directory of the store.
    public var path: String { registry.store.directory }

    @inline(__always) func checkOpen() throws(TokenStoreError) {
        if isClosed { throw TokenStoreError(.closed, "the store was closed") }
    }

    /// Runs a write and commits it per the durability mode.
    @inline(__always)
    func write<R>(_ body: () throws -> (R, UInt64)) throws(TokenStoreError) -> R {
        try checkOpen()
        do {
            let (result, lsn) = try body()
            if lsn != 0 { try registry.store.commit(lsn) }
            return result
        } catch { throw TokenStoreError(converting: error) }
    }

    // MARK: Writes

    /// Upserts the key's token (DOMAIN.md "register").
    ///
    /// A token held by another key moves here; a different token on this key is replaced; a
    /// different user takes the key over as in `changeUser`; a `nil` user keeps the owner.
    /// - Returns: `.stale` when `at` is older than the key's stored event time.
    @discardableResult
    public func register(_ registration: Registration) throws(TokenStoreError) -> WriteOutcome {
        let r = registration
        return try write {
            try withArguments(r.deviceID, r.appID, r.token, r.userID ?? "") { device, app, token, user in
                try registerOperation(device, app, token, r.platform, r.authorization, r.userID == nil ? nil : user, at: r.at)
            }
        }
    }

    /// Moves the key's token to `userID` (login on a shared device); `nil` makes it anonymous.
    /// - Throws: `notFound` when the key holds no token.
    @discardableResult
    public func changeUser(deviceID: String, appID: String, userID: String?, at: Int64)
        throws(TokenStoreError) -> WriteOutcome
    {
        try write {
            try withArguments(deviceID, appID, userID ?? "", "") { device, app, user, _ in
                try changeUserOperation(device, app, userID == nil ? nil : user, at: at)
            }
        }
    }

    /// Records that the user turned visible notifications off (`background`) or back on.
    /// - Throws: `notFound` when the key holds no token.
    @discardableResult
    public func setAuthorization(deviceID: String, appID: String, authorization: Authorization, at: Int64)
        throws(TokenStoreError) -> WriteOutcome
    {
        try write {
            try withArguments(deviceID, appID, "", "") { device, app, _, _ in
                try setAuthorizationOperation(device, app, authorization, at: at)
            }
        }
    }

    /// Sets a user's subscription, creating the user if needed. The last value set wins.
    @discardableResult
    public func setSubscription(userID: String, subscription: Subscription, at: Int64)
        throws(TokenStoreError) -> WriteOutcome
    {
        try write {
            try withArguments(userID, "", "", "") { user, _, _, _ in
                try setSubscriptionOperation(user, subscription, at: at)
            }
        }
    }

    /// Applies a provider's rejection of `token` (DOMAIN.md's bounce table).
    ///
    /// - Parameters:
    ///   - providerTimestamp: when the provider confirmed the token invalid (APNs 410); a
    ///     removing bounce is stale when the token registered strictly later.
    /// - Throws: `notFound` when no key holds the token.
    public func bounce(token: String, errorCode: String, providerTimestamp: Int64? = nil, at: Int64)
        throws(TokenStoreError) -> BounceResult
    {
        try write {
            try withArguments(token, errorCode, "", "") { token, code, _, _ in
                try bounceOperation(token, code, providerTimestamp: providerTimestamp, at: at)
            }
        }
    }

    /// Removes the key's token because the app was uninstalled.
    /// - Throws: `notFound` when the key holds no token.
    @discardableResult
    public func uninstall(deviceID: String, appID: String, at: Int64) throws(TokenStoreError) -> WriteOutcome {
        try write {
            try withArguments(deviceID, appID, "", "") { device, app, _, _ in
                try uninstallOperation(device, app, at: at)
            }
        }
    }

    /// Expires every token whose `updatedAt` is strictly older than `olderThan`, leaving a
    /// tombstone at `at` for each, and drops the tombstones older than `at` by more than the
    /// store's `tombstoneRetention`.
    /// - Returns: how many tokens were removed.
    /// - Complexity: O(tokens); each shard is locked in turn, never all at once.
    public func sweep(olderThan: Int64, platform: Platform? = nil, at: Int64) throws(TokenStoreError) -> Int {
        try checkOpen()
        do {
            var removed = 0
            for shard in 0..<registry.store.shards.count {
                // Collect candidates under a shared lock, then expire each through the
                // normal write path, which re-checks under the exclusive locks.
                var keys: [([UInt8], [UInt8])] = []
                try registry.forEachKeyRecord(inShard: shard) { view in
                    if view.updatedAt < olderThan && (platform == nil || view.platform == platform) {
                        keys.append((Array(view.deviceID), Array(view.appID)))
                    }
                }
                for (device, app) in keys {
                    let hit: Bool = try write {
                        try device.withUnsafeBytes { d in
                            try app.withUnsafeBytes { a in
                                var op = Operation(code: .expire, a: platform?.rawValue ?? 0, at: at)
                                op.aux = olderThan
                                (op.s0, op.s1) = (d, a)
                                return try registry.expire(op, logging: true)
                            }
                        }
                    }
                    if hit { removed += 1 }
                }
                // The sweep's time moves the shard's tombstone clock: what it expires goes.
                _ = try write {
                    try registry.purgeTombstones(Operation(code: .purgeTombstones, at: at, aux: Int64(shard)), logging: true)
                }
            }
            return removed
        } catch { throw TokenStoreError(converting: error) }
    }

    // MARK: Reads

    /// The key's token, copied.
    public func token(deviceID: String, appID: String) throws(TokenStoreError) -> TokenRecord? {
        do { return try withToken(deviceID: deviceID, appID: appID) { $0.record } } catch {
            throw TokenStoreError(converting: error)
        }
    }

    /// Calls `body` with a zero-copy view of the key's token; `nil` when the key holds none.
    public func withToken<R>(deviceID: String, appID: String, _ body: (TokenView) throws -> R) throws -> R? {
        try checkOpen()
        return try withArguments(deviceID, appID, "", "") { device, app, _, _ in
            try Validate.key(device, app)
            return try registry.withKey(device, app, body)
        }
    }

    /// Zero-copy lookup for callers that already hold validated UTF-8 bytes (the C boundary).
    public func withToken<R>(deviceID: UnsafeRawBufferPointer, appID: UnsafeRawBufferPointer, _ body: (TokenView) throws -> R) throws -> R? {
        try checkOpen()
        try Validate.key(deviceID, appID)
        return try registry.withKey(deviceID, appID, body)
    }

    /// All tokens a user owns, copied.
    public func tokens(userID: String) throws(TokenStoreError) -> [TokenRecord] {
        var out: [TokenRecord] = []
        do { try forEachToken(userID: userID) { out.append($0.record); return true } } catch {
            throw TokenStoreError(converting: error)
        }
        return out
    }

    /// Calls `body` for each token the user owns until it returns `false`.
    public func forEachToken(userID: String, _ body: (TokenView) throws -> Bool) throws {
        try checkOpen()
        try withArguments(userID, "", "", "") { user, _, _, _ in
            try Validate.user(user)
            try registry.forEachToken(ofUser: user) { view, _ in try body(view) }
        }
    }

    /// Zero-copy form of `forEachToken(userID:_:)` for validated UTF-8 bytes.
    public func forEachToken(userID: UnsafeRawBufferPointer, _ body: (TokenView) throws -> Bool) throws {
        try checkOpen()
        try Validate.user(userID)
        try registry.forEachToken(ofUser: userID) { view, _ in try body(view) }
    }

    /// The "Push registered for" lines: `Foreground: <app>` or `Background: <app>` per token.
    public func registeredFor(userID: String) throws(TokenStoreError) -> [String] {
        try tokens(userID: userID).map {
            ($0.authorization.showsVisiblePush(quarantined: $0.isQuarantined) ? "Foreground: " : "Background: ")
                + ($0.appID.isEmpty ? "--" : $0.appID)
        }
    }

    /// The tokens a campaign may push to now for this user and app.
    ///
    /// Visible pushes need a foreground or provisional token and a user who is not
    /// unsubscribed; silent pushes take any token. Quarantined tokens are never sendable.
    public func sendableTokens(userID: String, appID: String, kind: PushKind) throws(TokenStoreError) -> [TokenRecord] {
        var out: [TokenRecord] = []
        do {
            try checkOpen()
            try withArguments(userID, appID, "", "") { user, app, _, _ in
                try Validate.user(user)
                try Validate.text(app, "app id", max: Limits.maxAppIDBytes)
                try registry.forEachToken(ofUser: user) { view, subscription in
                    if equalBytes(view.appID, app), kind.mayPush(to: view, ownedBy: subscription) { out.append(view.record) }
                    return true
                }
            }
        } catch { throw TokenStoreError(converting: error) }
        return out
    }

    /// The user's subscription state; `nil` for an unknown user.
    public func user(userID: String) throws(TokenStoreError) -> UserState? {
        do {
            try checkOpen()
            return try withArguments(userID, "", "", "") { user, _, _, _ in
                try Validate.user(user)
                return try registry.userState(user)
            }
        } catch { throw TokenStoreError(converting: error) }
    }

    /// How many users match the segment.
    /// - Complexity: O(shards), from counters kept on every write.
    public func count(_ segment: Segment) throws(TokenStoreError) -> Int {
        do {
            try checkOpen()
            if case .foregroundPushEnabledForApp(let app) = segment {
                try withArguments(app, "", "", "") { a, _, _, _ in try Validate.text(a, "app id", max: Limits.maxAppIDBytes) }
            }
            return try registry.count(segment)
        } catch { throw TokenStoreError(converting: error) }
    }

    /// Streams the ids of the users in the segment until `body` returns `false`.
    ///
    /// Each shard is locked while its users stream, so `body` must not call into the store.
    public func forEachUser(in segment: Segment, _ body: (UnsafeRawBufferPointer) throws -> Bool) throws {
        try checkOpen()
        if case .foregroundPushEnabledForApp(let app) = segment {
            try withArguments(app, "", "", "") { a, _, _, _ in try Validate.text(a, "app id", max: Limits.maxAppIDBytes) }
        }
        try registry.forEachUser(in: segment, body)
    }

    /// The ids of the users in the segment, copied.
    public func users(in segment: Segment) throws(TokenStoreError) -> [String] {
        var out: [String] = []
        do { try forEachUser(in: segment) { out.append(String(decoding: $0, as: UTF8.self)); return true } } catch {
            throw TokenStoreError(converting: error)
        }
        return out
    }

    /// The user's push changelog, oldest first.
    public func changelog(userID: String) throws(TokenStoreError) -> [ChangeEntry] {
        var out: [ChangeEntry] = []
        do { try forEachChange(userID: userID) { out.append($0.entry); return true } } catch {
            throw TokenStoreError(converting: error)
        }
        return out
    }

    /// Streams the user's changelog, oldest first, until `body` returns `false`.
    public func forEachChange(userID: String, _ body: (ChangeView) throws -> Bool) throws {
        try checkOpen()
        try withArguments(userID, "", "", "") { user, _, _, _ in
            try Validate.user(user)
            try registry.forEachChange(ofUser: user, body)
        }
    }

    /// The user's export in DOMAIN.md's `push_tokens` JSON shape; `nil` for an unknown user.
    public func exportJSON(userID: String) throws(TokenStoreError) -> String? {
        guard let state = try user(userID: userID) else { return nil }
        return ExportJSON.user(userID, state: state, tokens: try tokens(userID: userID))
    }

    /// Live token count.
    public func count() throws(TokenStoreError) -> Int {
        try checkOpen()
        return registry.sum(.tokens)[0]
    }

    /// Tokens per platform and authorization, users, and bounces by outcome.
    public func statistics() throws(TokenStoreError) -> StoreStatistics {
        try checkOpen()
        return registry.statistics()
    }

    // MARK: Maintenance

    /// Calls `body` for every token in the store, shard by shard, until it returns `false`.
    /// Used by `dump`; with no concurrent writers the result is a consistent snapshot.
    public func forEachRecord(_ body: (TokenView) throws -> Bool) throws {
        try checkOpen()
        try registry.forEachKeyRecord(body)
    }

    /// Calls `body` for every known user and their subscription state until it returns `false`.
    public func forEachUserState(_ body: (UnsafeRawBufferPointer, UserState) throws -> Bool) throws {
        try checkOpen()
        try registry.forEachUserRecord(body)
    }

    /// The format, shard count, files, live and dead bytes, and the last checkpoint.
    public func storageReport() throws(TokenStoreError) -> StorageReport {
        try checkOpen()
        return try registry.storageReport()
    }

    /// What this handle has written since it opened: log, checkpoints, and their pauses.
    /// The benchmark reports it per phase; cheap enough to read at any time.
    public var writeActivity: WriteActivity { registry.store.activity }

    /// Checks every checksum and that each index agrees with the primary records.
    /// - Returns: a description of each problem found; empty when the store is sound.
    public func verify() throws(TokenStoreError) -> [String] {
        try checkOpen()
        return registry.verify()
    }
}

/// What `TokenStore.storageReport()` returns: the store's shape on disk.
public struct StorageReport: Sendable {
    /// One file of the store.
    public struct File: Sendable {
        /// The name inside the store directory.
        public var name: String
        /// Its logical size in bytes.
        public var bytes: Int
        /// Bytes the filesystem allocated for it (sparse files use less).
        public var allocatedBytes: Int
    }
    /// The on-disk format version.
    public var formatVersion: UInt32
    /// Lock stripes.
    public var shards: Int
    /// Every file in the directory that belongs to the store.
    public var files: [File]
    /// Bytes of live records in the shard heaps.
    public var liveBytes: Int
    /// Bytes of freed records not yet reused.
    public var deadBytes: Int
    /// When the last checkpoint finished (ms since the epoch); 0 if never.
    public var lastCheckpointAt: Int64
    /// Bytes of write-ahead log since that checkpoint.
    public var logBytes: Int
}

/// Bytes written and checkpoints taken by one open handle, counted from its open.
public struct WriteActivity: Sendable, Equatable {
    /// Bytes appended to the write-ahead log, record headers included.
    public var logBytes: UInt64 = 0
    /// Bytes checkpoints wrote: the journal and the pages written into the shard files.
    public var checkpointBytes: UInt64 = 0
    /// Other bytes: manifests and zero-filled space reserved for files that grew.
    public var otherBytes: UInt64 = 0
    /// Checkpoints completed.
    public var checkpoints: UInt64 = 0
    /// The longest time any checkpoint held writers out, in nanoseconds (all stripes, or one).
    public var longestCheckpointPauseNanoseconds: UInt64 = 0
}
