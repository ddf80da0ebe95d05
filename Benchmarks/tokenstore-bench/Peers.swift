import FoundationEssentials
import Glibc

/// The stores of the peer comparison.
enum PeerKind: String, CaseIterable, Codable, Sendable {
    /// TokenStore through the C ABI (`ts_open`, `ts_register`, …).
    case tokenstore
    /// LMDB, loaded with `dlopen`, `MDB_NOSYNC`, 10,000-operation transactions.
    case lmdb
    /// A hash table per index in this process, no persistence.
    case memory
    /// SQLite, loaded with `dlopen`, WAL, `synchronous=NORMAL`, 10,000-operation transactions.
    case sqlite

    /// The peers run when `--peers` is not given.
    static let defaults: [PeerKind] = [.tokenstore, .lmdb, .memory]

    /// The name in reports.
    var label: String {
        switch self {
        case .tokenstore: return "TokenStore"
        case .lmdb: return "LMDB"
        case .memory: return "in-memory hash"
        case .sqlite: return "SQLite"
        }
    }
}

/// The peer section's phases, in run order.
enum PeerPhase: String, CaseIterable, Codable, Sendable {
    case register
    case changeUser = "change_user"
    case bounce
    case get
}

/// A store driven by the peer section: one thread, pre-rendered C-string inputs.
///
/// Each peer keeps the same indexes: the primary key (device id + app id) to the record
/// (token, user, platform, authorization, times), the token to its key, and the user to
/// their keys. Each call does the domain's work for one operation and returns what happened,
/// counted per phase; the counts must agree across peers. Any failure other than "not
/// found" aborts the run.
protocol Peer: AnyObject {
    /// Upserts the record and its index entries; a token held by another key moves here.
    func register(_ input: RegisterInput) -> Outcome
    /// Moves the key to another user (or none): both users' key sets and the record change.
    func changeUser(_ input: ChangeUserInput) -> Outcome
    /// Looks the token up; a removing, non-stale bounce deletes the record and its entries.
    func bounce(_ input: BounceInput) -> Outcome
    /// Looks the key up and reads its token's length in place.
    func get(_ input: GetInput) -> Outcome
    /// Starts a phase (opens a transaction where the peer has them). Timed with the first operation.
    func begin(_ phase: PeerPhase)
    /// Ends a phase (commits what is open). Timed with the last operation.
    func finish(_ phase: PeerPhase)
    /// Live tokens, after the phases.
    func liveTokens() -> Int
    /// Closes the store; the peer is not used again.
    func close()
}

/// One phase of one peer.
struct PeerPhaseResult: Codable, Sendable {
    /// `PeerPhase.rawValue`.
    var phase: String
    var ops: Int
    /// Wall time of the phase (from before the first operation to after the last commit).
    var seconds: Double
    var opsPerSecond: Double
    var nsPerOp: Double
    /// CPU time of the thread per operation (background threads of the store not included).
    var cpuNsPerOp: Double
    /// Every operation's latency: the time between consecutive clock reads.
    var latency: Latency?
    /// Bytes this process passed to `write`-family calls during the phase (`/proc/self/io` wchar).
    var syscallWriteBytes: Int
    /// Bytes of page cache this process dirtied, `mmap` stores included (`write_bytes`).
    var dirtiedBytes: Int
    /// Growth of the allocated size of the peer's files.
    var fileGrowthBytes: Int
    /// Peak resident memory of the process during the phase (`VmHWM`).
    var peakRSSBytes: Int
    /// That peak minus the resident memory just before the peer opened: the store's share.
    var peakOverOpenBytes: Int
    /// What the operations returned.
    var outcomes: [String: Int]
}

/// Everything measured of one peer.
struct PeerResult: Codable, Sendable {
    /// `PeerKind.rawValue`.
    var peer: String
    /// The name in reports.
    var label: String
    /// False when the peer's library could not be loaded; `note` then says how to install it.
    var available: Bool
    /// How the peer was set up, or why it did not run.
    var note: String
    var phases: [PeerPhaseResult]
    /// Live tokens after the four phases.
    var liveTokens: Int
    /// Logical and allocated bytes of the peer's files after it closed; 0 for in-memory peers.
    var diskBytes: Int, diskAllocatedBytes: Int

    /// The phase with this name.
    func phase(_ phase: PeerPhase) -> PeerPhaseResult? { phases.first { $0.phase == phase.rawValue } }
}

/// The peer comparison as the report and `--json` hold it.
struct PeerSection: Codable, Sendable {
    /// Records loaded; the other phases' sizes follow from it.
    var records: Int
    /// Bytes of the pre-rendered inputs every peer ran on.
    var inputBytes: Int
    /// Seconds spent rendering them (not timed in any phase).
    var renderSeconds: Double
    /// Durability the TokenStore peer ran with.
    var durability: String
    var peers: [PeerResult]
    /// Issue 16's campaign sender figures, on the TokenStore peer's store; `nil` when that peer
    /// did not run.
    var campaign: CampaignSection?

    /// The result of `kind`, if it ran.
    func peer(_ kind: PeerKind) -> PeerResult? { peers.first { $0.peer == kind.rawValue && $0.available } }
}

/// Runs the peer section: renders the inputs, runs every peer's four phases on them, checks
/// that the peers agree.
enum Peers {
    /// Runs `options.peers` on `plans`, with their files in a fresh directory under `parent`.
    static func run(plans: Plans, options: BenchOptions, parent: String) -> PeerSection {
        let progress = Progress(prefix: "peers")
        let start = monotonicNanoseconds()
        let records = plans.dataset.count
        let inputs = progress.timed("render the inputs") { PeerInputs(plans: plans, records: records) }
        let renderSeconds = Double(monotonicNanoseconds() - start) / 1e9
        let root = makeDirectory(in: parent)
        defer { if !options.keep { try? FileManager.default.removeItem(atPath: root) } }
        let samples = UnsafeMutablePointer<UInt64>.allocate(capacity: max(inputs.registers.count, inputs.changes.count, inputs.gets.count, 1))
        defer { samples.deallocate() }

        var results: [PeerResult] = []
        var campaign: CampaignSection?
        for kind in options.peers {
            let directory = root + "/" + kind.rawValue
            guard mkdir(directory, 0o755) == 0 else { fail("cannot create \(directory): errno \(errno)") }
            trimHeap()
            let residentBefore = Memory.residentBytes
            let opened = open(kind, directory: directory, options: options)
            guard let peer = opened.peer else {
                progress.note("\(kind.label): \(opened.note)")
                results.append(PeerResult(
                    peer: kind.rawValue, label: kind.label, available: false, note: opened.note, phases: [],
                    liveTokens: 0, diskBytes: 0, diskAllocatedBytes: 0))
                continue
            }
            let context = Context(
                inputs: inputs, samples: samples, directory: kind == .memory ? nil : directory,
                residentBefore: residentBefore, progress: progress, label: kind.label)
            let phases = runPhases(peer, context)
            if let tokenStore = peer as? TokenStorePeer, let handle = tokenStore.handle {
                campaign = CampaignBench.run(handle: handle, inputs: inputs, apps: plans.dataset.apps, progress: progress)
            }
            let live = peer.liveTokens()
            peer.close()
            let disk = kind == .memory ? (0, 0) : directoryUsage(directory)
            results.append(PeerResult(
                peer: kind.rawValue, label: kind.label, available: true, note: opened.note, phases: phases,
                liveTokens: live, diskBytes: disk.0, diskAllocatedBytes: disk.1))
        }
        let section = PeerSection(
            records: records, inputBytes: inputs.bytes, renderSeconds: renderSeconds,
            durability: options.durabilityLabel, peers: results, campaign: campaign)
        checkAgreement(section)
        return section
    }

    /// Opens one peer, or says why it cannot run.
    private static func open(_ kind: PeerKind, directory: String, options: BenchOptions) -> (peer: (any Peer)?, note: String) {
        switch kind {
        case .tokenstore:
            return (TokenStorePeer(directory: directory, options: options), "C ABI, \(options.durabilityLabel) durability, \(options.shards) shards")
        case .memory:
            return (MemoryPeer(records: options.peerRecords), "a Swift Dictionary per index over raw bytes, sized up front; no lock, no persistence")
        case .lmdb:
            switch LMDB.load(options.lmdbLibrary) {
            case .success(let library):
                return (LMDBPeer(library: library, directory: directory, records: options.peerRecords),
                        "\(library.version), MDB_NOSYNC, 10,000 operations per transaction")
            case .failure(let reason):
                return (nil, "not run: \(reason.description); install it with `apt-get install liblmdb0`")
            }
        case .sqlite:
            switch SQLite.load(options.sqliteLibrary) {
            case .success(let library):
                return (SQLitePeer(library: library, directory: directory),
                        "\(library.version), WAL, synchronous=NORMAL, 10,000 operations per transaction")
            case .failure(let reason):
                return (nil, "not run: \(reason.description); install it with `apt-get install libsqlite3-0`")
            }
        }
    }

    /// What every phase of one peer needs.
    private struct Context {
        let inputs: PeerInputs
        let samples: UnsafeMutablePointer<UInt64>
        /// The peer's files, for their growth; `nil` for in-memory peers.
        let directory: String?
        let residentBefore: Int
        let progress: Progress
        let label: String
    }

    /// The four phases of one peer, each on the same inputs as every other peer's.
    private static func runPhases<P: Peer>(_ peer: P, _ context: Context) -> [PeerPhaseResult] {
        let inputs = context.inputs
        return [
            measure(peer, .register, inputs.registers, context) { $0.register($1) },
            measure(peer, .changeUser, inputs.changes, context) { $0.changeUser($1) },
            measure(peer, .bounce, inputs.bounces, context) { $0.bounce($1) },
            measure(peer, .get, inputs.gets, context) { $0.get($1) },
        ]
    }

    /// Runs one phase, timing every operation with one clock read between operations.
    @inline(__always)
    private static func measure<P: Peer, Input>(
        _ peer: P, _ phase: PeerPhase, _ inputs: [Input], _ context: Context, _ operation: (P, Input) -> Outcome
    ) -> PeerPhaseResult {
        let samples = context.samples
        var tally = Tally()
        let diskBefore = context.directory.map { directoryUsage($0).allocated } ?? 0
        let ioBefore = IOCounters.current()
        Memory.resetPeak()
        let cpuStart = threadCPUNanoseconds()
        let start = monotonicNanoseconds()
        var previous = start
        inputs.withUnsafeBufferPointer { inputs in
            peer.begin(phase)
            for index in inputs.indices {
                tally.add(operation(peer, inputs[index]))
                let now = monotonicNanoseconds()
                samples[index] = now &- previous
                previous = now
            }
            peer.finish(phase)
            let now = monotonicNanoseconds()
            if !inputs.isEmpty { samples[inputs.count - 1] &+= now &- previous }
            previous = now
        }
        let nanoseconds = previous - start
        let cpu = threadCPUNanoseconds() - cpuStart
        let peak = Memory.peakResidentBytes
        let ioAfter = IOCounters.current()
        let diskAfter = context.directory.map { directoryUsage($0).allocated } ?? 0
        let ops = inputs.count
        let result = PeerPhaseResult(
            phase: phase.rawValue, ops: ops, seconds: Double(nanoseconds) / 1e9,
            opsPerSecond: nanoseconds == 0 ? 0 : Double(ops) * 1e9 / Double(nanoseconds),
            nsPerOp: ops == 0 ? 0 : Double(nanoseconds) / Double(ops), cpuNsPerOp: ops == 0 ? 0 : Double(cpu) / Double(ops),
            latency: Latency(Array(UnsafeBufferPointer(start: samples, count: ops))),
            syscallWriteBytes: ioAfter.writtenBytes - ioBefore.writtenBytes,
            dirtiedBytes: ioAfter.dirtiedBytes - ioBefore.dirtiedBytes, fileGrowthBytes: diskAfter - diskBefore,
            peakRSSBytes: peak, peakOverOpenBytes: max(0, peak - context.residentBefore), outcomes: tally.nonZero)
        context.progress.note("\(context.label) \(phase.rawValue): \(Format.count(ops)) ops, \(Format.rate(result.opsPerSecond))")
        return result
    }

    /// Fails the run unless every peer that ran ended with the same live tokens and counted
    /// the same outcomes in every phase: otherwise the comparison compares different work.
    private static func checkAgreement(_ section: PeerSection) {
        let ran = section.peers.filter(\.available)
        guard let first = ran.first else { return }
        var problems: [String] = []
        for peer in ran.dropFirst() {
            if peer.liveTokens != first.liveTokens {
                problems.append("\(peer.label) ends with \(Format.count(peer.liveTokens)) live tokens, "
                    + "\(first.label) with \(Format.count(first.liveTokens))")
            }
            for phase in PeerPhase.allCases {
                let mine = peer.phase(phase)?.outcomes ?? [:], theirs = first.phase(phase)?.outcomes ?? [:]
                if mine != theirs {
                    problems.append("\(phase.rawValue): \(peer.label) \(Report.outcomes(mine)), "
                        + "\(first.label) \(Report.outcomes(theirs))")
                }
            }
        }
        guard problems.isEmpty else {
            fail("the peers disagree, so their figures do not compare the same work:\n  "
                + problems.joined(separator: "\n  "))
        }
    }

    /// A fresh directory for the peers' files under `parent`.
    private static func makeDirectory(in parent: String) -> String {
        var template = Array((parent + "/tokenstore-bench-peers.XXXXXX").utf8CString)
        guard let path = mkdtemp(&template) else { fail("cannot create a directory in \(parent): errno \(errno)") }
        return String(cString: path)
    }

    /// Returns freed heap memory to the system, so that one peer's leftovers do not count as
    /// the next one's resident memory, nor hide its growth.
    private static func trimHeap() {
        typealias Trim = @convention(c) (Int) -> Int32
        guard let trim = dlsym(nil, "malloc_trim") else { return }
        _ = unsafeBitCast(trim, to: Trim.self)(0)
    }
}

/// Logical and allocated bytes of every file under `directory`.
func directoryUsage(_ directory: String) -> (logical: Int, allocated: Int) {
    var logical = 0, allocated = 0
    for path in (try? FileManager.default.subpathsOfDirectory(atPath: directory)) ?? [] {
        var info = stat()
        guard lstat(directory + "/" + path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
        logical += Int(info.st_size)
        allocated += Int(info.st_blocks) * 512
    }
    return (logical, allocated)
}

/// The process's write counters from `/proc/self/io` (all threads).
struct IOCounters {
    /// `wchar`: bytes passed to `write`, `pwrite` and the like, whatever their target.
    var writtenBytes = 0
    /// `write_bytes`: bytes of page cache dirtied, through system calls or shared mappings.
    var dirtiedBytes = 0

    /// The counters now; zeros where the kernel does not provide them.
    static func current() -> IOCounters {
        var counters = IOCounters()
        for line in (IO.readText("/proc/self/io") ?? "").split(separator: "\n") {
            let parts = line.split(separator: ":")
            guard parts.count == 2, let value = Int(parts[1].drop { $0 == " " }) else { continue }
            switch parts[0] {
            case "wchar": counters.writtenBytes = value
            case "write_bytes": counters.dirtiedBytes = value
            default: break
            }
        }
        return counters
    }
}
