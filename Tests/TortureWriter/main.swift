#if canImport(Glibc)
import Glibc
#endif
import TokenStore

// tokenstore-torture-writer: the child process of the crash tests (issue 7).
//
//   tokenstore-torture-writer write --store DIR [--seed N] [--threads N] [--keys N] [--users N]
//       [--durability always|none|interval:MS] [--shards N] [--checkpoint-bytes N]
//       [--checkpoint-every-ms N] [--base MS] [--generation N] [--duration-ms N]
//   tokenstore-torture-writer probe --store DIR
//
// `write` runs random writes on several threads and reports each on stdout (see `Worker`)
// until the parent kills it, or until --duration-ms passes, when it closes the store and
// prints `D`. Lines: `R` ready (opened and read back), `B`/`A` operations, `C1`/`C2` around
// an explicit checkpoint, `X` a failure (then exit 2 or 3).
//
// `probe` opens a store that may be damaged, then reads everything, and prints what
// happened; a crash shows as a signal in the exit status.

struct Arguments {
    var values: [String: String] = [:]

    init(_ list: [String]) {
        var i = 0
        while i < list.count {
            if list[i].hasPrefix("--"), i + 1 < list.count {
                values[String(list[i].dropFirst(2))] = list[i + 1]
                i += 2
            } else {
                Output.fail(64, "unexpected argument \(list[i])")
            }
        }
    }

    func int(_ name: String, _ fallback: Int) -> Int {
        guard let v = values[name] else { return fallback }
        guard let n = Int(v) else { Output.fail(64, "--\(name) takes a number") }
        return n
    }

    func string(_ name: String) -> String {
        guard let v = values[name] else { Output.fail(64, "--\(name) is required") }
        return v
    }
}

func durability(_ text: String) -> Durability {
    switch text {
    case "always": return .always
    case "none": return .none
    default:
        if text.hasPrefix("interval:"), let ms = Int(text.dropFirst(9)) { return .interval(milliseconds: ms) }
        Output.fail(64, "unknown durability \(text)")
    }
}

final class ThreadBox {
    let worker: Worker
    let deadline: Int64
    init(_ worker: Worker, _ deadline: Int64) {
        self.worker = worker
        self.deadline = deadline
    }
}

func write(_ args: Arguments) {
    Output.start()
    var options = StoreOptions()
    options.shards = args.int("shards", 4)
    options.durability = durability(args.values["durability"] ?? "interval:50")
    options.checkpointLogBytes = args.int("checkpoint-bytes", 1 << 20)
    options.changelogLimit = args.int("changelog-limit", 8)
    let seed = UInt64(args.int("seed", 1))
    let threads = args.int("threads", 4)
    let keys = args.int("keys", 200), users = args.int("users", 40)
    let generation = args.int("generation", 0)
    let base = Int64(args.int("base", 1_000_000_000_000))
    let checkpointEvery = args.int("checkpoint-every-ms", 40)
    let duration = args.int("duration-ms", 3_600_000)

    // The parent test process spawns other children concurrently; one forked but not yet
    // exec'd holds a copy of the parent's LOCK descriptor for a moment, so a `locked` right
    // after the parent closed the store is retried briefly.
    var opened: TokenStore?
    var lastError: Error?
    for _ in 0..<200 where opened == nil {
        do { opened = try TokenStore(path: args.string("store"), options: options) } catch let e as TokenStoreError where e.code == .locked {
            lastError = e
            usleep(10_000)
        } catch {
            lastError = error
            break
        }
    }
    guard let store = opened else {
        Output.fail(2, "open failed: \(lastError.map { "\($0)" } ?? "unknown")")
    }
    var workers: [Worker] = []
    for t in 0..<threads {
        var model = ThreadModel(thread: t, keyCount: keys, userCount: users)
        do { try model.load(from: store) } catch { Output.fail(2, "reading the store back failed: \(error)") }
        workers.append(Worker(store: store, model: model, seed: seed &* 0x9E37_79B9 &+ UInt64(t), generation: generation, base: base))
    }
    Output.line("R")
    let deadline = monotonicMillis() + Int64(duration)
    var ids: [pthread_t] = []
    for w in workers {
        var id = pthread_t()
        let box = Unmanaged.passRetained(ThreadBox(w, deadline))
        let rc = pthread_create(&id, nil, { arg in
            let box = Unmanaged<ThreadBox>.fromOpaque(arg!).takeRetainedValue()
            box.worker.run(until: box.deadline)
            return nil
        }, box.toOpaque())
        if rc != 0 { Output.fail(2, "pthread_create failed") }
        ids.append(id)
    }
    var rng = SplitMix64(seed: seed ^ 0xC4EC_4B01)
    while monotonicMillis() < deadline {
        if checkpointEvery > 0 {
            usleep(UInt32(1000 * (checkpointEvery / 2 + Int.random(in: 0...checkpointEvery, using: &rng))))
            Output.line("C1")
            do { try store.checkpoint() } catch { Output.fail(2, "checkpoint failed: \(error)") }
            Output.line("C2")
        } else {
            usleep(10_000)
        }
    }
    for id in ids { pthread_join(id, nil) }
    do { try store.close() } catch { Output.fail(2, "close failed: \(error)") }
    Output.line("D")
}

/// Opens a possibly damaged store and reads everything; prints one line per step.
func probe(_ args: Arguments) {
    Output.start()
    var options = StoreOptions()
    options.mustExist = true
    let store: TokenStore
    do { store = try TokenStore(path: args.string("store"), options: options) } catch {
        Output.line("OPEN\terror\t\(error.code.rawValue)\t\(error.detail.replacingTabs())")
        return
    }
    Output.line("OPEN\tok")
    do { Output.line("VERIFY\t\(try store.verify().count)") } catch { Output.line("VERIFY\terror\t\(error)") }
    var records = 0
    do {
        var users: [String] = []
        try store.forEachRecord { view in
            records += 1
            if !view.userID.isEmpty { users.append(String(decoding: view.userID, as: UTF8.self)) }
            return true
        }
        try store.forEachUserState { user, _ in
            users.append(String(decoding: user, as: UTF8.self))
            return true
        }
        for user in users.prefix(2000) {
            _ = try store.tokens(userID: user)
            _ = try store.changelog(userID: user)
        }
        for segment in [Segment.foregroundPushEnabled, .backgroundOrForegroundPushEnabled, .subscription(.optedIn),
            .foregroundPushEnabledForApp("com.app0")]
        {
            _ = try store.count(segment)
            _ = try store.users(in: segment)
        }
        _ = try store.statistics()
        _ = try store.storageReport()
        Output.line("READ\tok\t\(records)")
    } catch {
        Output.line("READ\terror\t\(String(describing: error).replacingTabs())")
    }
    do { try store.close() } catch { Output.line("CLOSE\terror\t\(error)") }
}

let list = Array(CommandLine.arguments.dropFirst())
switch list.first {
case "write": write(Arguments(Array(list.dropFirst())))
case "probe": probe(Arguments(Array(list.dropFirst())))
default:
    Output.start()
    Output.fail(64, "usage: tokenstore-torture-writer write|probe --store DIR [options]")
}
