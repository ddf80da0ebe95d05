#if canImport(Glibc)
import Glibc
#endif

/// `tokenstore bench …`: runs the `tokenstore-bench` binary installed next to this one.
enum BenchCommand: Command {
    static let name = "bench"
    static let summary = "run the benchmark (tokenstore-bench) with the same arguments"
    static let help = """
        Usage: tokenstore bench [BENCHMARK ARGUMENTS]

        Replaces this process with the tokenstore-bench executable found in the same directory
        as tokenstore, passing every argument through; `tokenstore bench --help` shows the
        benchmark's own options. Build both with `swift build -c release`.
        """
    static let spec = ArgumentSpec()

    static func run(_ arguments: ParsedArguments, io: ToolIO) throws(CommandFailure) {
        // Not reached: the tool hands the raw arguments to `exec` below.
        try exec(arguments.positionals, io: io)
    }

    /// The benchmark executable next to this one, if it is there.
    static func locate(io: ToolIO) -> String? {
        guard let directory = io.executableDirectory else { return nil }
        let bench = directory + "/tokenstore-bench"
        return access(bench, X_OK) == 0 ? bench : nil
    }

    /// Execs the benchmark with `arguments`; returns only by throwing.
    static func exec(_ arguments: [String], io: ToolIO) throws(CommandFailure) -> Never {
        guard let bench = locate(io: io) else {
            let place = io.executableDirectory.map { "in \($0)" } ?? "next to this tool"
            throw .input(
                "the benchmark is not installed: no executable tokenstore-bench \(place). "
                    + "Build it with `swift build -c release --product tokenstore-bench`.")
        }
        io.stdout.flush()
        io.stderr.flush()
        var argv: [UnsafeMutablePointer<CChar>?] = ([bench] + arguments).map { strdup($0) }
        argv.append(nil)
        // An ignored signal stays ignored across exec; the benchmark gets the default back.
        signal(SIGPIPE, SIG_DFL)
        execv(bench, argv)
        let reason = String(cString: strerror(errno))
        throw .input("cannot run \(bench): \(reason)")
    }
}
