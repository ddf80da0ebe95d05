import FoundationEssentials
import Glibc

/// The benchmark command: runs both sides, prints the table, writes the JSON.
enum Benchmark {
    /// Runs the whole benchmark with `options`.
    static func run(_ options: BenchOptions, command: String) {
        let started = monotonicNanoseconds()
        let date = Date.now.formatted(.iso8601)
        let machine = Machine.current()
        let directory = prepareDirectory(options.directory)
        printError("tokenstore-bench: \(Format.count(options.records)) records in \(directory)")

        let progress = Progress(prefix: "engine")
        let plans = progress.timed("generate \(options.records) records") {
            Plans(dataset: Dataset(records: options.records, seed: options.seed))
        }
        let generationSeconds = Double(monotonicNanoseconds() - started) / 1e9
        let engine = runEngine(options: options, directory: directory, plans: plans, generationSeconds: generationSeconds)
        if !options.keep { try? FileManager.default.removeItem(atPath: directory) }
        let baseline = options.baseline ? runBaselineInChild(options: options) : nil
        let peerPlans = options.peerRecords == options.records
            ? plans : Plans(dataset: Dataset(records: options.peerRecords, seed: options.seed))
        let peers = options.peers.isEmpty ? nil : Peers.run(plans: peerPlans, options: options, parent: parent(of: directory))
        let heavyUser = options.heavyUserTokens == 0 ? nil : progress.timed("a user with \(options.heavyUserTokens) tokens") {
            HeavyUser.run(tokens: options.heavyUserTokens, ops: options.heavyUserOps, options: options, parent: parent(of: directory))
        }
        let tombstones = options.tombstoneKeys < 2 ? nil : progress.timed("tombstones of \(options.tombstoneKeys) removals") {
            Tombstones.run(keys: options.tombstoneKeys, options: options, parent: parent(of: directory))
        }

        let report = Report(
            date: date, command: command, machine: machine, options: options, engine: engine, baseline: baseline,
            targets: Report.targets(engine, options: options, machine: machine), peers: peers, heavyUser: heavyUser,
            tombstones: tombstones,
            goals: Report.goals(engine, peers: peers) + [HeavyUser.goal(heavyUser)],
            totalSeconds: Double(monotonicNanoseconds() - started) / 1e9)
        IO.printOut(report.table + "\n")
        if let path = options.jsonPath { report.writeJSON(to: path) }
        if options.keep { printError("tokenstore-bench: store kept in \(directory)") }
    }

    /// The directory that holds `path`.
    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The store directory: `requested` if it is absent or empty, else a fresh temporary one.
    private static func prepareDirectory(_ requested: String?) -> String {
        guard let requested else {
            let temporary = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
            var template = Array((temporary + "/tokenstore-bench.XXXXXX").utf8CString)
            guard let path = mkdtemp(&template) else { fail("cannot create a temporary directory") }
            return String(cString: path)
        }
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: requested)) ?? []
        guard contents.isEmpty else { fail("--dir \(requested) is not empty; the benchmark needs a fresh store") }
        return requested
    }
}
