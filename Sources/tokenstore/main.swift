#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TokenStoreCLI

// The tool's logic lives in TokenStoreCLI so tests can run it in-process.
exit(TokenstoreTool.run(Array(CommandLine.arguments.dropFirst()), io: .standard()))
