import TokenStore

/// `tokenstore changelog PATH USER`: the user's push changelog, oldest first.
enum ChangelogCommand: Command {
    static let name = "changelog"
    static let summary = "a user's push changelog, oldest first"
    static let help = """
        Usage: tokenstore changelog PATH USER [--json]

        Prints the user's push changelog, oldest first: when each token was registered,
        replaced, moved to or from another user, changed authorization, bounced, was
        uninstalled or expired, and subscription changes. An unknown user prints nothing.

        Columns: time, kind, app, device, other user ("-" if none), detail ("-" if none), token.

        Options:
          --json    one JSON object per entry (NDJSON)
        """
    static let spec = ArgumentSpec(positionals: ["PATH", "USER"], flags: ["--json"])

    static func run(_ arguments: ParsedArguments, io: ToolIO) throws(CommandFailure) {
        let path = arguments.positionals[0]
        let userID = arguments.positionals[1]
        let json = arguments.has("--json")
        let out = io.stdout
        try StoreAccess.with(path) { store throws(CommandFailure) in
            do {
                try store.forEachChange(userID: userID) { change in
                    if json {
                        out.jsonLine { writer in
                            writer.field("at", change.at)
                            writer.field("kind", change.kind.description)
                            writer.field("app_id", bytes: change.appID)
                            writer.field("device_id", bytes: change.deviceID)
                            writer.field("token", bytes: change.token)
                            if !change.otherUserID.isEmpty { writer.field("other_user_id", bytes: change.otherUserID) }
                            if !change.detail.isEmpty { writer.field("detail", bytes: change.detail) }
                        }
                    } else {
                        let entry = change.entry
                        out.line([
                            TimeFormat.iso8601(milliseconds: entry.at), entry.kind.description, entry.appID,
                            entry.deviceID, entry.otherUserID ?? "-", entry.detail ?? "-", entry.token,
                        ].joined(separator: "  "))
                    }
                    return !out.failed
                }
            } catch {
                throw StoreAccess.failure(error, "reading the changelog")
            }
        }
    }
}
