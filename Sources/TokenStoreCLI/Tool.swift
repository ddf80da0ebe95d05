import TokenStore

/// The `tokenstore` command-line tool, callable in-process (tests) or from `main`.
public enum TokenstoreTool {
    /// Runs the tool with `arguments` (without the program name) and returns the exit status
    /// (`ExitCode`: 0 success, 1 usage, input or output error, 2 store error).
    ///
    /// Every command's output goes through `io.stdout`; a write to it that failed, at any
    /// point, turns a successful run into status 1 with a message here, in one place.
    public static func run(_ arguments: [String], io: ToolIO) -> Int32 {
        var status = dispatch(arguments, io: io)
        io.stdout.flush()
        if let reason = io.stdout.failureDescription {
            let command = commands.first { $0.name == arguments.first }.map { " \($0.name)" } ?? ""
            io.stderr.line("tokenstore\(command): writing to standard output failed: \(reason)")
            if status == .success { status = .usage }
        }
        io.stderr.flush()
        return status.rawValue
    }

    private static func dispatch(_ arguments: [String], io: ToolIO) -> ExitCode {
        guard let first = arguments.first else {
            io.stderr.line(toolHelp)
            return .usage
        }
        switch first {
        case "-h", "--help":
            io.stdout.line(toolHelp)
            return .success
        case "help":
            if arguments.count > 1, let command = commands.first(where: { $0.name == arguments[1] }) {
                io.stdout.line(command.help)
            } else {
                io.stdout.line(toolHelp)
            }
            return .success
        case "--version", "version":
            io.stdout.line("tokenstore \(TokenStore.libraryVersion) (store format \(TokenStore.formatVersion))")
            return .success
        default:
            break
        }
        guard let command = commands.first(where: { $0.name == first }) else {
            let shown = first.utf8.count <= 32
                && first.unicodeScalars.allSatisfy { ($0.isASCII && $0.properties.isAlphabetic) || $0 == "-" }
            io.stderr.line("tokenstore: unknown command \(shown ? "'\(first)'" : "(not shown)")")
            io.stderr.line("Run 'tokenstore --help' for the list of commands.")
            return .usage
        }
        let rest = Array(arguments.dropFirst())
        do {
            if command.name == BenchCommand.name && (BenchCommand.locate(io: io) != nil || !wantsHelp(rest)) {
                try BenchCommand.exec(rest, io: io)
            }
            if wantsHelp(rest) {
                io.stdout.line(command.help)
                return .success
            }
            let parsed = try ArgumentParser.parse(rest, spec: command.spec)
            try command.run(parsed, io: io)
            return .success
        } catch {
            io.stdout.flush()
            io.stderr.line("tokenstore \(command.name): \(error.message)")
            if error.suggestHelp { io.stderr.line("Run 'tokenstore \(command.name) --help' for usage.") }
            return error.exitCode
        }
    }
}
