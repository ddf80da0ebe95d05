import TokenStore

/// `tokenstore verify PATH`: checksums and index agreement.
enum VerifyCommand: Command {
    static let name = "verify"
    static let summary = "check every checksum and that each index agrees with the records"
    static let help = """
        Usage: tokenstore verify PATH [--json]

        Checks every checksum in the store and that each index (token, user, segment
        counters) agrees with the primary records. Prints "ok" and exits 0 when the store is
        sound; otherwise prints one line per problem and exits 2. A store too damaged to open
        also exits 2. Progress shows on stderr when it is a terminal.

        Options:
          --json    one JSON object: {"ok":B,"tokens":N,"users":N,"problems":[...]}
        """
    static let spec = ArgumentSpec(positionals: ["PATH"], flags: ["--json"])

    static func run(_ arguments: ParsedArguments, io: ToolIO) throws(CommandFailure) {
        let path = arguments.positionals[0]
        let progress = Progress(label: "verify", unit: "", io: io)
        progress.status("opening the store")
        let (problems, tokens, users) = try StoreAccess.with(path) { store throws(CommandFailure) in
            do {
                progress.status("checking checksums and indexes")
                let problems = try store.verify()
                let statistics = try store.statistics()
                return (problems, statistics.tokens, statistics.users)
            } catch {
                progress.finish()
                throw StoreAccess.failure(error, "verifying")
            }
        }
        progress.finish()
        let out = io.stdout
        if arguments.has("--json") {
            out.jsonLine { writer in
                writer.field("ok", problems.isEmpty)
                writer.field("tokens", tokens)
                writer.field("users", users)
                writer.beginArray(key: "problems")
                for problem in problems { writer.element(problem) }
                writer.endArray()
            }
        } else if problems.isEmpty {
            out.line("ok: \(formatCount(tokens)) tokens, \(formatCount(users)) users; checksums and indexes agree")
        } else {
            for problem in problems { out.line(problem) }
        }
        if problems.isEmpty { return }
        throw .store("\(problems.count) problem\(problems.count == 1 ? "" : "s") found")
    }
}
