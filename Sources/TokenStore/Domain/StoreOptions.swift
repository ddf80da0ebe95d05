/// How hard the store works to keep acknowledged writes across an OS crash or power loss.
///
/// Every mode survives `kill -9` of the process without losing an acknowledged write: the
/// write-ahead log lives in a shared mapping, so a returned call is already in the kernel's
/// page cache. The modes differ only in when that cache is forced to the disk.
public enum Durability: Sendable, Equatable {
    /// Never force the log; the OS flushes when it likes.
    case none
    /// Force the log every `milliseconds` from a background thread (Redis's `everysec`).
    /// A power loss loses at most that window.
    case interval(milliseconds: Int)
    /// Force the log before every write returns. Concurrent writers share one `fdatasync`.
    case always
}

/// Settings chosen when a store is opened.
public struct StoreOptions: Sendable, Equatable {
    /// Lock stripes; a power of two from 1 to 4096. Fixed when the store is created and read
    /// from the manifest afterwards (a different value on reopen is ignored).
    public var shards: Int = 64
    /// When writes are forced to disk.
    public var durability: Durability = .interval(milliseconds: 1000)
    /// Quarantine tokens on sender/credential-mismatch bounces instead of removing them.
    /// Fixed when the store is created, like `shards`, so that recovery replays each bounce
    /// as it was applied.
    public var quarantineMisconfigured: Bool = false
    /// The most changelog entries kept per user; older ones are dropped first. 1...4096.
    /// Fixed when the store is created.
    public var changelogLimit: Int = 64
    /// How long the tombstone of a removal (uninstall, removing bounce, expiry sweep) holds,
    /// in milliseconds of event time: while it holds, a late write to the key that is older
    /// than the removal is stale. Whole seconds from 1 s to 2³²−1 s; default 30 days. Fixed
    /// when the store is created, so that recovery judges each write as it was judged live.
    public var tombstoneRetention: Int64 = StoreOptions.defaultTombstoneRetention
    /// Write-ahead log bytes after which the store checkpoints at the latest, bounding
    /// recovery work. It checkpoints sooner once the log passes the bytes the checkpoint
    /// would write, and five minutes after the last checkpoint.
    public var checkpointLogBytes: Int = 64 << 20
    /// Open only an existing store; fail with `notFound` when the directory holds none.
    public var mustExist: Bool = false
    /// Salvage a damaged write-ahead log: cut it at the damage and drop every record after
    /// it, instead of failing with `corrupt`. An operator's act, never a default: what was
    /// dropped is in `TokenStore.droppedLog` (see `TokenStore.recover`).
    public var dropDamagedLog: Bool = false

    /// The defaults: 64 shards, 1000 ms interval durability, removal on mismatch, 64 entries,
    /// tombstones kept 30 days.
    public init() {}

    /// The default `tombstoneRetention`: 30 days, in milliseconds.
    public static let defaultTombstoneRetention: Int64 = 30 * 86_400_000

    /// The retentions a store accepts, in milliseconds (and they must be whole seconds).
    public static let tombstoneRetentionRange: ClosedRange<Int64> = 1000...(Int64(UInt32.max) * 1000)
}

/// The documented size limits, in UTF-8 bytes. Larger values are rejected with `tooLarge`.
public enum Limits {
    /// Longest device id.
    public static let maxDeviceIDBytes = 256
    /// Longest app id.
    public static let maxAppIDBytes = 256
    /// Longest user id.
    public static let maxUserIDBytes = 256
    /// Longest token: Web Push subscriptions need a few hundred bytes; 4 KiB leaves room.
    public static let maxTokenBytes = 4096
    /// Longest provider error code passed to `bounce`.
    public static let maxErrorCodeBytes = 128
}
