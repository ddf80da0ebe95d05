import FoundationEssentials
import Glibc

/// The whole run, as `--json` writes it: every figure plus the machine, the date and the
/// options, so runs can be compared.
struct Report: Codable, Sendable {
    /// When the run started (ISO 8601, UTC).
    var date: String
    /// The command line.
    var command: String
    /// The machine.
    var machine: Machine
    /// The options, with derived sizes filled in.
    var options: BenchOptions
    /// TokenStore's figures.
    var engine: SideResult
    /// The naive baseline's figures, unless `--no-baseline`.
    var baseline: SideResult?
    /// The issue's targets against the engine's figures.
    var targets: [TargetCheck]
    /// The peer comparison, unless `--no-peers`.
    var peers: PeerSection?
    /// Writes to a user with many tokens against ordinary users, unless `--heavy-user-tokens 0`.
    var heavyUser: HeavyUserResult?
    /// What tombstones cost in bytes and in registrations, unless `--tombstones 0`.
    var tombstones: TombstoneResult?
    /// Issue 10's goals: TokenStore against its peers, and its checkpoint figures.
    var goals: [GoalCheck]
    /// Wall time of the whole run, both sides and generation included.
    var totalSeconds: Double

    /// Writes the report as pretty-printed JSON.
    func writeJSON(to path: String) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let json = try? encoder.encode(self) else { fail("cannot encode the report") }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { fail("cannot write \(path): errno \(errno)") }
        IO.write(json, to: fd)
        close(fd)
    }
}

/// The shape of the generated data.
struct DatasetSummary: Codable, Sendable {
    var records: Int
    var users: Int
    var devices: Int
    var apps: Int
    /// Records per platform.
    var platforms: [String: Int]
    /// Records per authorization.
    var authorizations: [String: Int]

    /// Counts `dataset`.
    init(_ dataset: Dataset) {
        records = dataset.count
        users = dataset.userCount
        devices = dataset.devicePlatform.count
        apps = dataset.apps.count
        platforms = [:]
        authorizations = [:]
        for record in 0..<dataset.count {
            platforms[dataset.platform(ofRecord: record).description, default: 0] += 1
            authorizations[dataset.recordAuthorization[record].description, default: 0] += 1
        }
    }
}

/// One of the issue's targets, checked against this run's figures.
struct TargetCheck: Codable, Sendable {
    /// What the issue asks for.
    var target: String
    /// What this run measured.
    var measured: String
    /// Whether it was met; `nil` when the run did not measure it.
    var met: Bool?
}

extension Report {
    /// Checks the issue's targets ("on this 2-core machine, with the default durability").
    static func targets(_ engine: SideResult, options: BenchOptions, machine: Machine) -> [TargetCheck] {
        var checks: [TargetCheck] = []
        let setup = "\(options.threads) threads, \(Format.count(options.records)) records"
        func rate(_ target: String, _ name: String, atLeast floor: Double, perCore: Bool = false) {
            guard let phase = engine.phase(name) else { return checks.append(TargetCheck(target: target, measured: "not run")) }
            let cores = perCore ? Double(min(phase.threads, machine.cores)) : 1
            let value = phase.opsPerSecond / cores
            checks.append(TargetCheck(
                target: target, measured: "\(Format.rate(value))\(perCore ? " per core" : "") (\(setup))",
                met: value >= floor))
        }
        rate("≥ 2M reassignments/s with 2 threads at 1M records", PhaseName.reassignments, atLeast: 2e6)
        rate("≥ 2M bounce purges/s with 2 threads at 1M records", PhaseName.bounces, atLeast: 2e6)
        rate("≥ 5M gets/s per core", PhaseName.get, atLeast: 5e6, perCore: true)

        if let slowest = engine.segments.max(by: { $0.countNs < $1.countNs }) {
            checks.append(TargetCheck(
                target: "segment counts in microseconds (< 10 µs)",
                measured: "slowest \(Format.nanoseconds(slowest.countNs)) (\(slowest.segment))",
                met: slowest.countNs < 10_000))
        }
        if let slowest = engine.segments.filter({ $0.users > 0 }).min(by: { $0.usersPerSecond < $1.usersPerSecond }) {
            checks.append(TargetCheck(
                target: "enumeration ≥ 10M users/s",
                measured: "slowest \(Format.rate(slowest.usersPerSecond)) (\(slowest.segment))",
                met: slowest.usersPerSecond >= 1e7))
        }
        if let one = engine.phase(PhaseName.mixed(threads: 1)), let two = engine.phase(PhaseName.mixed(threads: 2)) {
            let scaling = two.opsPerSecond / one.opsPerSecond
            checks.append(TargetCheck(
                target: "mixed workload: 2 threads ≥ 1.7× 1 thread", measured: Format.ratio(scaling), met: scaling >= 1.7))
        }
        if let durability = engine.durability {
            checks.append(TargetCheck(
                target: "clean reopen of a 10M-record store < 1 s",
                measured: "\(Format.seconds(durability.clean.seconds)) at \(Format.count(durability.clean.records)) records",
                met: options.records >= 10_000_000 ? durability.clean.seconds < 1 : nil))
            checks.append(TargetCheck(
                target: "no acknowledged write lost to SIGKILL",
                measured: "\(Format.count(durability.lostWrites)) lost of \(Format.count(durability.writerAcknowledged))",
                met: durability.lostWrites == 0))
        }
        if let disk = engine.disk {
            checks.append(TargetCheck(
                target: "≤ 2× raw bytes on disk", measured: Format.ratio(disk.ratio), met: disk.ratio <= 2))
        }
        return checks
    }
}

/// One row of issue 10's goal table, measured in this run.
struct GoalCheck: Codable, Sendable {
    /// What is compared.
    var row: String
    /// The measured value (a ratio, or nanoseconds for the pause); `nil` when not measured.
    var value: Double?
    /// The value as printed, or why it is missing.
    var measured: String
    /// The goal and the floor as printed, e.g. "≥ 10×".
    var goal: String, floor: String
    /// Whether the value reaches the goal and the floor; `nil` when not measured or when
    /// the row has no floor.
    var goalMet: Bool?, floorMet: Bool?
}

extension Report {
    /// Issue 10's goal table against this run: ratios of TokenStore's rate to LMDB's and the
    /// in-memory hash's in the peer section, issue 16's campaign sender figures (measured on
    /// the TokenStore peer's store), the mixed workload's scaling, and the checkpoint figures
    /// of the Swift phases (`TokenStore.writeActivity`).
    static func goals(_ engine: SideResult, peers: PeerSection?) -> [GoalCheck] {
        var checks: [GoalCheck] = []
        /// `≥ 5×`, `≥ 1.8×`.
        func atLeast(_ bound: Double) -> String {
            "≥ " + (bound == bound.rounded() ? Format.fixed(bound) : Format.fixed(bound, 1)) + "×"
        }
        func ratio(_ row: String, _ value: Double?, missing: String, goal: Double, floor: Double?) {
            guard let value, value.isFinite else {
                return checks.append(GoalCheck(
                    row: row, measured: missing, goal: atLeast(goal), floor: floor.map(atLeast) ?? "–"))
            }
            checks.append(GoalCheck(
                row: row, value: value, measured: Format.ratio(value), goal: atLeast(goal),
                floor: floor.map(atLeast) ?? "–", goalMet: value >= goal, floorMet: floor.map { value >= $0 }))
        }
        func peerRatio(_ phase: PeerPhase, over other: PeerKind, goal: Double, floor: Double?) {
            let row = "\(phase.rawValue): TokenStore ÷ \(other.label)"
            let mine = peers?.peer(.tokenstore)?.phase(phase), theirs = peers?.peer(other)?.phase(phase)
            let missing = peers == nil ? "peers not run" : mine == nil ? "TokenStore peer not run" : "\(other.label) not run"
            let value = mine.flatMap { mine in theirs.map { mine.opsPerSecond / $0.opsPerSecond } }
            ratio(row, value, missing: missing, goal: goal, floor: floor)
        }
        peerRatio(.changeUser, over: .lmdb, goal: 10, floor: 5)
        peerRatio(.bounce, over: .lmdb, goal: 10, floor: 5)
        peerRatio(.register, over: .lmdb, goal: 5, floor: 3)
        peerRatio(.get, over: .lmdb, goal: 3, floor: 2)
        peerRatio(.get, over: .memory, goal: 1, floor: nil)

        // Issue 16: the campaign sender's calls, on the TokenStore peer's store.
        let campaign = peers?.campaign
        let noCampaign = peers == nil ? "peers not run" : "TokenStore peer not run"
        if let slowest = campaign?.slowest {
            let rate = slowest.onePassTokensPerSecond
            checks.append(GoalCheck(
                row: "campaign: ts_campaign_tokens tokens/s (slowest)", value: rate, measured: Format.rate(rate),
                goal: "≥ 10M/s", floor: "–", goalMet: rate >= 1e7, floorMet: nil))
        } else {
            checks.append(GoalCheck(row: "campaign: ts_campaign_tokens tokens/s (slowest)", measured: noCampaign, goal: "≥ 10M/s", floor: "–"))
        }
        ratio("campaign: one pass ÷ two-pass composition (least)", campaign?.leastGain?.ratio, missing: noCampaign, goal: 10, floor: 3)
        ratio("get_many (batches of 64) ÷ ts_get loop", campaign?.getMany.ratio, missing: noCampaign, goal: 2, floor: 1.3)

        let one = engine.phase(PhaseName.mixed(threads: 1)), two = engine.phase(PhaseName.mixed(threads: 2))
        ratio("mixed workload: 2 threads ÷ 1 thread", one.flatMap { one in two.map { $0.opsPerSecond / one.opsPerSecond } },
              missing: "needs --mixed-threads with 1 and 2", goal: 1.8, floor: 1.5)

        let writes = engine.phases.compactMap(\.writes)
        let checkpoints = writes.reduce(0) { $0 + $1.checkpoints }
        if checkpoints == 0 {
            let reason = writes.isEmpty ? "no write activity counted" : "no checkpoint ran during the phases"
            checks.append(GoalCheck(row: "longest checkpoint pause (Swift phases)", measured: reason, goal: "≤ 5 ms", floor: "≤ 20 ms"))
            checks.append(GoalCheck(row: "checkpoint bytes ÷ log bytes (Swift phases)", measured: reason, goal: "≤ 2×", floor: "≤ 3×"))
        } else {
            let pause = writes.map(\.handleLongestPauseNs).max() ?? 0
            checks.append(GoalCheck(
                row: "longest checkpoint pause (Swift phases)", value: pause, measured: Format.nanoseconds(pause),
                goal: "≤ 5 ms", floor: "≤ 20 ms", goalMet: pause <= 5e6, floorMet: pause <= 20e6))
            let log = writes.reduce(0) { $0 + $1.logBytes }, checkpointed = writes.reduce(0) { $0 + $1.checkpointBytes }
            let amplification = Double(checkpointed) / Double(max(log, 1))
            checks.append(GoalCheck(
                row: "checkpoint bytes ÷ log bytes (Swift phases)", value: amplification,
                measured: Format.ratio(amplification), goal: "≤ 2×", floor: "≤ 3×",
                goalMet: amplification <= 2, floorMet: amplification <= 3))
        }
        return checks
    }
}
