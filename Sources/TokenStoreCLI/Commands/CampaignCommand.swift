import TokenStore

/// `tokenstore campaign PATH --segment SEGMENT --app APP --kind visible|silent [--json]`: the
/// tokens a campaign may push to now, streamed.
enum CampaignCommand: Command {
    static let name = "campaign"
    static let summary = "stream the tokens a campaign for an app may push to now, over a segment"
    static let help = """
        Usage: tokenstore campaign PATH --segment SEGMENT --app APP --kind visible|silent [--json]

        Streams to stdout every token a campaign for APP may push to now, over the users of
        SEGMENT, in one pass over the store (see the README's "The domain in one screen"): a
        visible push goes to foreground and provisional tokens of users who are not
        unsubscribed, a silent push to any token; quarantined tokens never. Each token comes
        once, in no particular order.
        Then prints the count and the rate on stderr; progress shows there when it is a
        terminal.

        Segments are those of `tokenstore segment` (see its --help).

        Options:
          --segment SEGMENT   the users to send to
          --segment-app APP   the app of foreground_push_enabled_for_app (default: --app)
          --app APP           the app the campaign sends for
          --kind KIND         visible or silent
          --json              one JSON object per token (NDJSON): device_id, app_id, token,
                              platform, authorization, user_id (null when anonymous)

        Without --json each line is: platform, token, device id and user id ("-" when
        anonymous), separated by tabs; use --json when tokens may hold tabs or newlines.
        """
    static let spec = ArgumentSpec(
        positionals: ["PATH"], flags: ["--json"], options: ["--segment", "--segment-app", "--app", "--kind"])

    static func run(_ arguments: ParsedArguments, io: ToolIO) throws(CommandFailure) {
        guard let segmentName = arguments["--segment"] else { throw .usage("--segment SEGMENT is required") }
        guard let app = arguments["--app"] else { throw .usage("--app APP is required") }
        guard !app.isEmpty, app.utf8.count <= Limits.maxAppIDBytes else {
            throw .usage("--app must be 1 to \(Limits.maxAppIDBytes) bytes")
        }
        let kind: PushKind
        switch arguments["--kind"] {
        case "visible": kind = .visible
        case "silent": kind = .silent
        case nil: throw .usage("--kind visible|silent is required")
        default: throw .usage("--kind must be visible or silent")
        }
        let perApp = segmentName == "foreground_push_enabled_for_app"
        let segment = try SegmentCommand.segment(named: segmentName, app: arguments["--segment-app"] ?? (perApp ? app : nil))
        let json = arguments.has("--json")
        let out = io.stdout
        let progress = Progress(label: "campaign", unit: "tokens", io: io)
        var streamed = 0
        let start = monotonicNanoseconds()
        try StoreAccess.with(arguments.positionals[0]) { store throws(CommandFailure) in
            do {
                try store.forEachCampaignToken(in: segment, appID: app, kind: kind) { token in
                    out.write(bytes: json ? jsonLine(token) : textLine(token))
                    out.line("")
                    streamed += 1
                    progress.update(streamed)
                    return !out.failed
                }
            } catch {
                progress.finish()
                throw StoreAccess.failure(error, "streaming the campaign")
            }
        }
        progress.finish()
        out.flush()
        if out.failed { throw .input("writing the tokens failed (is the output closed?)") }
        let seconds = Double(monotonicNanoseconds() - start) / 1e9
        let rate = seconds > 0 ? "\(formatCount(Int(Double(streamed) / seconds))) tokens/s" : "–"
        io.stderr.line("tokenstore campaign: \(formatCount(streamed)) tokens in \(formatSeconds(seconds)) (\(rate))")
    }

    /// `platform \t token \t device \t user`, from the view's bytes.
    static func textLine(_ token: TokenView) -> [UInt8] {
        var line = Array(token.platform.description.utf8)
        line.append(UInt8(ascii: "\t"))
        line.append(contentsOf: token.token)
        line.append(UInt8(ascii: "\t"))
        line.append(contentsOf: token.deviceID)
        line.append(UInt8(ascii: "\t"))
        if token.userID.isEmpty { line.append(UInt8(ascii: "-")) } else { line.append(contentsOf: token.userID) }
        return line
    }

    /// One NDJSON object, from the view's bytes.
    static func jsonLine(_ token: TokenView) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("device_id", bytes: token.deviceID)
        writer.field("app_id", bytes: token.appID)
        writer.field("token", bytes: token.token)
        writer.field("platform", token.platform.description)
        writer.field("authorization", token.authorization.description)
        if token.userID.isEmpty { writer.field("user_id", nil as String?) } else { writer.field("user_id", bytes: token.userID) }
        writer.endObject()
        return writer.bytes
    }
}
