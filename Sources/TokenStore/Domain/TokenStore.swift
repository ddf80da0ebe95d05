/// An embeddable, sharded, crash-safe store of push tokens.
///
/// A store is a directory. Open it once per process (a second process gets `locked`); the
/// handle is safe to share between threads. Each call locks only the stripes it touches.
///
/// Closures passed to `with…`/`forEach…` run while stripe locks are held: they must not call
/// back into the same store, and must not escape the buffers they receive.
public final class TokenStore: @unchecked Sendable {
    /// The on-disk format version this build reads and writes.
    public static let formatVersion: UInt32 = 1

    /// Opens the store in `path`, creating the directory and an empty store when absent.
    ///
    /// Recovery after a crash runs here and costs the work since the last checkpoint.
    /// - Throws: `locked` if another process has it open, `versionMismatch` for an unknown
    ///   format, `corrupt` naming the damaged file, `io`, `invalidArgument` for bad options.
    public init(path: String, options: StoreOptions = StoreOptions()) throws(TokenStoreError) {
        fatalError("unimplemented")
    }

    /// Flushes, checkpoints and releases the store. Further calls throw `closed`.
    public func close() throws(TokenStoreError) { fatalError("unimplemented") }

    /// Forces every acknowledged write to disk, whatever the durability mode.
    public func sync() throws(TokenStoreError) { fatalError("unimplemented") }

    /// Writes the in-memory state to the shard files and trims the log; bounds recovery.
    public func checkpoint() throws(TokenStoreError) { fatalError("unimplemented") }

    /// The options the store runs with (`shards` as read from the manifest).
    public var options: StoreOptions { fatalError("unimplemented") }

    /// The directory of the store.
    public var path: String { fatalError("unimplemented") }

    // MARK: Writes

    /// Upserts the key's token (DOMAIN.md "register").
    ///
    /// A token held by another key moves here; a different token on this key is replaced; a
    /// different user takes the key over as in `changeUser`; a `nil` user keeps the owner.
    /// - Returns: `.stale` when `at` is older than the key's stored event time.
    @discardableResult
    public func register(_ registration: Registration) throws(TokenStoreError) -> WriteOutcome {
        fatalError("unimplemented")
    }

    /// Moves the key's token to `userID` (login on a shared device); `nil` makes it anonymous.
    /// - Throws: `notFound` when the key holds no token.
    @discardableResult
    public func changeUser(deviceID: String, appID: String, userID: String?, at: Int64)
        throws(TokenStoreError) -> WriteOutcome
    { fatalError("unimplemented") }

    /// Records that the user turned visible notifications off (`background`) or back on.
    /// - Throws: `notFound` when the key holds no token.
    @discardableResult
    public func setAuthorization(deviceID: String, appID: String, authorization: Authorization, at: Int64)
        throws(TokenStoreError) -> WriteOutcome
    { fatalError("unimplemented") }

    /// Sets a user's subscription, creating the user if needed. The last value set wins.
    @discardableResult
    public func setSubscription(userID: String, subscription: Subscription, at: Int64)
        throws(TokenStoreError) -> WriteOutcome
    { fatalError("unimplemented") }

    /// Applies a provider's rejection of `token` (DOMAIN.md's bounce table).
    ///
    /// - Parameters:
    ///   - providerTimestamp: when the provider confirmed the token invalid (APNs 410); a
    ///     removing bounce is stale when the token registered strictly later.
    /// - Throws: `notFound` when no key holds the token.
    public func bounce(token: String, errorCode: String, providerTimestamp: Int64? = nil, at: Int64)
        throws(TokenStoreError) -> BounceResult
    { fatalError("unimplemented") }

    /// Removes the key's token because the app was uninstalled.
    /// - Throws: `notFound` when the key holds no token.
    @discardableResult
    public func uninstall(deviceID: String, appID: String, at: Int64) throws(TokenStoreError) -> WriteOutcome {
        fatalError("unimplemented")
    }

    /// Expires every token whose `updatedAt` is strictly older than `olderThan`.
    /// - Returns: how many tokens were removed.
    /// - Complexity: O(tokens); each shard is locked in turn, never all at once.
    public func sweep(olderThan: Int64, platform: Platform? = nil, at: Int64) throws(TokenStoreError) -> Int {
        fatalError("unimplemented")
    }

    // MARK: Reads

    /// The key's token, copied.
    public func token(deviceID: String, appID: String) throws(TokenStoreError) -> TokenRecord? {
        fatalError("unimplemented")
    }

    /// Calls `body` with a zero-copy view of the key's token; `nil` when the key holds none.
    public func withToken<R>(deviceID: String, appID: String, _ body: (TokenView) throws -> R) throws -> R? {
        fatalError("unimplemented")
    }

    /// All tokens a user owns, copied.
    public func tokens(userID: String) throws(TokenStoreError) -> [TokenRecord] { fatalError("unimplemented") }

    /// Calls `body` for each token the user owns until it returns `false`.
    public func forEachToken(userID: String, _ body: (TokenView) throws -> Bool) throws {
        fatalError("unimplemented")
    }

    /// The "Push registered for" lines: `Foreground: <app>` or `Background: <app>` per token.
    public func registeredFor(userID: String) throws(TokenStoreError) -> [String] { fatalError("unimplemented") }

    /// The tokens a campaign may push to now for this user and app.
    ///
    /// Visible pushes need a foreground or provisional token and a user who is not
    /// unsubscribed; silent pushes take any token. Quarantined tokens are never sendable.
    public func sendableTokens(userID: String, appID: String, kind: PushKind) throws(TokenStoreError) -> [TokenRecord] {
        fatalError("unimplemented")
    }

    /// The user's subscription state; `nil` for an unknown user.
    public func user(userID: String) throws(TokenStoreError) -> UserState? { fatalError("unimplemented") }

    /// How many users match the segment.
    /// - Complexity: O(shards), from counters kept on every write.
    public func count(_ segment: Segment) throws(TokenStoreError) -> Int { fatalError("unimplemented") }

    /// Streams the ids of the users in the segment until `body` returns `false`.
    ///
    /// Each shard is locked while its users stream, so `body` must not call into the store.
    public func forEachUser(in segment: Segment, _ body: (UnsafeRawBufferPointer) throws -> Bool) throws {
        fatalError("unimplemented")
    }

    /// The ids of the users in the segment, copied.
    public func users(in segment: Segment) throws(TokenStoreError) -> [String] { fatalError("unimplemented") }

    /// The user's push changelog, oldest first.
    public func changelog(userID: String) throws(TokenStoreError) -> [ChangeEntry] { fatalError("unimplemented") }

    /// Streams the user's changelog, oldest first, until `body` returns `false`.
    public func forEachChange(userID: String, _ body: (ChangeView) throws -> Bool) throws {
        fatalError("unimplemented")
    }

    /// The user's export in DOMAIN.md's `push_tokens` JSON shape; `nil` for an unknown user.
    public func exportJSON(userID: String) throws(TokenStoreError) -> String? { fatalError("unimplemented") }

    /// Live token count.
    public func count() throws(TokenStoreError) -> Int { fatalError("unimplemented") }

    /// Tokens per platform and authorization, users, and bounces by outcome.
    public func statistics() throws(TokenStoreError) -> StoreStatistics { fatalError("unimplemented") }

    // MARK: Maintenance

    /// Calls `body` for every token in the store, shard by shard, until it returns `false`.
    /// Used by `dump`; with no concurrent writers the result is a consistent snapshot.
    public func forEachRecord(_ body: (TokenView) throws -> Bool) throws { fatalError("unimplemented") }

    /// Calls `body` for every known user and their subscription state until it returns `false`.
    public func forEachUserState(_ body: (UnsafeRawBufferPointer, UserState) throws -> Bool) throws {
        fatalError("unimplemented")
    }

    /// The format, shard count, files, live and dead bytes, and the last checkpoint.
    public func storageReport() throws(TokenStoreError) -> StorageReport { fatalError("unimplemented") }

    /// Checks every checksum and that each index agrees with the primary records.
    /// - Returns: a description of each problem found; empty when the store is sound.
    public func verify() throws(TokenStoreError) -> [String] { fatalError("unimplemented") }
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
