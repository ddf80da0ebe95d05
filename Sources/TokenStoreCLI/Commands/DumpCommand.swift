import TokenStore

/// `tokenstore dump PATH`: a full backup as NDJSON, which `load` restores into the same store.
enum DumpCommand: Command {
    static let name = "dump"
    static let summary = "write a full backup of the store as NDJSON, which load restores"
    static let help = """
        Usage: tokenstore dump PATH

        Writes a consistent snapshot of the whole store to stdout as NDJSON (dump format 3),
        so that `tokenstore dump OLD | tokenstore load NEW` restores the same store, and
        `dump` of NEW gives the same bytes:

        1. a header with the format version and the options fixed at creation:
           {"tokenstore_dump":3,"shards":N,"quarantine_misconfigured":B,"changelog_limit":N,
            "tombstone_retention_ms":N}
        2. per user: a "user" record (subscription, when it was set, opted_in_at,
           unsubscribed_at), then a "change" record per changelog entry, oldest first;
        3. a "token" record per token: owner, platform, authorization, created_at,
           updated_at, the key's last event time (event_at), quarantine, kept bounces;
        4. a "tombstone" record per removal still within the retention: the key, the
           removed token's hash, the removal's time (at), and whether a bounce made it;
        5. a "bounce_statistics" record: bounces so far by outcome and by category.

        Records come shard by shard, sorted within each shard, so the same contents always
        give the same bytes. `load --help` lists every record's fields. The tool holds the
        store open while it dumps, so no other process can write to it. Progress shows on
        stderr when it is a terminal.
        """
    static let spec = ArgumentSpec(positionals: ["PATH"])

    static func run(_ arguments: ParsedArguments, io: ToolIO) throws(CommandFailure) {
        let out = io.stdout
        let progress = Progress(label: "dump", unit: "records", io: io)
        var written = 0
        try StoreAccess.with(arguments.positionals[0]) { store throws(CommandFailure) in
            do {
                out.write(bytes: DumpHeader(store.options).jsonLine)
                out.line("")
                try store.forEachBackupUser { user in
                    out.write(bytes: BackupRecord.lines(for: user))
                    written += 1
                    progress.update(written)
                    return !out.failed
                }
                try store.forEachBackupRecord { record in
                    out.write(bytes: BackupRecord.line(for: record))
                    out.line("")
                    written += 1
                    progress.update(written)
                    return !out.failed
                }
                try store.forEachBackupTombstone { tombstone in
                    out.write(bytes: BackupRecord.line(for: tombstone))
                    out.line("")
                    written += 1
                    progress.update(written)
                    return !out.failed
                }
                out.write(bytes: BackupRecord.line(bounceStatistics: try store.statistics()))
                out.line("")
            } catch {
                progress.finish()
                throw StoreAccess.failure(error, "dumping")
            }
        }
        progress.finish()
    }
}
