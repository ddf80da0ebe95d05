import TokenStore

/// What an operation returned, counted per phase.
enum Outcome: Int, CaseIterable, Sendable {
    case applied, stale, found, missing
    case removed, quarantined, kept, staleBounce
    case dead, misconfigured, transient, payload, unknownCode
    case tokens

    /// The key in reports.
    var name: String {
        switch self {
        case .staleBounce: return "stale_bounce"
        case .unknownCode: return "unknown_code"
        default: return "\(self)"
        }
    }
}

/// Outcome counters of one thread; merged after the phase. Fixed-size, so counting costs an add.
struct Tally: Sendable {
    private var counts = [Int](repeating: 0, count: Outcome.allCases.count)

    /// Counts `n` of `outcome`.
    @inline(__always)
    mutating func add(_ outcome: Outcome, _ n: Int = 1) { counts[outcome.rawValue] &+= n }

    /// Counts a write's result; `nil` means the key was not found.
    @inline(__always)
    mutating func add(_ write: WriteOutcome?) {
        switch write {
        case .applied?: add(.applied)
        case .stale?: add(.stale)
        case nil: add(.missing)
        }
    }

    /// Counts a bounce's outcome and category; `nil` means no key held the token.
    @inline(__always)
    mutating func add(_ bounce: (outcome: BounceOutcome, category: BounceCategory)?) {
        guard let bounce else { return add(.missing) }
        switch bounce.outcome {
        case .removed: add(.removed)
        case .quarantined: add(.quarantined)
        case .kept: add(.kept)
        case .stale: add(.staleBounce)
        }
        switch bounce.category {
        case .dead: add(.dead)
        case .misconfigured: add(.misconfigured)
        case .transient: add(.transient)
        case .payload: add(.payload)
        case .unknown: add(.unknownCode)
        }
    }

    /// The count of `outcome`.
    subscript(outcome: Outcome) -> Int { counts[outcome.rawValue] }

    /// Adds another thread's counters.
    mutating func merge(_ other: Tally) {
        for index in counts.indices { counts[index] += other.counts[index] }
    }

    /// Non-zero counts by name.
    var nonZero: [String: Int] {
        var result: [String: Int] = [:]
        for outcome in Outcome.allCases where self[outcome] != 0 { result[outcome.name] = self[outcome] }
        return result
    }
}
