import TokenStore

/// `tokenstore dump PATH`: the store as NDJSON events that `load` turns back into the same store.
enum DumpCommand: Command {
    static let name = "dump"
    static let summary = "write the store as NDJSON events that load can replay"
    static let help = """
        Usage: tokenstore dump PATH

        Writes a consistent snapshot of the store to stdout as NDJSON events, so that
        `tokenstore dump OLD | tokenstore load NEW` rebuilds the same tokens and users:

        1. set_subscription events for every user whose state is not the default, in time
           order (opted_in_at, unsubscribed_at, then the current state), and a "subscribed"
           event at time 0 for users who own no token, so they exist after the load;
        2. one register event per token, with "created_at" and "at" (= updated_at), the owner,
           platform and authorization, and "quarantined": true for quarantined tokens.

        The tool holds the store open while it dumps, so no other process can write to it.
        Not carried over: the per-user changelogs, bounce counters, and the event time of a
        key's last write when it is later than its updated_at. Progress shows on stderr when
        it is a terminal.
        """
    static let spec = ArgumentSpec(positionals: ["PATH"])

    static func run(_ arguments: ParsedArguments, io: ToolIO) throws(CommandFailure) {
        let out = io.stdout
        let progress = Progress(label: "dump", unit: "records", io: io)
        var written = 0
        var quarantined = 0
        try StoreAccess.with(arguments.positionals[0]) { store throws(CommandFailure) in
            do {
                // Users first, so their subscription writes precede any register naming them.
                var defaultUsers: [String] = []
                try store.forEachUserState { userID, state in
                    let events = subscriptionEvents(for: state)
                    if events.isEmpty {
                        defaultUsers.append(String(decoding: userID, as: UTF8.self))
                        return true
                    }
                    for (subscription, at) in events {
                        var writer = JSONWriter()
                        writer.beginObject()
                        writer.field("event", "set_subscription")
                        writer.field("user_id", bytes: userID)
                        writer.field("subscription", subscription.description)
                        writer.field("at", at)
                        writer.endObject()
                        out.write(bytes: writer.bytes)
                        out.line("")
                    }
                    written += 1
                    progress.update(written)
                    return !out.failed
                }
                // Users in the default state exist after a load only if something creates them.
                for userID in defaultUsers {
                    var ownsToken = false
                    try store.forEachToken(userID: userID) { _ in
                        ownsToken = true
                        return false
                    }
                    if ownsToken { continue }
                    out.write(bytes: Event.setSubscription(userID: userID, subscription: .subscribed, at: 0).jsonLine)
                    out.line("")
                    written += 1
                    progress.update(written)
                }
                try store.forEachRecord { record in
                    out.write(bytes: registerLine(record))
                    out.line("")
                    if record.isQuarantined { quarantined += 1 }
                    written += 1
                    progress.update(written)
                    return !out.failed
                }
            } catch {
                progress.finish()
                throw StoreAccess.failure(error, "dumping")
            }
        }
        progress.finish()
        out.flush()
        if out.failed { throw .input("writing the dump failed (is the output closed?)") }
        if quarantined > 0 {
            io.stderr.line(
                "tokenstore dump: \(quarantined) quarantined tokens are marked \"quarantined\": true; "
                    + "load them with --quarantine-misconfigured to keep them quarantined")
        }
    }

    /// The `set_subscription` writes that rebuild `state`, oldest first; empty for a user in
    /// the default state (subscribed, never opted in or out).
    static func subscriptionEvents(for state: UserState) -> [(Subscription, Int64)] {
        var history: [(Subscription, Int64)] = []
        if let at = state.optedInAt { history.append((.optedIn, at)) }
        if let at = state.unsubscribedAt { history.append((.unsubscribed, at)) }
        if state.subscription == .subscribed && history.isEmpty { return [] }
        let latest = history.map(\.1).max() ?? 0
        // The current state goes last, so it wins whatever the store's tie-breaking.
        let current = history.first { $0.0 == state.subscription }?.1 ?? latest
        history.removeAll { $0.0 == state.subscription }
        history.sort { $0.1 < $1.1 }
        history.append((state.subscription, current))
        return history
    }

    /// One `register` event for a stored token, written straight from the view's bytes.
    static func registerLine(_ record: TokenView) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("event", "register")
        writer.field("device_id", bytes: record.deviceID)
        writer.field("app_id", bytes: record.appID)
        writer.field("token", bytes: record.token)
        writer.field("platform", record.platform.description)
        writer.field("authorization", record.authorization.description)
        if !record.userID.isEmpty { writer.field("user_id", bytes: record.userID) }
        writer.field("created_at", record.createdAt)
        writer.field("at", record.updatedAt)
        if record.isQuarantined { writer.field("quarantined", true) }
        writer.endObject()
        return writer.bytes
    }
}
