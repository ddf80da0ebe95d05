/// What salvage dropped from a damaged write-ahead log: the report of an open with
/// `StoreOptions.dropDamagedLog`.
///
/// Salvage keeps the log up to its first damage and drops everything after it, valid or
/// not: replaying records past a hole would build a state no sequence of acknowledged writes
/// produced.
public struct DroppedLog: Sendable, Equatable, CustomStringConvertible {
    /// The damage, naming the file and the position, as a plain open refuses it.
    public var reason: String
    /// The log positions dropped, from the damage to the end of the last valid record found
    /// after it.
    public var positions: Range<UInt64>
    /// The valid writes found after the damage and dropped with it. The damaged records
    /// themselves cannot be counted.
    public var records: Int
    /// Whether `records` counts everything dropped; false when part of it could not be read
    /// at all (a missing segment, a damaged header, synced records that are gone).
    public var countIsExact: Bool
    /// The earliest and latest `at` time (ms since 1970) of the dropped writes that could be
    /// read; `nil` when none could.
    public var times: ClosedRange<Int64>?
    /// The log segment files erased from the damage on, recreated, or deleted.
    public var files: [String]

    init(_ dropped: DroppedRecords, times: ClosedRange<Int64>?) {
        reason = dropped.reason
        positions = dropped.positions
        records = dropped.records
        countIsExact = dropped.countIsExact
        self.times = times
        files = dropped.files
    }

    /// One line per fact, for logs and the command-line tool.
    public var description: String {
        var lines = ["damage: \(reason)"]
        lines.append("positions: \(positions.lowerBound)..<\(positions.upperBound)")
        lines.append("records: \(records)\(countIsExact ? "" : " at least (part of the log could not be read)")")
        if let times { lines.append("times: \(times.lowerBound)...\(times.upperBound) ms") }
        lines.append("files: \(files.joined(separator: ", "))")
        return lines.joined(separator: "\n")
    }
}

extension TokenStore {
    /// Salvages the store at `path`: opens it with `dropDamagedLog` and closes it again.
    ///
    /// Like SQLite's `.recover` or PostgreSQL's `pg_resetwal`, an explicit operator's act:
    /// a damaged log is cut at its first damage, and everything after it is dropped and
    /// reported. A sound store is opened and closed unchanged.
    /// - Returns: what was dropped; `nil` when nothing was.
    /// - Throws: `notFound` when there is no store, `corrupt` for damage salvage cannot cut
    ///   away (a damaged manifest or shard file, a logged write that cannot be applied),
    ///   `locked`, `io`.
    public static func recover(path: String, options: StoreOptions = StoreOptions()) throws(TokenStoreError) -> DroppedLog? {
        var options = options
        options.mustExist = true
        options.dropDamagedLog = true
        let store = try TokenStore(path: path, options: options)
        let dropped = store.droppedLog
        try store.close()
        return dropped
    }
}
