import FoundationEssentials
import Glibc
import TokenStore

/// Phase 8: the store's size on disk against the raw bytes of its ids and tokens.
struct DiskResult: Codable, Sendable {
    /// Live records.
    var records: Int
    /// Device id + app id + token + user id bytes of the live records.
    var rawBytes: Int
    /// Changelog entries kept, and their raw bytes (ids, token, other user, detail, time, kind).
    var changelogEntries: Int, changelogRawBytes: Int
    /// Logical size of the store's files.
    var fileBytes: Int
    /// Bytes the filesystem allocated for them.
    var allocatedBytes: Int
    /// Live and freed record bytes in the shard heaps, and write-ahead log bytes.
    var liveBytes: Int, deadBytes: Int, logBytes: Int
    /// The checkpoint that preceded the measurement.
    var checkpointSeconds: Double
    /// `allocatedBytes / records`.
    var bytesPerRecord: Double { records == 0 ? 0 : Double(allocatedBytes) / Double(records) }
    /// `rawBytes / records`.
    var rawBytesPerRecord: Double { records == 0 ? 0 : Double(rawBytes) / Double(records) }
    /// On-disk bytes per raw byte of the records.
    var ratio: Double { rawBytes == 0 ? 0 : Double(allocatedBytes) / Double(rawBytes) }
    /// On-disk bytes per raw byte of the records and the changelogs together.
    var ratioWithChangelogs: Double {
        rawBytes + changelogRawBytes == 0 ? 0 : Double(allocatedBytes) / Double(rawBytes + changelogRawBytes)
    }
}

/// One open of a closed or crashed store, measured in a fresh child process.
struct ReopenResult: Codable, Sendable {
    /// Time `TokenStore.init` took, recovery included.
    var seconds: Double
    /// The child's resident memory before and right after the open.
    var residentBytesBefore: Int, residentBytesAfter: Int
    /// Records the store held once open.
    var records: Int
}

/// Phase 7: close, reopen after a clean close, and reopen after SIGKILL of a writer.
struct DurabilityResult: Codable, Sendable {
    /// `close()` of the benchmark's store (flush and checkpoint).
    var closeSeconds: Double
    /// The reopen after that close.
    var clean: ReopenResult
    /// How long the writer ran before SIGKILL, and the writes it saw acknowledged.
    var writerSeconds: Double, writerAcknowledged: Int
    /// The reopen that recovered the killed writer's log.
    var recovery: ReopenResult
    /// Records the recovered store gained over the clean one: at least `writerAcknowledged`.
    var recoveredWrites: Int { recovery.records - clean.records }
    /// Acknowledged writes missing after recovery (0 unless the engine lost data).
    var lostWrites: Int { max(0, writerAcknowledged - recoveredWrites) }
}

enum Durability {
    /// Checkpoints, then sizes the store's files against the raw bytes of its records.
    static func measureDisk(_ store: TokenStore) -> DiskResult {
        let start = monotonicNanoseconds()
        must("checkpoint") { () throws(TokenStoreError) in try store.checkpoint() }
        let checkpointSeconds = Double(monotonicNanoseconds() - start) / 1e9
        let report = must("storageReport") { () throws(TokenStoreError) in try store.storageReport() }
        var records = 0, raw = 0, users: [String] = []
        var entries = 0, changelogRaw = 0
        do {
            try store.forEachRecord { view in
                records += 1
                raw += view.deviceID.count + view.appID.count + view.token.count + view.userID.count
                return true
            }
            try store.forEachUserState { id, _ in
                users.append(String(decoding: id, as: UTF8.self))
                return true
            }
            for user in users {
                try store.forEachChange(userID: user) { change in
                    entries += 1
                    changelogRaw += 9 + change.deviceID.count + change.appID.count + change.token.count
                        + change.otherUserID.count + change.detail.count
                    return true
                }
            }
        } catch {
            fail("scanning the store failed: \(error)")
        }
        return DiskResult(
            records: records, rawBytes: raw, changelogEntries: entries, changelogRawBytes: changelogRaw,
            fileBytes: report.files.reduce(0) { $0 + $1.bytes },
            allocatedBytes: report.files.reduce(0) { $0 + $1.allocatedBytes }, liveBytes: report.liveBytes,
            deadBytes: report.deadBytes, logBytes: report.logBytes, checkpointSeconds: checkpointSeconds)
    }

    /// Closes `store`, reopens it in a child, lets a child writer run until SIGKILL, and
    /// reopens again in a child to time recovery.
    static func measureReopen(_ store: TokenStore, directory: String, options: BenchOptions, progress: Progress)
        -> DurabilityResult
    {
        let start = monotonicNanoseconds()
        must("close") { () throws(TokenStoreError) in try store.close() }
        let closeSeconds = Double(monotonicNanoseconds() - start) / 1e9
        let clean = progress.timed("reopen after clean close") { reopenInChild(directory, options) }

        progress.note("writer child: writing for \(options.writerMilliseconds) ms, then SIGKILL")
        let writer = ChildProcess(arguments: ["--writer-child", directory] + options.childArguments)
        guard writer.readLine() == "ready" else { fail("writer child did not start") }
        let writeStart = monotonicNanoseconds()
        usleep(useconds_t(options.writerMilliseconds * 1000))
        writer.kill()
        let writerSeconds = Double(monotonicNanoseconds() - writeStart) / 1e9
        var acknowledged = 0
        while let line = writer.readLine() { acknowledged = Int(line) ?? acknowledged }
        writer.wait(allowKill: true)

        let recovery = progress.timed("reopen with recovery") { reopenInChild(directory, options) }
        return DurabilityResult(
            closeSeconds: closeSeconds, clean: clean, writerSeconds: writerSeconds, writerAcknowledged: acknowledged,
            recovery: recovery)
    }

    /// Runs `--reopen-child` and decodes its result.
    private static func reopenInChild(_ directory: String, _ options: BenchOptions) -> ReopenResult {
        let child = ChildProcess(arguments: ["--reopen-child", directory] + options.childArguments)
        let output = child.readToEnd()
        child.wait()
        guard let result = try? JSONDecoder().decode(ReopenResult.self, from: Data(output)) else {
            fail("reopen child printed no result")
        }
        return result
    }

    /// The reopen child: opens the existing store, measures, closes, prints JSON on stdout.
    static func reopenChild(directory: String, options: BenchOptions) {
        var storeOptions = options.storeOptions
        storeOptions.mustExist = true
        let before = Memory.residentBytes
        let start = monotonicNanoseconds()
        let store = must("open") { () throws(TokenStoreError) in try TokenStore(path: directory, options: storeOptions) }
        let seconds = Double(monotonicNanoseconds() - start) / 1e9
        let after = Memory.residentBytes
        let records = must("count") { () throws(TokenStoreError) in try store.count() }
        must("close") { () throws(TokenStoreError) in try store.close() }
        let result = ReopenResult(seconds: seconds, residentBytesBefore: before, residentBytesAfter: after, records: records)
        guard let json = try? JSONEncoder().encode(result) else { fail("cannot encode the reopen result") }
        IO.write(json, to: 1)
    }

    /// The writer child: registers new tokens as fast as it can and prints the number of
    /// acknowledged writes every 1024, until it is killed.
    static func writerChild(directory: String, options: BenchOptions) -> Never {
        var storeOptions = options.storeOptions
        storeOptions.mustExist = true
        let store = must("open") { () throws(TokenStoreError) in try TokenStore(path: directory, options: storeOptions) }
        IO.printOut("ready\n")
        var random = SplitMix64(seed: options.seed ^ 0x6B696C6C)
        let filler = String(repeating: "x", count: 134)
        var written = 0
        while true {
            let registration = Registration(
                deviceID: "crash-device-\(written)", appID: "com.acme.news",
                token: "crash\(random.next()):APA91b\(filler)", platform: .android, authorization: .foreground,
                userID: "crash-user-\(written % 4096)", at: Plans.base(9) + Int64(written))
            must("register") { () throws(TokenStoreError) in try store.register(registration) }
            written += 1
            if written % 1024 == 0 { IO.printOut("\(written)\n") }
        }
    }

}
