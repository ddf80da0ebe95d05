import TokenStore

/// `tokenstore user PATH USER [--json]`: the profile's "Push registered for" view, or the export.
enum UserCommand: Command {
    static let name = "user"
    static let summary = "a user's subscription and \"Push registered for\" lines, or --json export"
    static let help = """
        Usage: tokenstore user PATH USER [--json]

        Prints the user's subscription state and the "Push registered for" view: one line per
        device, "Foreground: <app>" or "Background: <app>", or "--" when no app information
        exists. An unknown user prints nothing (with --json: null) and exits 0.

        Options:
          --json    the user's export, one JSON object:
                    {"external_id", "push_subscribe", "push_opted_in_at", "push_tokens": [{"app",
                     "platform", "token", "device_id", "notifications_enabled"}, ...]}
        """
    static let spec = ArgumentSpec(positionals: ["PATH", "USER"], flags: ["--json"])

    static func run(_ arguments: ParsedArguments, io: ToolIO) throws(CommandFailure) {
        let path = arguments.positionals[0]
        let userID = arguments.positionals[1]
        let out = io.stdout
        if arguments.has("--json") {
            let json = try StoreAccess.with(path) { store throws(CommandFailure) in
                do { return try store.exportJSON(userID: userID) } catch {
                    throw StoreAccess.failure(error, "exporting the user")
                }
            }
            // A miss is `null`, so that a JSON reader always gets one value.
            out.line(json ?? "null")
            return
        }
        let view = try StoreAccess.with(path) { store throws(CommandFailure) -> (UserState, [String], [TokenRecord])? in
            do {
                guard let state = try store.user(userID: userID) else { return nil }
                return (state, try store.registeredFor(userID: userID), try store.tokens(userID: userID))
            } catch {
                throw StoreAccess.failure(error, "reading the user")
            }
        }
        guard let (state, lines, tokens) = view else { return }
        out.line("user:            \(userID)")
        out.line("subscription:    \(state.subscription)")
        if let at = state.optedInAt { out.line("opted_in_at:     \(TimeFormat.iso8601(milliseconds: at))") }
        if let at = state.unsubscribedAt { out.line("unsubscribed_at: \(TimeFormat.iso8601(milliseconds: at))") }
        out.line("tokens:          \(tokens.count)")
        out.line("Push registered for:")
        if lines.isEmpty { out.line("  --") }
        for line in lines { out.line("  \(line)") }
    }
}
