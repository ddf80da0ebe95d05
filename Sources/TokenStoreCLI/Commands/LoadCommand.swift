import TokenStore

/// `tokenstore load PATH [FILE|-]`: restores a dump, or applies NDJSON events, in order.
enum LoadCommand: Command {
    static let name = "load"
    static let summary = "restore a dump or apply NDJSON events from a file or stdin (creates the store)"
    static let help = """
        Usage: tokenstore load PATH [FILE | -] [--strict] [--json] [store options]

        Reads NDJSON, one JSON object per line, from FILE, or standard input when FILE is - or
        omitted, and writes it in order to the store at PATH (created if absent). A line is a
        dump's header, a dump's record or an event. Blank lines are skipped.

        A dump (see `tokenstore dump --help`) starts with its header. A new store is created
        with the header's shards, quarantine option, changelog limit and tombstone retention,
        except those the command line sets; an existing store keeps its own, and a note on
        stderr says so when they differ. Records put state back as it was and add no changelog entries of their
        own (absent optional members mean never, empty, false or zero):
          {"record":"user","user_id":U,"subscription":"subscribed|opted_in|unsubscribed",
           "subscription_at":MS,"opted_in_at":MS,"unsubscribed_at":MS}
          {"record":"change","user_id":U,"at":MS,"kind":K,"device_id":D,"app_id":A,"token":T,
           "other_user_id":U,"detail":X}                       (device_id on: optional)
          {"record":"token","device_id":D,"app_id":A,"token":T,"platform":P,"authorization":Z,
           "user_id":U (optional),"created_at":MS,"updated_at":MS,"event_at":MS,
           "quarantined":true (optional),"kept_bounces":N (optional)}
          {"record":"tombstone","device_id":D,"app_id":A,"token_hash":"16 hex digits","at":MS,
           "bounced":true (optional)}
          {"record":"bounce_statistics","by_outcome":{"removed":N,...},"by_category":{"dead":N,...}}
        Into a store that holds data, users and tokens go by event time as events do (a later
        stored write wins), changelog entries are appended, and bounce statistics add up.

        Events ("event" names the operation; times are integers, ms since 1970):
          {"event":"register","device_id":D,"app_id":A,"token":T,"platform":"ios|android|web",
           "authorization":"foreground|provisional|background","user_id":U|null,"at":MS,
           "created_at":MS (optional),"quarantined":true (optional)}
          {"event":"change_user","device_id":D,"app_id":A,"user_id":U|null,"at":MS}
          {"event":"set_authorization","device_id":D,"app_id":A,"authorization":...,"at":MS}
          {"event":"set_subscription","user_id":U,"subscription":"subscribed|opted_in|unsubscribed","at":MS}
          {"event":"bounce","token":T,"error_code":C,"provider_timestamp":MS (optional),"at":MS}
          {"event":"uninstall","device_id":D,"app_id":A,"at":MS}
        Dumps of format 1 (events only, no header) still load, as events.

        Unknown fields, missing fields, wrong types and values over the size limits make a line
        bad. A bad line, or one the store rejects (for example change_user on a key with no
        token), is reported on stderr with its line number and skipped; every other line is
        applied. Writes older than the stored event time are counted as stale. At the end the
        summary of applied, stale and rejected lines goes to stdout, and if any line was
        rejected the command exits 1, naming how many and the first line numbers. Progress
        shows on stderr when it is a terminal.

        --shards, --changelog-limit, --quarantine-misconfigured and --tombstone-retention-days
        are fixed when a store is created: an existing store keeps its own, and a note on stderr says when they differ.

        Options:
          --strict                   stop at the first rejected line: the lines before it stay
                                     applied (and are synced), nothing from it on is applied
          --json                     the summary as one JSON object: lines, applied, stale,
                                     rejected, rejected_lines (the first \(maxListedLines)),
                                     stopped_at (with --strict), bounces, unknown_bounce_codes,
                                     quarantine_not_restored
        \(StoreFlags.help)
        """
    static let spec = ArgumentSpec(
        positionals: ["PATH"], optionalPositionals: ["FILE"],
        flags: StoreFlags.writeFlags.union(["--strict", "--json"]), options: StoreFlags.writeOptions)

    /// Most per-line errors printed before the rest are only counted.
    static let maxReportedErrors = 100
    /// Rejected line numbers named in the final message and the JSON summary.
    static let maxListedLines = 10

    /// What a load did, line by line.
    struct Summary {
        var lines = 0
        var applied = 0
        var stale = 0
        var rejected = 0
        /// The first `maxListedLines` rejected line numbers.
        var rejectedLines: [Int] = []
        /// The line `--strict` stopped at.
        var stoppedAt: Int?
        var bounces: [BounceOutcome: Int] = [:]
        var unknownBounceCodes = 0
        var quarantineNotRestored = 0

        /// Counts a rejected line.
        mutating func reject(line: Int) {
            rejected += 1
            if rejectedLines.count < LoadCommand.maxListedLines { rejectedLines.append(line) }
        }

        var text: String {
            var text = "applied \(applied), stale \(stale), rejected \(rejected) (\(lines) lines)"
            if !bounces.isEmpty {
                text += "\nbounces: " + BounceOutcome.allCases.map { "\($0) \(bounces[$0] ?? 0)" }.joined(separator: ", ")
                if unknownBounceCodes > 0 { text += "; \(unknownBounceCodes) with an unknown error code" }
            }
            if quarantineNotRestored > 0 {
                text += "\n\(quarantineNotRestored) quarantined records were loaded as ordinary tokens; "
                    + "load with --quarantine-misconfigured to keep them quarantined"
            }
            return text
        }

        /// Writes the summary as one JSON object.
        func writeJSON(to out: OutputStream) {
            out.jsonLine { writer in
                writer.field("lines", lines)
                writer.field("applied", applied)
                writer.field("stale", stale)
                writer.field("rejected", rejected)
                writer.beginArray(key: "rejected_lines")
                for line in rejectedLines { writer.element(Int64(line)) }
                writer.endArray()
                if let stoppedAt { writer.field("stopped_at", stoppedAt) }
                writer.beginObject(key: "bounces")
                for outcome in BounceOutcome.allCases { writer.field(outcome.description, bounces[outcome] ?? 0) }
                writer.endObject()
                writer.field("unknown_bounce_codes", unknownBounceCodes)
                writer.field("quarantine_not_restored", quarantineNotRestored)
            }
        }

        /// The first rejected line numbers, as the final message names them.
        var listedLines: String {
            let numbers = rejectedLines.map(String.init).joined(separator: ", ")
            return (rejectedLines.count == 1 ? "line " : "lines ") + numbers + (rejected > rejectedLines.count ? ", …" : "")
        }
    }

    static func run(_ arguments: ParsedArguments, io: ToolIO) throws(CommandFailure) {
        let path = arguments.positionals[0]
        let input = arguments.positionals.count > 1 ? arguments.positionals[1] : "-"
        let strict = arguments.has("--strict")
        let target = LoadTarget(
            path: path, requested: try StoreFlags.options(from: arguments, mustExist: false),
            explicit: StoreFlags.creationOptionsGiven(in: arguments), io: io)
        let reader = try LineReader.open(input, standardInput: io.stdinDescriptor)
        defer { reader.close() }
        let stderr = io.stderr
        if input == "-" && io.stdinIsTerminal {
            stderr.line("tokenstore load: reading events from the terminal; end with Ctrl-D")
            stderr.flush()
        }
        var summary = Summary()
        var sawContent = false
        let progress = Progress(label: "load", unit: "lines", io: io)
        let report = { (summary: Summary) in
            if arguments.has("--json") { summary.writeJSON(to: io.stdout) } else { io.stdout.line(summary.text) }
        }
        do {
            try reader.forEachLine { (number, line) throws(CommandFailure) in
                summary.lines = number
                progress.update(number)
                var problem: String?
                switch line {
                case .tooLong:
                    sawContent = true
                    problem = "line is longer than \(reader.maxLineBytes) bytes"
                case .text(let bytes):
                    if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return true }
                    if !sawContent {
                        // Only the first line may be a dump's header, read before the store opens.
                        sawContent = true
                        switch DumpHeader.inspect(bytes) {
                        case .header(let header):
                            target.header = header
                            return true
                        case .invalid(let message): problem = message
                        case .notHeader: break
                        }
                    }
                    if problem == nil { problem = try apply(bytes, to: try target.open(), summary: &summary, line: number) }
                }
                guard let problem else { return true }
                summary.reject(line: number)
                if summary.rejected <= maxReportedErrors {
                    progress.finish()
                    stderr.line("tokenstore load: line \(number): \(problem)")
                } else if summary.rejected == maxReportedErrors + 1 {
                    stderr.line("tokenstore load: more bad lines follow; only the count is reported")
                }
                if strict {
                    summary.stoppedAt = number
                    throw .input("stopped at line \(number) (--strict): the lines before it stay applied; nothing from it on was applied")
                }
                return true
            }
            progress.status("\(summary.lines) lines read; syncing and checkpointing")
            // Empty input still creates the store, as a load into a new path promises.
            _ = try target.open()
            try target.close()
        } catch {
            progress.finish()
            let closing = target.closeAfterFailure()
            if !target.openFailed { report(summary) }
            if let closing { stderr.line("tokenstore load: \(closing.message)") }
            throw error
        }
        progress.finish()
        report(summary)
        if summary.rejected > 0 {
            throw .input("\(summary.rejected) of \(summary.lines) lines rejected (\(summary.listedLines)); the other lines were applied")
        }
    }

    /// Parses, validates and applies one line. Returns why the line was rejected, or `nil`.
    /// Throws only for store failures that must stop the load.
    static func apply(
        _ bytes: UnsafeBufferPointer<UInt8>, to store: TokenStore, summary: inout Summary, line: Int
    ) throws(CommandFailure) -> String? {
        let input: InputLine
        do {
            input = try InputLine(json: try JSONParser.parse(bytes))
        } catch let error as JSONSyntaxError {
            return "invalid JSON at column \(error.column): \(error.message)"
        } catch let error as EventError {
            return error.message
        } catch {
            return "\(error)"
        }
        let outcome: WriteOutcome
        do {
            switch input {
            case .header:
                return "a dump header belongs on the first line only"
            case .record(let record): outcome = try record.apply(to: store)
            case .event(let event): outcome = try apply(event, to: store, summary: &summary)
            }
        } catch {
            switch error.code {
            case .notFound:
                if case .event(.bounce) = input { return "bounce: no key holds that token" }
                if case .event(let event) = input { return "\(event.name): no token for that key" }
                return "not found: \(error)"
            case .invalidArgument, .tooLarge:
                return "\(lineName(input)): \(error)"
            default:
                throw .store("line \(line): \(lineName(input)) failed: \(error); the lines before it were applied")
            }
        }
        switch outcome {
        case .applied: summary.applied += 1
        case .stale: summary.stale += 1
        }
        return nil
    }

    /// How messages name a line's operation.
    private static func lineName(_ input: InputLine) -> String {
        switch input {
        case .header: return "dump header"
        case .record(let record): return record.name + " record"
        case .event(let event): return event.name
        }
    }

    private static func apply(_ event: Event, to store: TokenStore, summary: inout Summary) throws(TokenStoreError) -> WriteOutcome {
        switch event {
        case .register(let registration, let createdAt, let quarantined):
            if let createdAt, createdAt < registration.at {
                var first = registration
                first.at = createdAt
                try store.register(first)
            }
            let outcome = try store.register(registration)
            if quarantined && outcome == .applied {
                if store.options.quarantineMisconfigured {
                    _ = try store.bounce(token: registration.token, errorCode: "MismatchSenderId", at: registration.at)
                } else {
                    summary.quarantineNotRestored += 1
                }
            }
            return outcome
        case .changeUser(let deviceID, let appID, let userID, let at):
            return try store.changeUser(deviceID: deviceID, appID: appID, userID: userID, at: at)
        case .setAuthorization(let deviceID, let appID, let authorization, let at):
            return try store.setAuthorization(deviceID: deviceID, appID: appID, authorization: authorization, at: at)
        case .setSubscription(let userID, let subscription, let at):
            return try store.setSubscription(userID: userID, subscription: subscription, at: at)
        case .bounce(let token, let errorCode, let providerTimestamp, let at):
            let result = try store.bounce(token: token, errorCode: errorCode, providerTimestamp: providerTimestamp, at: at)
            summary.bounces[result.outcome, default: 0] += 1
            if result.category == .unknown { summary.unknownBounceCodes += 1 }
            return result.outcome == .stale ? .stale : .applied
        case .uninstall(let deviceID, let appID, let at):
            return try store.uninstall(deviceID: deviceID, appID: appID, at: at)
        }
    }
}
