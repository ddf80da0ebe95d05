/// A `tokenstore` subcommand: its help text, accepted arguments and behaviour.
protocol Command {
    /// The word after `tokenstore`.
    static var name: String { get }
    /// One line for the command list.
    static var summary: String { get }
    /// The full `--help` text.
    static var help: String { get }
    /// What the command accepts.
    static var spec: ArgumentSpec { get }
    /// Runs the command; results go to stdout, diagnostics to stderr.
    static func run(_ arguments: ParsedArguments, io: ToolIO) throws(CommandFailure)
}

/// Every subcommand, in the order `tokenstore --help` lists them.
nonisolated(unsafe) let commands: [any Command.Type] = [
    StatCommand.self, GetCommand.self, UserCommand.self, ChangelogCommand.self, SegmentCommand.self, CampaignCommand.self,
    LoadCommand.self, DumpCommand.self, VerifyCommand.self, RecoverCommand.self, SweepCommand.self, BenchCommand.self,
]

let toolHelp: String = {
    var text = """
        tokenstore: inspect and maintain a TokenStore directory.

        Usage: tokenstore COMMAND [ARGUMENTS] [OPTIONS]
               tokenstore COMMAND --help

        Commands:

        """
    for command in commands {
        let padded = command.name.padding(toLength: 11, withPad: " ", startingAt: 0)
        text += "  \(padded)\(command.summary)\n"
    }
    text += """

        Every command that reports takes --json: one JSON object, or NDJSON for lists.
        Times are milliseconds since 1970 in NDJSON and ISO 8601 (UTC) in reports.


        """
    text += ExitCode.helpTable
    return text
}()

extension String {
    fileprivate func padding(toLength length: Int, withPad pad: String, startingAt: Int) -> String {
        count >= length ? self + " " : self + String(repeating: pad, count: length - count)
    }
}
