import TokenStore

/// `tokenstore segment PATH SEGMENT [--app APP] [--count | --list]`.
enum SegmentCommand: Command {
    static let name = "segment"
    static let summary = "count or list the users in a campaign segment"
    static let help = """
        Usage: tokenstore segment PATH SEGMENT [--app APP] [--count | --list] [--json]

        Segments (the README's "The domain in one screen" defines them):
          foreground_push_enabled               not unsubscribed, with a foreground or
                                                provisional token for any app
          foreground_push_enabled_for_app       a foreground or provisional token for --app APP
                                                (subscription not considered)
          background_or_foreground_push_enabled not unsubscribed, with any token
          subscribed | opted_in | unsubscribed  the user's push subscription status

        Options:
          --app APP   the app, required by foreground_push_enabled_for_app only
          --count     print how many users match (the default)
          --list      print the matching user ids, one per line
          --json      --count: {"segment":S,"app":A (for the per-app segment),"count":N};
                      --list: one {"user_id":U} per line (NDJSON)
        """
    static let spec = ArgumentSpec(
        positionals: ["PATH", "SEGMENT"], flags: ["--count", "--list", "--json"], options: ["--app"])

    static let names = [
        "foreground_push_enabled", "foreground_push_enabled_for_app", "background_or_foreground_push_enabled",
        "subscribed", "opted_in", "unsubscribed",
    ]

    static func segment(named name: String, app: String?) throws(CommandFailure) -> Segment {
        let segment: Segment
        switch name {
        case "foreground_push_enabled": segment = .foregroundPushEnabled
        case "foreground_push_enabled_for_app":
            guard let app else { throw .usage("foreground_push_enabled_for_app needs --app APP") }
            guard !app.isEmpty, app.utf8.count <= Limits.maxAppIDBytes else {
                throw .usage("--app must be 1 to \(Limits.maxAppIDBytes) bytes")
            }
            return .foregroundPushEnabledForApp(app)
        case "background_or_foreground_push_enabled": segment = .backgroundOrForegroundPushEnabled
        case "subscribed": segment = .subscription(.subscribed)
        case "opted_in": segment = .subscription(.optedIn)
        case "unsubscribed": segment = .subscription(.unsubscribed)
        default:
            throw .usage("unknown segment; expected one of \(names.joined(separator: ", "))")
        }
        if app != nil { throw .usage("--app applies only to foreground_push_enabled_for_app") }
        return segment
    }

    static func run(_ arguments: ParsedArguments, io: ToolIO) throws(CommandFailure) {
        if arguments.has("--count") && arguments.has("--list") { throw .usage("choose --count or --list, not both") }
        let segment = try segment(named: arguments.positionals[1], app: arguments["--app"])
        let out = io.stdout
        let json = arguments.has("--json")
        try StoreAccess.with(arguments.positionals[0]) { store throws(CommandFailure) in
            do {
                if arguments.has("--list") {
                    try store.forEachUser(in: segment) { userID in
                        if json {
                            out.jsonLine { $0.field("user_id", bytes: userID) }
                        } else {
                            out.write(bytes: Array(userID))
                            out.line("")
                        }
                        return !out.failed
                    }
                } else if json {
                    let count = try store.count(segment)
                    out.jsonLine { writer in
                        writer.field("segment", arguments.positionals[1])
                        if let app = arguments["--app"] { writer.field("app", app) }
                        writer.field("count", count)
                    }
                } else {
                    out.line(String(try store.count(segment)))
                }
            } catch {
                throw StoreAccess.failure(error, "reading the segment")
            }
        }
    }
}
