import TokenStore

/// Row names, shared by both sides so the report can pair engine and baseline figures.
enum PhaseName {
    static let load = "load (register)"
    static let subscriptions = "set subscription"
    static let reassignments = "reassign (changeUser)"
    static let bounces = "bounce"
    static let get = "get by key (view)"
    static let getCopy = "get by key (copy)"
    static let userTokens = "user tokens (view)"
    static let sendable = "sendable tokens (copy)"
    static let getC = "get by key, C ts_get"
    static let userTokensC = "user tokens, C ts_user_tokens"
    static func mixed(threads: Int) -> String { "mixed, \(threads) thread\(threads == 1 ? "" : "s")" }
}

/// Phases 1–6 against one store: the same code and inputs for the engine and the baseline.
struct PhaseSuite<Store: BenchStore> {
    /// The store under test.
    let store: Store
    /// The operation streams.
    let plans: Plans
    /// Sizes and thread counts.
    let options: BenchOptions
    /// Times the phases.
    let runner: PhaseRunner

    /// Phase 1–3: load, subscriptions, reassignments and bounces.
    func writes() -> [PhaseResult] {
        let plans = self.plans
        let threads = options.threads
        var results = [
            phase(PhaseName.load, ops: plans.dataset.count, threads: threads) { plans.load($0) },
            phase(PhaseName.subscriptions, ops: plans.dataset.userCount, threads: threads) { plans.subscription($0) },
        ]
        if options.reassignments > 0 {
            results.append(phase(PhaseName.reassignments, ops: options.reassignments, threads: threads) {
                plans.reassignment($0, stream: 3, base: Plans.base(2))
            })
        }
        if options.bounces > 0 {
            results.append(phase(PhaseName.bounces, ops: options.bounces, threads: threads) {
                plans.bounce($0, offset: 0, base: Plans.base(3))
            })
        }
        return results
    }

    /// Phase 4 through the Swift API: get (in place and copied), a user's tokens, sendable tokens.
    func lookups() -> [PhaseResult] {
        let plans = self.plans
        let (ops, threads) = (options.lookups, options.threads)
        return [
            phase(PhaseName.get, ops: ops, threads: threads) { plans.get($0, stream: 4) },
            phase(PhaseName.getCopy, ops: ops, threads: threads) { plans.get($0, stream: 4, copying: true) },
            phase(PhaseName.userTokens, ops: ops, threads: threads) { plans.userTokens($0, stream: 5) },
            phase(PhaseName.sendable, ops: ops, threads: threads) { plans.sendableTokens($0, stream: 6) },
        ]
    }

    /// Phase 6: the mixed workload at each thread count, on shared keys.
    func mixed() -> [PhaseResult] {
        let plans = self.plans
        let bouncesPerRun = options.mixedOps / 20 + 1
        return options.mixedThreads.enumerated().map { run, threads in
            let offset = options.bounces + run * bouncesPerRun
            return phase(PhaseName.mixed(threads: threads), ops: options.mixedOps, threads: threads) {
                plans.mixed($0, run: run, bounceOffset: offset)
            }
        }
    }

    private func phase(_ name: String, ops: Int, threads: Int, _ plan: @escaping @Sendable (Int) -> Operation)
        -> PhaseResult
    {
        let before = store.writeActivity
        var result = runner.run(name, StoreWorkload(store: store, plan: plan), ops: ops, threads: threads)
        if let before, let after = store.writeActivity { result.writes = WriteFigures(before: before, after: after) }
        return result
    }
}
