import TokenStore

/// `tokenstore sweep PATH --older-than 270d [--platform android]`.
enum SweepCommand: Command {
    static let name = "sweep"
    static let summary = "expire tokens not updated for a duration (e.g. 270d)"
    static let help = """
        Usage: tokenstore sweep PATH --older-than DURATION [--platform ios|android|web]
                                [--now MS] [--dry-run] [--durability MODE] [--json]

        Removes every token whose updated_at is strictly older than now minus DURATION, and
        records an "expired" changelog entry at now. FCM expires tokens after 270 days; web
        tokens expire after 60 days without a session.

        Options:
          --older-than DURATION  required: Nd, Nh, Nm, Ns or Nms (e.g. 270d, 60d, 12h)
          --platform P           only tokens of this platform
          --now MS               the sweep's time, ms since 1970 (default: the clock)
          --dry-run              count what would be removed, change nothing
          --durability MODE      none | always | interval | Nms (see load --help)
          --json                 one JSON object: {"expired":N,"dry_run":B,"older_than":MS,
                                 "platform":P (when given),"at":MS}
        """
    static let spec = ArgumentSpec(
        positionals: ["PATH"], flags: ["--dry-run", "--json"],
        options: ["--older-than", "--platform", "--now", "--durability"])

    static func run(_ arguments: ParsedArguments, io: ToolIO) throws(CommandFailure) {
        guard let durationText = arguments["--older-than"] else { throw .usage("--older-than DURATION is required") }
        guard let duration = TimeFormat.parseDuration(durationText) else {
            throw .usage("--older-than must be a number followed by d, h, m, s or ms (e.g. 270d)")
        }
        var platform: Platform?
        if let name = arguments["--platform"] {
            guard let value = Platform(name: name) else { throw .usage("--platform must be ios, android or web") }
            platform = value
        }
        var now = wallClockMilliseconds()
        if let text = arguments["--now"] {
            guard let value = Int64(text), value >= 0 else { throw .usage("--now must be milliseconds since 1970") }
            now = value
        }
        let (bound, overflow) = now.subtractingReportingOverflow(duration)
        guard !overflow else { throw .usage("--older-than is too large") }
        var options = try StoreFlags.options(from: arguments, mustExist: true)
        options.mustExist = true
        let dryRun = arguments.has("--dry-run")
        let removed = try StoreAccess.with(arguments.positionals[0], options: options) { store throws(CommandFailure) in
            do {
                if dryRun {
                    var count = 0
                    try store.forEachRecord { record in
                        if record.updatedAt < bound && (platform == nil || record.platform == platform) { count += 1 }
                        return true
                    }
                    return count
                }
                return try store.sweep(olderThan: bound, platform: platform, at: now)
            } catch {
                throw StoreAccess.failure(error, "sweeping")
            }
        }
        if arguments.has("--json") {
            io.stdout.jsonLine { writer in
                writer.field("expired", removed)
                writer.field("dry_run", dryRun)
                writer.field("older_than", bound)
                if let platform { writer.field("platform", platform.description) }
                writer.field("at", now)
            }
            return
        }
        let scope = platform.map { " \($0)" } ?? ""
        let verb = dryRun ? "would expire" : "expired"
        io.stdout.line(
            "\(verb) \(removed)\(scope) \(removed == 1 ? "token" : "tokens") last updated before \(TimeFormat.iso8601(milliseconds: bound))")
    }
}
