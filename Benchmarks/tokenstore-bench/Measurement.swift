import Glibc
import TokenStore

/// Nanoseconds on `CLOCK_MONOTONIC` (a vDSO call, about 20 ns).
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
}

/// CPU time this thread has used, in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`).
func threadCPUNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
}

/// Percentiles of sampled single-operation latencies, in nanoseconds.
///
/// Samples include the cost of reading the clock twice (see `Machine.timerOverheadNs`).
struct Latency: Codable, Sendable {
    /// How many operations were timed individually.
    var samples: Int
    var p50Ns: Double
    var p99Ns: Double
    var p999Ns: Double
    var maxNs: Double

    /// The percentiles of `samples`; `nil` when there are none.
    init?(_ samples: [UInt64]) {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        func at(_ quantile: Double) -> Double { Double(sorted[Int(quantile * Double(sorted.count - 1))]) }
        self.samples = sorted.count
        p50Ns = at(0.50)
        p99Ns = at(0.99)
        p999Ns = at(0.999)
        maxNs = Double(sorted[sorted.count - 1])
    }
}

/// The figures of one timed phase.
struct PhaseResult: Codable, Sendable {
    /// The phase's row label, also its key in comparisons.
    var name: String
    /// Operations executed.
    var ops: Int
    /// Threads that ran them.
    var threads: Int
    /// Wall-clock seconds spent in the operations (input preparation excluded).
    var seconds: Double
    /// Throughput: `ops / seconds`.
    var opsPerSecond: Double
    /// Cost per operation per thread: `seconds × threads / ops`.
    var nsPerOp: Double
    /// CPU time the worker threads spent per operation: unlike `nsPerOp`, not inflated by
    /// other processes taking the cores (but blind to time spent waiting on locks).
    var cpuNsPerOp: Double
    /// Sampled latency percentiles.
    var latency: Latency?
    /// The process's peak resident memory during the phase.
    var peakRSSBytes: Int
    /// What the operations returned (applied, stale, removed, missing, …), non-zero counts only.
    var outcomes: [String: Int]
    /// What the store wrote during the phase, where it counts it (TokenStore's Swift handle).
    var writes: WriteFigures?

    /// A result from raw measurements.
    init(name: String, ops: Int, threads: Int, nanoseconds: UInt64, cpuNanoseconds: UInt64, samples: [UInt64],
         peakRSSBytes: Int, tally: Tally) {
        self.name = name
        self.ops = ops
        self.threads = threads
        seconds = Double(nanoseconds) / 1e9
        opsPerSecond = nanoseconds == 0 ? 0 : Double(ops) / seconds
        nsPerOp = ops == 0 ? 0 : Double(nanoseconds) * Double(threads) / Double(ops)
        cpuNsPerOp = ops == 0 ? 0 : Double(cpuNanoseconds) / Double(ops)
        latency = Latency(samples)
        self.peakRSSBytes = peakRSSBytes
        outcomes = tally.nonZero
    }
}

/// What TokenStore wrote during one phase: the difference of `TokenStore.writeActivity`
/// (counted since the handle opened) across the phase.
struct WriteFigures: Codable, Sendable {
    /// Bytes appended to the write-ahead log.
    var logBytes: Int
    /// Bytes checkpoints wrote: journal and pages.
    var checkpointBytes: Int
    /// Manifests and space reserved for growing files.
    var otherBytes: Int
    /// Checkpoints completed during the phase.
    var checkpoints: Int
    /// The longest checkpoint pause of the handle since it opened, at the end of the phase.
    var handleLongestPauseNs: Double
    /// True when a checkpoint of this phase set that longest pause, so that it is this
    /// phase's own; otherwise this phase's longest pause is at most `handleLongestPauseNs`.
    var longestPauseInPhase: Bool

    /// The activity between two readings of the same handle.
    init(before: WriteActivity, after: WriteActivity) {
        logBytes = Int(after.logBytes - before.logBytes)
        checkpointBytes = Int(after.checkpointBytes - before.checkpointBytes)
        otherBytes = Int(after.otherBytes - before.otherBytes)
        checkpoints = Int(after.checkpoints - before.checkpoints)
        handleLongestPauseNs = Double(after.longestCheckpointPauseNanoseconds)
        longestPauseInPhase = after.longestCheckpointPauseNanoseconds > before.longestCheckpointPauseNanoseconds
    }
}
