import FoundationEssentials
import TokenStore

/// Everything one side of the run measured: the engine or the baseline.
struct SideResult: Codable, Sendable {
    /// `tokenstore` or `baseline`.
    var side: String
    /// The generated population.
    var dataset: DatasetSummary
    /// Seconds spent generating the dataset (not part of any phase).
    var generationSeconds: Double
    /// Timed phases in order: writes, lookups, mixed.
    var phases: [PhaseResult]
    /// Segment counts and enumerations.
    var segments: [SegmentResult]
    /// Reopen and recovery; engine only.
    var durability: DurabilityResult?
    /// Size on disk; engine only.
    var disk: DiskResult?

    /// The phase with this row name.
    func phase(_ name: String) -> PhaseResult? { phases.first { $0.name == name } }
}

/// Runs every phase against TokenStore in this process, on `plans` (generated in
/// `generationSeconds`).
func runEngine(options: BenchOptions, directory: String, plans: Plans, generationSeconds: Double) -> SideResult {
    let progress = Progress(prefix: "engine")
    let runner = PhaseRunner(progress: progress)

    /// Opens the store and the phases over it.
    func open() -> PhaseSuite<EngineStore> {
        let store = must("open \(directory)") { () throws(TokenStoreError) in
            try TokenStore(path: directory, options: options.storeOptions)
        }
        return PhaseSuite(store: EngineStore(store), plans: plans, options: options, runner: runner)
    }
    /// Closes the store and lets it go, so that nothing of it stays mapped.
    func close(_ suite: inout PhaseSuite<EngineStore>?) {
        must("close") { () throws(TokenStoreError) in try suite?.store.store.close() }
        suite = nil
    }

    var suite: PhaseSuite<EngineStore>? = open()
    progress.note("writes: load, subscriptions, reassignments, bounces")
    var phases = suite!.writes()
    // The Swift and the C lookups each run on a store just opened, so that neither pays for
    // the write-back and checkpoints that the write phases left pending.
    progress.note("lookups through the Swift API (on the store reopened)")
    close(&suite)
    suite = open()
    phases += suite!.lookups()
    progress.note("lookups through the C ABI (on the store reopened with ts_open)")
    close(&suite)
    phases += CBoundary.lookups(directory: directory, plans: plans, options: options, runner: runner)
    let engine = open()

    progress.note("segments")
    let segments = engine.segmentPhase(budgetSeconds: options.quick ? 0.01 : 0.1)
    progress.note("mixed workload at \(options.mixedThreads.map(String.init).joined(separator: ", ")) threads")
    phases += engine.mixed()
    let store = engine.store.store
    let disk = progress.timed("checkpoint and disk size") { Durability.measureDisk(store) }
    let durability = Durability.measureReopen(store, directory: directory, options: options, progress: progress)
    return SideResult(
        side: "tokenstore", dataset: DatasetSummary(plans.dataset), generationSeconds: generationSeconds,
        phases: phases, segments: segments, durability: durability, disk: disk)
}

/// Runs every in-memory phase against the naive baseline in this process.
func runBaseline(options: BenchOptions) -> SideResult {
    let progress = Progress(prefix: "baseline")
    let start = monotonicNanoseconds()
    let plans = progress.timed("generate \(options.records) records") {
        Plans(dataset: Dataset(records: options.records, seed: options.seed))
    }
    let generationSeconds = Double(monotonicNanoseconds() - start) / 1e9
    let suite = PhaseSuite(store: NaiveStore(), plans: plans, options: options, runner: PhaseRunner(progress: progress))
    progress.note("writes, lookups, segments, mixed workload")
    var phases = suite.writes() + suite.lookups()
    let segments = suite.segmentPhase(budgetSeconds: options.quick ? 0.01 : 0.1)
    phases += suite.mixed()
    return SideResult(
        side: "baseline", dataset: DatasetSummary(plans.dataset), generationSeconds: generationSeconds,
        phases: phases, segments: segments, durability: nil, disk: nil)
}

/// Runs the baseline in a child process, so its memory is measured apart from the engine's.
func runBaselineInChild(options: BenchOptions) -> SideResult {
    let child = ChildProcess(arguments: ["--baseline-child"] + options.childArguments)
    let output = child.readToEnd()
    child.wait()
    do {
        return try JSONDecoder().decode(SideResult.self, from: Data(output))
    } catch {
        fail("cannot read the baseline's results: \(error)")
    }
}
