import Glibc
import Synchronization

/// A phase's operations, split over threads and timed in rounds.
///
/// Operation `local` of thread `thread` is global operation `local × threads + thread`, so
/// event times and targets interleave across threads as they would in a real server.
protocol Workload: Sendable {
    /// The prepared inputs of one round of one thread.
    associatedtype Batch
    /// Builds the inputs of a thread's local operations `range`. Not timed.
    func prepare(thread: Int, threads: Int, range: Range<Int>) -> Batch
    /// Runs operation `index` of `batch` (0-based within the batch). Timed.
    func run(_ batch: Batch, _ index: Int, _ tally: inout Tally)
}

/// Runs workloads on pthreads with a start barrier per round.
///
/// Each round, every thread prepares its next slice (untimed, in parallel), all meet at a
/// barrier, run the slice, and meet again; the round's wall time runs from the first thread's
/// start to the last thread's end. Rounds bound the memory of prepared inputs, so ten million
/// operations need no more than a few hundred thousand strings at a time.
struct PhaseRunner: Sendable {
    /// Operations per thread per round.
    var roundSize = 65_536
    /// Every `sampleEvery`-th operation is timed alone for the latency percentiles (a power of two).
    var sampleEvery = 64
    /// Where progress goes.
    let progress: Progress

    /// Runs `ops` operations of `workload` on `threads` threads.
    func run<W: Workload>(_ name: String, _ workload: W, ops: Int, threads: Int) -> PhaseResult {
        let perThread = (ops + threads - 1) / threads
        let rounds = max(1, (perThread + roundSize - 1) / roundSize)
        let barrier = Barrier(count: threads)
        let results = ThreadSlots<ThreadResult>(count: threads)
        let completedOps = Atomic<Int>(0)
        let finishedThreads = Atomic<Int>(0)
        let sampleMask = sampleEvery - 1
        let roundSize = self.roundSize

        Memory.resetPeak()
        let threadIDs = (0..<threads).map { thread in
            spawnThread {
                let myOps = ops / threads + (thread < ops % threads ? 1 : 0)
                var result = ThreadResult()
                result.samples.reserveCapacity(myOps / (sampleMask + 1) + 1)
                for round in 0..<rounds {
                    let lower = min(round * roundSize, myOps), upper = min(lower + roundSize, myOps)
                    let batch = workload.prepare(thread: thread, threads: threads, range: lower..<upper)
                    barrier.wait()
                    let cpuStart = threadCPUNanoseconds()
                    let start = monotonicNanoseconds()
                    for index in 0..<(upper - lower) {
                        if index & sampleMask == 0 {
                            let before = monotonicNanoseconds()
                            workload.run(batch, index, &result.tally)
                            result.samples.append(monotonicNanoseconds() &- before)
                        } else {
                            workload.run(batch, index, &result.tally)
                        }
                        if index & 1023 == 1023 { completedOps.add(1024, ordering: .relaxed) }
                    }
                    result.spans.append((start, monotonicNanoseconds()))
                    result.cpuNanoseconds += threadCPUNanoseconds() - cpuStart
                    completedOps.add((upper - lower) & 1023, ordering: .relaxed)
                    barrier.wait()
                }
                results[thread] = result
                finishedThreads.add(1, ordering: .releasing)
            }
        }

        let started = monotonicNanoseconds()
        var lastPrint = 0.0
        while finishedThreads.load(ordering: .acquiring) < threads {
            usleep(20_000)
            progress.tick(
                name, fraction: Double(completedOps.load(ordering: .relaxed)) / Double(max(ops, 1)),
                elapsedSeconds: Double(monotonicNanoseconds() - started) / 1e9, lastPrint: &lastPrint)
        }
        for id in threadIDs { pthread_join(id, nil) }

        var tally = Tally()
        var samples: [UInt64] = []
        var wall: UInt64 = 0, cpu: UInt64 = 0
        for round in 0..<rounds {
            let start = (0..<threads).map { results[$0].spans[round].start }.min()!
            let end = (0..<threads).map { results[$0].spans[round].end }.max()!
            wall += end - start
        }
        for thread in 0..<threads {
            tally.merge(results[thread].tally)
            cpu += results[thread].cpuNanoseconds
            samples += results[thread].samples
        }
        return PhaseResult(
            name: name, ops: ops, threads: threads, nanoseconds: wall, cpuNanoseconds: cpu, samples: samples,
            peakRSSBytes: Memory.peakResidentBytes, tally: tally)
    }
}

/// What one thread measured.
private struct ThreadResult {
    var tally = Tally()
    var samples: [UInt64] = []
    var spans: [(start: UInt64, end: UInt64)] = []
    var cpuNanoseconds: UInt64 = 0
}

/// One slot per thread, each written only by its thread and read after the join.
private final class ThreadSlots<T>: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<T?>

    init(count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil)
    }

    deinit {
        slots.deinitialize()
        slots.deallocate()
    }

    subscript(index: Int) -> T {
        get { slots[index]! }
        set { slots[index] = newValue }
    }
}

/// A `pthread_barrier_t` at a stable address.
final class Barrier: @unchecked Sendable {
    private let barrier = UnsafeMutablePointer<pthread_barrier_t>.allocate(capacity: 1)

    /// A barrier that releases when `count` threads wait on it.
    init(count: Int) { pthread_barrier_init(barrier, nil, UInt32(count)) }

    deinit {
        pthread_barrier_destroy(barrier)
        barrier.deallocate()
    }

    /// Blocks until `count` threads are waiting.
    func wait() { pthread_barrier_wait(barrier) }
}

/// Starts a joinable pthread running `body`.
func spawnThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var thread = pthread_t()
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    let status = pthread_create(&thread, nil, { context in
        Unmanaged<Box>.fromOpaque(context!).takeRetainedValue().body()
        return nil
    }, context)
    guard status == 0 else { fail("pthread_create failed: \(status)") }
    return thread
}
