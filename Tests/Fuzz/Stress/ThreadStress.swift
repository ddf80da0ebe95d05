// A multi-threaded workload for the sanitizers (issue 7): the Swift test suite is mostly
// single-threaded, so ThreadSanitizer sees little of the engine's locking there. This program
// hammers one store from several threads through the C ABI, every write and read mixed on a
// small key space, while the background syncer forces the log every millisecond and
// checkpoints run from both the syncer and a caller. Half a second before the end it closes
// the store through the Swift API under the running workers, then reopens it and checks
// `verify`. Built and run by Tests/scripts/sanitizers.sh under TSan and ASan.
//
//   thread-stress [seconds] [threads]

#if canImport(Glibc)
import Glibc
#endif
import CTokenStore
import CTokenStoreHeader
import TokenStore

/// A small, fast, per-thread generator (splitmix64).
struct Generator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// What a worker needs: the handle, its seed and when to stop.
final class Worker {
    let handle: OpaquePointer
    let seed: UInt64
    let deadline: Int64
    var operations = 0
    var unexpected = 0

    init(handle: OpaquePointer, seed: UInt64, deadline: Int64) {
        self.handle = handle
        self.seed = seed
        self.deadline = deadline
    }

    func run() {
        var g = Generator(state: seed)
        let ignore: ts_token_fn = { _, view in
            // Touch the view's first string so a dangling pointer is seen.
            guard let view = view?.pointee else { return 1 }
            var sum: UInt8 = 0
            for i in 0..<view.device_id_len { sum &+= UInt8(bitPattern: view.device_id[i]) }
            return sum == 255 ? 1 : 0
        }
        let ignoreChange: ts_change_fn = { _, view in
            guard let view = view?.pointee else { return 1 }
            var sum: UInt8 = 0
            for i in 0..<view.device_id_len { sum &+= UInt8(bitPattern: view.device_id[i]) }
            return sum == 255 ? 1 : 0
        }
        let ignoreUser: ts_user_fn = { _, p, n in
            guard let p else { return 1 }
            var sum: UInt8 = 0
            for i in 0..<n { sum &+= UInt8(bitPattern: p[i]) }
            return sum == 255 ? 1 : 0
        }
        while now() < deadline {
            let device = "dev-\(g.below(32))", app = g.below(2) == 0 ? "com.example.app" : "web"
            let user = "user-\(g.below(16))", token = "tok-\(g.below(64))"
            let at = 1_700_000_000_000 + Int64(g.below(1_000_000))
            var status: Int32 = 0
            switch g.below(20) {
            case 0, 1, 2, 3:
                status = ts_register(handle, device, app, token, Int32(1 + g.below(3)), Int32(1 + g.below(3)),
                    g.below(4) == 0 ? nil : user, at)
            case 4: status = ts_change_user(handle, device, app, g.below(3) == 0 ? nil : user, at)
            case 5: status = ts_set_authorization(handle, device, app, Int32(1 + g.below(3)), at)
            case 6: status = ts_set_subscription(handle, user, Int32(1 + g.below(3)), at)
            case 7:
                var outcome: Int32 = 0
                status = ts_bounce(handle, token, ["Unregistered", "429", "MismatchSenderId"][g.below(3)], 0, at, &outcome)
            case 8: status = ts_uninstall(handle, device, app, at)
            case 9: status = ts_get(handle, device, app, ignore, nil)
            case 10: status = ts_user_tokens(handle, user, ignore, nil)
            case 11: status = ts_sendable_tokens(handle, user, app, Int32(1 + g.below(2)), ignore, nil)
            case 12: status = ts_changelog(handle, user, ignoreChange, nil)
            case 13:
                var count: UInt64 = 0
                let segments = [
                    TS_SEGMENT_FOREGROUND_PUSH_ENABLED, TS_SEGMENT_BACKGROUND_OR_FOREGROUND_PUSH_ENABLED,
                    TS_SEGMENT_SUBSCRIBED, TS_SEGMENT_OPTED_IN, TS_SEGMENT_UNSUBSCRIBED,
                ]
                status = ts_segment_count(handle, segments[g.below(segments.count)], nil, &count)
            case 14: status = ts_segment_users(handle, TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, app, ignoreUser, nil)
            case 15:
                var json: UnsafeMutablePointer<CChar>? = nil
                var length = 0
                status = ts_export_user_json(handle, user, &json, &length)
                ts_free(json)
            case 16:
                var count: UInt64 = 0
                status = ts_count(handle, &count)
            case 17:
                var removed: UInt64 = 0
                status = ts_sweep_at(handle, 0, 1_700_000_000_000 + Int64(g.below(50_000)), at, &removed)
            case 18: status = g.below(8) == 0 ? ts_checkpoint(handle) : ts_sync(handle)
            default:
                var stats = ts_store_stats()
                stats.version = UInt32(TS_STATS_VERSION)
                status = ts_stats(handle, &stats)
            }
            // TS_NOTFOUND is an answer; TS_ECLOSED is expected once the store is closed under
            // the workers (the last phase).
            if status < 0 && status != TS_NOTFOUND && status != TS_ECLOSED { unexpected += 1 }
            operations += 1
        }
    }
}

/// A worker thread's start routine; outside `main`, which is main-actor isolated.
func workerEntry(_ argument: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let worker = Unmanaged<Worker>.fromOpaque(argument!).takeRetainedValue()
    worker.run()
    return nil
}

func now() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

func fail(_ message: String) -> Never {
    _ = ("thread-stress: " + message + "\n").withCString { write(2, $0, strlen($0)) }
    exit(1)
}

func verify(_ handle: OpaquePointer, _ when: String) {
    let store = Unmanaged<TokenStore>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    do {
        let problems = try store.verify()
        if !problems.isEmpty { fail("verify \(when): \(problems.prefix(5).joined(separator: "; "))") }
    } catch {
        fail("verify \(when) threw \(error)")
    }
}

@main
enum ThreadStress {
    static func main() {
        let arguments = CommandLine.arguments
        let seconds = arguments.count > 1 ? Int(arguments[1]) ?? 20 : 20
        let threads = arguments.count > 2 ? Int(arguments[2]) ?? 6 : 6
        var template = Array("/tmp/tokenstore-stress-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { fail("mkdtemp") }
        let directory = String(cString: made)
        defer { _ = system("rm -rf '\(directory)'") }

        var options = ts_options()
        ts_options_init(&options)
        options.shards = 4
        options.durability = TS_DURABILITY_INTERVAL
        options.sync_interval_ms = 1
        options.changelog_limit = 4
        options.checkpoint_log_bytes = 4096
        var handle: OpaquePointer? = nil
        var status = ts_open(&handle, directory, &options)
        guard status == TS_OK, let handle else { fail("ts_open: \(status)") }

        let deadline = now() + Int64(seconds) * 1000
        let workers = (0..<threads).map { Worker(handle: handle, seed: UInt64($0) &* 7919 &+ 1, deadline: deadline) }
        var ids: [pthread_t] = []
        for worker in workers {
            var id = pthread_t()
            let box = Unmanaged.passRetained(worker).toOpaque()
            let rc = pthread_create(&id, nil, workerEntry, box)
            if rc != 0 { fail("pthread_create: \(rc)") }
            ids.append(id)
        }
        // Last phase: the Swift API's close() while the workers still run (TokenStore is
        // Sendable; calls after close must throw `closed`, never crash).
        while now() < deadline - 500 { usleep(10_000) }
        verify(handle, "while the workers run")
        var before: UInt64 = 0
        _ = ts_count(handle, &before)
        let store = Unmanaged<TokenStore>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
        do { try store.close() } catch { fail("close under load: \(error)") }
        for id in ids { pthread_join(id, nil) }
        let operations = workers.reduce(0) { $0 + $1.operations }
        let unexpected = workers.reduce(0) { $0 + $1.unexpected }
        var closedCount: UInt64 = 0
        if ts_count(handle, &closedCount) != TS_ECLOSED { fail("ts_count after close is not TS_ECLOSED") }
        status = ts_close(handle)
        if status != TS_OK { fail("ts_close: \(status)") }
        var reopened: OpaquePointer? = nil
        status = ts_open(&reopened, directory, &options)
        guard status == TS_OK, let reopened else { fail("reopen: \(status)") }
        verify(reopened, "after reopening")
        var after: UInt64 = 0
        _ = ts_count(reopened, &after)
        _ = ts_close(reopened)
        // Writes may land between the count and the close, so only report a difference.
        if before != after { print("thread-stress: \(before) tokens counted before the close, \(after) after reopening") }
        print("thread-stress: \(threads) threads, \(operations) operations, \(unexpected) unexpected statuses, \(after) tokens")
        if unexpected > 0 { exit(1) }
    }
}
