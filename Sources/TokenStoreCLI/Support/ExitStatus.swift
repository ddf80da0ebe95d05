/// The tool's exit statuses. `meaning` is the one table of them: `tokenstore --help` prints
/// it and the README shows it (a test keeps the two in step).
enum ExitCode: Int32, CaseIterable {
    /// The command did what it was asked.
    case success = 0
    /// A usage error, bad input, or output that could not be written.
    case usage = 1
    /// The store failed: it cannot be opened, is damaged, or a read or write failed.
    case store = 2

    /// What the status means, in the words `--help` and the README use.
    var meaning: String {
        switch self {
        case .success: return "success"
        case .usage: return "usage error, bad input (load: any rejected line), or standard output could not be written"
        case .store: return "store error: it cannot be opened or is damaged, a read or write failed, or verify found problems"
        }
    }

    /// The table as `--help` prints it.
    static var helpTable: String {
        "Exit status:\n" + allCases.map { "  \($0.rawValue)  \($0.meaning)" }.joined(separator: "\n") + "\n" + outputNote
    }

    /// How a failed write to standard output ends a run, under the table.
    static let outputNote = """
        A write to standard output that fails (a full disk, a closed pipe) ends the command with
        status 1 and a message on stderr. SIGPIPE is ignored, so `tokenstore dump S | head` exits 1
        rather than being killed by the signal.
        """
}

/// A failure that ends the command with a message on stderr and an exit status.
struct CommandFailure: Error {
    var exitCode: ExitCode
    var message: String
    /// Whether to point at `--help` after the message.
    var suggestHelp: Bool = false

    static func usage(_ message: String) -> CommandFailure {
        CommandFailure(exitCode: .usage, message: message, suggestHelp: true)
    }

    static func input(_ message: String) -> CommandFailure {
        CommandFailure(exitCode: .usage, message: message)
    }

    static func store(_ message: String) -> CommandFailure {
        CommandFailure(exitCode: .store, message: message)
    }
}
