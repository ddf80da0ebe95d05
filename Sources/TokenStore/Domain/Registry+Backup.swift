/// Whole-store reads for a backup, in an order that depends only on the store's contents
/// and shard count: shard by shard, and sorted within each shard. The slot order of the
/// hash index depends on the history of inserts and growths, so two stores with the same
/// contents would otherwise read back in different orders.
extension Registry {
    /// Calls `body` with every key record, shard by shard, by device then app bytes within
    /// a shard, until it returns `false`. Each shard is read under its shared lock.
    /// - Complexity: O(n log n); memory for one shard's keys.
    func forEachKeyRecordSorted(_ body: (TokenView) throws -> Bool) throws {
        for (i, shard) in store.allPages.enumerated() {
            store.locks.lockShared(i)
            defer { store.locks.unlock(i) }
            var records: [KeyRecord] = []
            try keyRecords(in: shard) { records.append($0) }
            records.sort { a, b in
                equalBytes(a.device, b.device) ? a.app.lexicographicallyPrecedes(b.app) : a.device.lexicographicallyPrecedes(b.device)
            }
            for record in records where try !body(view(record)) { return }
        }
    }

    /// Calls `body` with every user and their changelog, shard by shard, by user id bytes
    /// within a shard, until it returns `false`. Each shard is read under its shared lock.
    /// - Complexity: O(n log n); memory for one shard's user references.
    func forEachUserRecordSorted(_ body: (UserView) throws -> Bool) throws {
        for (i, shard) in store.allPages.enumerated() {
            store.locks.lockShared(i)
            defer { store.locks.unlock(i) }
            var users: [UserRecord] = []
            _ = try userRecords(in: shard) { users.append($0); return true }
            users.sort { $0.user.lexicographicallyPrecedes($1.user) }
            for user in users {
                var changelog: [ChangeView] = []
                try forEachChange(of: user) { changelog.append($0); return true }
                let eventAt = user.subscriptionEventAt
                let view = UserView(
                    userID: user.user, state: user.state, subscriptionAt: eventAt == 0 ? nil : eventAt, changelog: changelog)
                if try !body(view) { return }
            }
        }
    }
}
