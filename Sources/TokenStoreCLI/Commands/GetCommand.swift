import TokenStore

/// `tokenstore get PATH DEVICE APP`: one key's token record.
enum GetCommand: Command {
    static let name = "get"
    static let summary = "the token record of one (device, app) key"
    static let help = """
        Usage: tokenstore get PATH DEVICE APP [--json]

        Prints the token stored for the key (DEVICE, APP): token, platform, authorization,
        owner, quarantine state, and when it was created and last updated. A key with no token
        prints nothing on stdout (with --json: null), a note on stderr, and exits 0.

        Options:
          --json    one JSON object (times in milliseconds since 1970)
        """
    static let spec = ArgumentSpec(positionals: ["PATH", "DEVICE", "APP"], flags: ["--json"])

    static func run(_ arguments: ParsedArguments, io: ToolIO) throws(CommandFailure) {
        let path = arguments.positionals[0]
        let record = try StoreAccess.with(path) { store throws(CommandFailure) in
            do throws(TokenStoreError) { return try store.token(deviceID: arguments.positionals[1], appID: arguments.positionals[2]) } catch {
                if error.code == .invalidArgument || error.code == .tooLarge {
                    throw .input("invalid key: \(error)")
                }
                throw StoreAccess.failure(error, "reading the key")
            }
        }
        let out = io.stdout
        guard let record else {
            if arguments.has("--json") { out.line("null") }
            io.stderr.line("tokenstore get: no token for that key")
            return
        }
        if arguments.has("--json") {
            out.jsonLine { writer in
                writer.field("device_id", record.deviceID)
                writer.field("app_id", record.appID)
                writer.field("token", record.token)
                writer.field("platform", record.platform.description)
                writer.field("authorization", record.authorization.description)
                writer.field("user_id", record.userID)
                writer.field("quarantined", record.isQuarantined)
                writer.field("created_at", record.createdAt)
                writer.field("updated_at", record.updatedAt)
            }
            return
        }
        out.line("device_id:     \(record.deviceID)")
        out.line("app_id:        \(record.appID)")
        out.line("token:         \(record.token)")
        out.line("platform:      \(record.platform)")
        out.line("authorization: \(record.authorization)")
        out.line("user_id:       \(record.userID ?? "-- (anonymous)")")
        out.line("quarantined:   \(record.isQuarantined ? "yes" : "no")")
        out.line("created_at:    \(TimeFormat.iso8601(milliseconds: record.createdAt)) (\(record.createdAt))")
        out.line("updated_at:    \(TimeFormat.iso8601(milliseconds: record.updatedAt)) (\(record.updatedAt))")
    }
}
