#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TokenStoreCLI

// A closed pipe on stdout is a failed write like any other: it ends the run with status 1
// and a message, instead of SIGPIPE killing the process with no word and a status that
// says "signal" (see ExitCode). `bench` restores the default before it execs.
signal(SIGPIPE, SIG_IGN)

// The tool's logic lives in TokenStoreCLI so tests can run it in-process.
exit(TokenstoreTool.run(Array(CommandLine.arguments.dropFirst()), io: .standard()))
