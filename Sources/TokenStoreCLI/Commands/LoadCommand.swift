import TokenStore

/// `tokenstore load PATH [FILE|-]`: applies NDJSON events in order.
enum LoadCommand: Command {
    static let name = "load"
    static let summary = "apply NDJSON events from a file or stdin (creates the store)"
    static let help = """
        Usage: tokenstore load PATH [FILE | -] [--strict] [store options]

        Applies NDJSON events, one JSON object per line, in order, to the store at PATH
        (created if absent). Reads FILE, or standard input when FILE is - or omitted.

        Events ("event" names the operation; times are integers, ms since 1970):
          {"event":"register","device_id":D,"app_id":A,"token":T,"platform":"ios|android|web",
           "authorization":"foreground|provisional|background","user_id":U|null,"at":MS,
           "created_at":MS (optional),"quarantined":true (optional)}
          {"event":"change_user","device_id":D,"app_id":A,"user_id":U|null,"at":MS}
          {"event":"set_authorization","device_id":D,"app_id":A,"authorization":...,"at":MS}
          {"event":"set_subscription","user_id":U,"subscription":"subscribed|opted_in|unsubscribed","at":MS}
          {"event":"bounce","token":T,"error_code":C,"provider_timestamp":MS (optional),"at":MS}
          {"event":"uninstall","device_id":D,"app_id":A,"at":MS}
        Unknown fields, missing fields, wrong types and values over the size limits make a line
        bad. Blank lines are skipped.

        A bad line, or one the store rejects (for example change_user on a key with no token),
        is reported on stderr with its line number and skipped. Writes older than the stored
        event time are counted as stale. At the end a summary of applied, stale and rejected
        lines is printed on stdout. Progress shows on stderr when it is a terminal.

        Options:
          --strict                   stop at the first bad or rejected line; lines before it
                                     stay applied, nothing after it is applied; exit 1
        \(StoreFlags.help)

        Exit status: 0 when the input was read to the end (even with rejected lines), 1 on a
        usage error or a bad line with --strict, 2 on a store error.
        """
    static let spec = ArgumentSpec(
        positionals: ["PATH"], optionalPositionals: ["FILE"],
        flags: StoreFlags.writeFlags.union(["--strict"]), options: StoreFlags.writeOptions)

    /// Most per-line errors printed before the rest are only counted.
    static let maxReportedErrors = 100

    struct Summary {
        var lines = 0
        var applied = 0
        var stale = 0
        var rejected = 0
        var bounces: [BounceOutcome: Int] = [:]
        var unknownBounceCodes = 0
        var quarantineNotRestored = 0

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
    }

    static func run(_ arguments: ParsedArguments, io: ToolIO) throws(CommandFailure) {
        let path = arguments.positionals[0]
        let input = arguments.positionals.count > 1 ? arguments.positionals[1] : "-"
        let strict = arguments.has("--strict")
        let options = try StoreFlags.options(from: arguments, mustExist: false)
        let reader = try LineReader.open(input, standardInput: io.stdinDescriptor)
        defer { reader.close() }
        let stderr = io.stderr
        if input == "-" && io.stdinIsTerminal {
            stderr.line("tokenstore load: reading events from the terminal; end with Ctrl-D")
            stderr.flush()
        }
        var summary = Summary()
        let progress = Progress(label: "load", unit: "lines", io: io)
        do {
            try StoreAccess.with(path, options: options) { store throws(CommandFailure) in
                try reader.forEachLine { (number, line) throws(CommandFailure) in
                    summary.lines = number
                    progress.update(number)
                    let problem: String?
                    switch line {
                    case .tooLong:
                        problem = "line is longer than \(reader.maxLineBytes) bytes"
                    case .text(let bytes):
                        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                            summary.lines = number
                            return true
                        }
                        problem = try apply(bytes, to: store, summary: &summary, line: number)
                    }
                    guard let problem else { return true }
                    summary.rejected += 1
                    if summary.rejected <= maxReportedErrors {
                        progress.finish()
                        stderr.line("tokenstore load: line \(number): \(problem)")
                    } else if summary.rejected == maxReportedErrors + 1 {
                        stderr.line("tokenstore load: more bad lines follow; only the count is reported")
                    }
                    if strict {
                        throw .input("stopped at line \(number) (--strict); nothing after it was applied")
                    }
                    return true
                }
                progress.status("\(summary.lines) lines read; syncing and checkpointing")
            }
        } catch {
            progress.finish()
            io.stdout.line(summary.text)
            throw error
        }
        progress.finish()
        io.stdout.line(summary.text)
    }

    /// Parses, validates and applies one line. Returns why the line was rejected, or `nil`.
    /// Throws only for store failures that must stop the load.
    private static func apply(
        _ bytes: UnsafeBufferPointer<UInt8>, to store: TokenStore, summary: inout Summary, line: Int
    ) throws(CommandFailure) -> String? {
        let event: Event
        do {
            event = try Event(json: try JSONParser.parse(bytes))
        } catch let error as JSONSyntaxError {
            return "invalid JSON at column \(error.column): \(error.message)"
        } catch let error as EventError {
            return error.message
        } catch {
            return "\(error)"
        }
        do {
            let outcome = try apply(event, to: store, summary: &summary)
            switch outcome {
            case .applied: summary.applied += 1
            case .stale: summary.stale += 1
            }
            return nil
        } catch {
            switch error.code {
            case .notFound:
                switch event {
                case .bounce: return "bounce: no key holds that token"
                default: return "\(event.name): no token for that key"
                }
            case .invalidArgument, .tooLarge:
                return "\(event.name): \(error)"
            default:
                throw .store("line \(line): \(event.name) failed: \(error); the lines before it were applied")
            }
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

