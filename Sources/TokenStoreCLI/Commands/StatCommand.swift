import TokenStore

/// `tokenstore stat PATH`: the store's shape and counts, like `mdb_stat`.
enum StatCommand: Command {
    static let name = "stat"
    static let summary = "format, shards, counts, segment sizes, files and bytes"
    static let help = """
        Usage: tokenstore stat PATH [--files] [--json]

        Prints the store's format version, shards (and how many have files: a shard gets them
        at the first checkpoint after it is written) and the other options fixed at creation
        (quarantine on mismatch, changelog limit), token and user counts, tokens by platform
        and authorization, segment counts, bounces applied, file sizes (grouped by kind),
        live versus dead bytes in the shard heaps, and when the store was last checkpointed.

        Options:
          --files   list every file instead of one line per kind
          --json    one JSON object instead of the text report (always lists every file)
        """
    static let spec = ArgumentSpec(positionals: ["PATH"], flags: ["--json", "--files"])

    /// A file's kind for the grouped listing: its extension (`heap`, `index`, `log`) or its name.
    static func kind(of name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
        return "*" + name[dot...]
    }

    /// How many shards have files among `files`: a shard without any was never checkpointed
    /// after a write, so a small store has few.
    static func shardsWithFiles(_ files: [StorageReport.File]) -> Int {
        Set(files.compactMap { $0.name.hasPrefix("shard-") && $0.name.hasSuffix(".heap") ? $0.name.dropLast(5) : nil }).count
    }

    /// The segments `stat` counts (per-app segments need an app; see `segment`).
    static let countedSegments: [(String, Segment)] = [
        ("foreground_push_enabled", .foregroundPushEnabled),
        ("background_or_foreground_push_enabled", .backgroundOrForegroundPushEnabled),
        ("subscribed", .subscription(.subscribed)),
        ("opted_in", .subscription(.optedIn)),
        ("unsubscribed", .subscription(.unsubscribed)),
    ]

    static func run(_ arguments: ParsedArguments, io: ToolIO) throws(CommandFailure) {
        let path = arguments.positionals[0]
        let (report, statistics, segments, options) = try StoreAccess.with(path) { store throws(CommandFailure) in
            do {
                let report = try store.storageReport()
                let statistics = try store.statistics()
                var segments: [(String, Int)] = []
                for (name, segment) in countedSegments { segments.append((name, try store.count(segment))) }
                return (report, statistics, segments, store.options)
            } catch {
                throw StoreAccess.failure(error, "reading statistics")
            }
        }
        let out = io.stdout
        if arguments.has("--json") {
            out.write(bytes: json(report, statistics, segments, options))
            out.line("")
            return
        }
        out.line("format version:   \(report.formatVersion)")
        out.line("shards:           \(report.shards) (\(shardsWithFiles(report.files)) with files)")
        out.line("on mismatch:      \(options.quarantineMisconfigured ? "quarantine" : "remove")")
        out.line("changelog limit:  \(options.changelogLimit)")
        out.line("tombstones kept:  \(DumpHeader.describe(options.tombstoneRetention))")
        out.line("tokens:           \(formatCount(statistics.tokens))")
        out.line("quarantined:      \(formatCount(statistics.quarantined))")
        out.line("tombstones:       \(formatCount(statistics.tombstones))")
        out.line("users:            \(formatCount(statistics.users))")
        out.line("by platform:      " + Platform.allCases.map { "\($0) \(formatCount(statistics.byPlatform[$0] ?? 0))" }.joined(separator: ", "))
        out.line("by authorization: " + Authorization.allCases.map { "\($0) \(formatCount(statistics.byAuthorization[$0] ?? 0))" }.joined(separator: ", "))
        out.line("bounces:          " + BounceOutcome.allCases.map { "\($0) \(formatCount(statistics.bouncesByOutcome[$0] ?? 0))" }.joined(separator: ", "))
        out.line("segments:")
        for (name, count) in segments { out.line("  \(name): \(formatCount(count))") }
        out.line("files:")
        let files = report.files.sorted(by: { $0.name < $1.name })
        if arguments.has("--files") {
            for file in files {
                out.line("  \(file.name): \(formatBytes(file.bytes)) (\(formatBytes(file.allocatedBytes)) allocated)")
            }
        } else {
            var groups: [(kind: String, count: Int, bytes: Int, allocated: Int)] = []
            for file in files {
                let kind = kind(of: file.name)
                if let i = groups.firstIndex(where: { $0.kind == kind }) {
                    groups[i].count += 1
                    groups[i].bytes += file.bytes
                    groups[i].allocated += file.allocatedBytes
                } else {
                    groups.append((kind, 1, file.bytes, file.allocatedBytes))
                }
            }
            for group in groups {
                let label = group.count == 1 && !group.kind.hasPrefix("*") ? group.kind : "\(group.kind) (\(group.count))"
                out.line("  \(label): \(formatBytes(group.bytes)) (\(formatBytes(group.allocated)) allocated)")
            }
        }
        let totalBytes = report.files.reduce(0) { $0 + $1.bytes }
        let totalAllocated = report.files.reduce(0) { $0 + $1.allocatedBytes }
        out.line("  total: \(formatBytes(totalBytes)) (\(formatBytes(totalAllocated)) allocated)")
        let total = report.liveBytes + report.deadBytes
        let deadShare = total == 0 ? 0 : report.deadBytes * 100 / total
        out.line("live bytes:       \(formatBytes(report.liveBytes))")
        out.line("dead bytes:       \(formatBytes(report.deadBytes)) (\(deadShare)% of the heaps)")
        out.line("log since checkpoint: \(formatBytes(report.logBytes))")
        out.line("last checkpoint:  " + (report.lastCheckpointAt == 0 ? "never" : TimeFormat.iso8601(milliseconds: report.lastCheckpointAt)))
    }

    private static func json(
        _ report: StorageReport, _ statistics: StoreStatistics, _ segments: [(String, Int)], _ options: StoreOptions
    ) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("format_version", Int64(report.formatVersion))
        writer.field("shards", report.shards)
        writer.field("shards_with_files", shardsWithFiles(report.files))
        writer.field("quarantine_misconfigured", options.quarantineMisconfigured)
        writer.field("changelog_limit", options.changelogLimit)
        writer.field("tombstone_retention_ms", options.tombstoneRetention)
        writer.field("tokens", statistics.tokens)
        writer.field("quarantined", statistics.quarantined)
        writer.field("tombstones", statistics.tombstones)
        writer.field("users", statistics.users)
        writer.beginObject(key: "by_platform")
        for platform in Platform.allCases { writer.field(platform.description, statistics.byPlatform[platform] ?? 0) }
        writer.endObject()
        writer.beginObject(key: "by_authorization")
        for value in Authorization.allCases { writer.field(value.description, statistics.byAuthorization[value] ?? 0) }
        writer.endObject()
        writer.beginObject(key: "bounces_by_outcome")
        for value in BounceOutcome.allCases { writer.field(value.description, statistics.bouncesByOutcome[value] ?? 0) }
        writer.endObject()
        writer.beginObject(key: "bounces_by_category")
        for value in BounceCategory.allCases { writer.field(value.description, statistics.bouncesByCategory[value] ?? 0) }
        writer.endObject()
        writer.beginObject(key: "segments")
        for (name, count) in segments { writer.field(name, count) }
        writer.endObject()
        writer.beginArray(key: "files")
        for file in report.files.sorted(by: { $0.name < $1.name }) {
            writer.beginElement()
            writer.field("name", file.name)
            writer.field("bytes", file.bytes)
            writer.field("allocated_bytes", file.allocatedBytes)
            writer.endObject()
        }
        writer.endArray()
        writer.field("live_bytes", report.liveBytes)
        writer.field("dead_bytes", report.deadBytes)
        writer.field("log_bytes", report.logBytes)
        writer.field("last_checkpoint_at", report.lastCheckpointAt)
        writer.endObject()
        return writer.bytes
    }
}
