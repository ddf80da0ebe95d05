import FoundationEssentials
import Glibc

// tokenstore-bench: see `BenchOptions.usage`, or run with --help.

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch try BenchOptions.parse(arguments) {
    case .help:
        IO.printOut(BenchOptions.usage + "\n")
    case .benchmark(let options):
        Benchmark.run(options, command: (["tokenstore-bench"] + arguments).joined(separator: " "))
    case .baselineChild(let options):
        IO.write(try JSONEncoder().encode(runBaseline(options: options)), to: 1)
    case .writerChild(let directory, let options):
        Durability.writerChild(directory: directory, options: options)
    case .reopenChild(let directory, let options):
        Durability.reopenChild(directory: directory, options: options)
    }
} catch let error as UsageError {
    printError("tokenstore-bench: \(error)\nTry 'tokenstore-bench --help'.")
    exit(2)
} catch {
    fail("\(error)")
}
