/// Reading a whole store for a backup: every stored field, in an order that depends only on
/// the contents and the shard count, so that the same store always reads back the same way
/// (`tokenstore dump` relies on it for byte-identical dumps). `restore(_:eventAt:keptBounces:)`,
/// `restoreUser`, `restoreChange` and `restoreBounceStatistics` write it back.
extension TokenStore {
    /// Calls `body` with every token, shard by shard and sorted by device then app bytes
    /// within a shard, until it returns `false`.
    ///
    /// Each shard stays locked while its records stream, so `body` must not call into the
    /// store; with no concurrent writers the result is a consistent snapshot.
    /// - Complexity: O(n log n) time; memory for one shard's keys.
    public func forEachBackupRecord(_ body: (TokenView) throws -> Bool) throws {
        try checkOpen()
        try registry.forEachKeyRecordSorted(body)
    }

    /// Calls `body` with every known user, their subscription times and their changelog
    /// (oldest first), shard by shard and sorted by user id bytes within a shard, until it
    /// returns `false`. The same locking rules as `forEachBackupRecord` apply.
    public func forEachBackupUser(_ body: (UserView) throws -> Bool) throws {
        try checkOpen()
        try registry.forEachUserRecordSorted(body)
    }

    /// Calls `body` with every tombstone that has not expired, in the order of
    /// `forEachBackupRecord`, until it returns `false`. The same locking rules apply.
    /// Expired tombstones are left out: they act nowhere, so a backup need not keep them.
    public func forEachBackupTombstone(_ body: (Tombstone) throws -> Bool) throws {
        try checkOpen()
        try registry.forEachTombstoneSorted(body)
    }
}
