import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The storage engine: a directory of shards behind stripe locks, a write-ahead log, the
/// checkpointer and the syncer. It knows nothing of tokens; the domain layer
/// (`Registry`) hands it opaque log payloads to replay.
final class ShardedStore: @unchecked Sendable {
    let directory: String
    let shards: [Shard]
    /// Every shard file's pages by journal file id, reachable without touching a class
    /// reference (and so without a retain): what `pages(ofShard:)` hands reads and writes.
    private let pagesByFile: UnsafeMutablePointer<MappedPages>
    let shardBits: Int
    /// The stripe locks, as a plain value (see `StripeLocks`); `lockStorage` owns them.
    let locks: StripeLocks
    private let lockStorage: StripeLockStorage
    let durability: Durability
    private(set) var wal: WriteAheadLog!
    private var manifest: Manifest
    /// The options fixed at creation, as the manifest records them.
    var createdOptions: (quarantineMisconfigured: Bool, changelogLimit: Int, tombstoneRetention: Int64) {
        (manifest.quarantineMisconfigured, manifest.changelogLimit, manifest.tombstoneRetention)
    }
    private let lockFile: FileDescriptor
    private let checkpointLogBytes: Int
    private let checkpointLock = ConditionLock()

    // Background threads: the syncer and the checkpointer.
    private let backgroundLock = ConditionLock()
    private var backgroundStop = false
    private var backgroundThreads: [pthread_t] = []
    /// Set by a writer that saw the log pass the checkpoint threshold, until the
    /// checkpointer wakes for it.
    private let checkpointWanted = Atomic<Bool>(false)

    /// Set when applying a logged operation failed half-way; the handle refuses further
    /// writes and a reopen recovers from the log.
    private let poisonFlag = Atomic<Bool>(false)
    /// The manifest's checkpoint LSN, readable by writers without the checkpoint lock.
    private let checkpointedLSN = Atomic<UInt64>(0)

    var poisoned: Bool { poisonFlag.load(ordering: .acquiring) }

    // Write activity since open, for `activity`.
    private var openedAtLSN: UInt64 = 0
    private let openedAtMillis = currentMillis()
    private let checkpointBytes = Atomic<UInt64>(0)
    private let otherBytes = Atomic<UInt64>(0)
    private let checkpointsTaken = Atomic<UInt64>(0)
    private let longestPause = Atomic<UInt64>(0)

    /// Bytes written and checkpoints taken since this handle opened.
    var activity: WriteActivity {
        WriteActivity(
            logBytes: wal.endLSNNow &- openedAtLSN,
            checkpointBytes: checkpointBytes.load(ordering: .relaxed),
            otherBytes: otherBytes.load(ordering: .relaxed),
            checkpoints: checkpointsTaken.load(ordering: .relaxed),
            longestCheckpointPauseNanoseconds: longestPause.load(ordering: .relaxed))
    }

    private func notePause(since start: UInt64) {
        let pause = monotonicNanos() &- start
        var seen = longestPause.load(ordering: .relaxed)
        while pause > seen {
            let (exchanged, now) = longestPause.compareExchange(expected: seen, desired: pause, ordering: .relaxed)
            if exchanged { break }
            seen = now
        }
    }

    /// Opens or creates the store and replays the log through `replay`.
    init(
        directory: String, options: StoreOptions,
        replay: (ShardedStore, UnsafeRawBufferPointer) throws -> Void,
        inspectDropped: (UnsafeRawBufferPointer) -> Void = { _ in }
    ) throws(TokenStoreError) {
        guard options.shards >= 1, options.shards <= 4096, options.shards & (options.shards - 1) == 0 else {
            throw TokenStoreError(.invalidArgument, "shards must be a power of two in 1...4096")
        }
        if case .interval(let ms) = options.durability, ms < 1 || ms > 3_600_000 {
            throw TokenStoreError(.invalidArgument, "sync interval must be 1...3600000 ms")
        }
        self.directory = directory
        self.durability = options.durability
        self.checkpointLogBytes = max(options.checkpointLogBytes, 1 << 20)
        do throws(SystemError) {
            if !options.mustExist { try StoreDirectory.create(directory) }
            lockFile = try StoreDirectory.lock(directory)
        } catch {
            if error.errno == ENOENT { throw TokenStoreError(.notFound, "no store at that path") }
            throw error.storeError
        }
        var created = false
        do throws(TokenStoreError) {
            if let existing = try Manifest.read(directory: directory) {
                manifest = existing
            } else {
                if options.mustExist { throw TokenStoreError(.notFound, "no store at that path") }
                manifest = Manifest(
                    shards: options.shards, createdAt: currentMillis(),
                    quarantineMisconfigured: options.quarantineMisconfigured, changelogLimit: options.changelogLimit,
                    tombstoneRetention: options.tombstoneRetention)
                created = true
            }
            shardBits = manifest.shards.trailingZeroBitCount
            lockStorage = StripeLockStorage(count: manifest.shards)
            locks = lockStorage.locks
            let names: [String]
            do throws(SystemError) { names = try StoreDirectory.list(directory) } catch { throw error.storeError }
            if !created && names.contains(Checkpoint.journalName) { try ShardedStore.applyJournal(directory: directory, manifest: &manifest) }
            // A shard the manifest does not list holds nothing the log cannot rebuild: it is
            // formatted in memory, and its files appear with the checkpoint that first writes
            // it. Files of such a shard are what a crash left before that checkpoint's manifest.
            var shards: [Shard] = []
            for n in 0..<manifest.shards {
                let listed = manifest.hasFiles(n)
                if !listed {
                    for name in Shard.fileNames(n) where names.contains(name) {
                        _ = SystemCalls.current.unlink(directory + "/" + name)
                    }
                }
                shards.append(try Shard(directory: directory, number: n, hasFiles: listed))
            }
            self.shards = shards
            pagesByFile = .allocate(capacity: shards.count * Shard.filesPerShard)
            for (i, file) in shards.flatMap(\.files).enumerated() { (pagesByFile + i).initialize(to: file.pages) }
            if created {
                do throws(SystemError) { try manifest.write(directory: directory) } catch { throw error.storeError }
            }
        } catch {
            // Closed here and marked, so that `deinit` (which runs when `self` was already
            // whole) does not close the descriptor a second time.
            lockFile.close()
            lockReleased = true
            throw error
        }
        do throws(TokenStoreError) {
            let names: [String]
            do throws(SystemError) { names = try StoreDirectory.list(directory) } catch { throw error.storeError }
            var opened = manifest  // the log records itself in the manifest
            wal = try WriteAheadLog.open(
                directory: directory, names: names, manifest: &opened, dropDamaged: options.dropDamagedLog,
                replay: { (payload) throws(TokenStoreError) in
                    do { try replay(self, payload) } catch { throw TokenStoreError(converting: error) }
                }, inspectDropped: inspectDropped)
            manifest = opened
        } catch {
            // `self` is whole here, so throwing runs `deinit`: leave the closing to it, or
            // the lock's descriptor is closed twice (the second time, another file's).
            throw error
        }
        checkpointedLSN.store(manifest.checkpointLSN, ordering: .relaxed)
        openedAtLSN = wal.endLSNNow
        startBackgroundThreads()
    }

    private var lockReleased = false

    deinit {
        stopBackgroundThreads()
        pagesByFile.deallocate()
        if !lockReleased { lockFile.close() }
    }

    // MARK: Placement

    /// Shard `s` through its pages, with no retain: how reads and writes reach a shard.
    @inline(__always) func pages(ofShard s: Int) -> ShardPages {
        let first = s * Shard.filesPerShard
        return ShardPages(
            number: s, index: IndexPages(file: pagesByFile[first]), heap: HeapPages(file: pagesByFile[first + 1]),
            changes: HeapPages(file: pagesByFile[first + 2]))
    }

    /// Every shard through its pages, in shard order.
    var allPages: LazyMapSequence<Range<Int>, ShardPages> { (0..<shards.count).lazy.map { self.pages(ofShard: $0) } }

    @inline(__always) func shard(of hash: UInt64) -> Int {
        shardBits == 0 ? 0 : Int(truncatingIfNeeded: hash >> UInt64(64 - shardBits))
    }

    // MARK: Writes

    /// Logs an operation built by `encode`, with the stripe locks held by the caller, and
    /// returns its end LSN for `commit`.
    func log(length: Int, _ encode: (UnsafeMutableRawBufferPointer) -> Void) throws(TokenStoreError) -> UInt64 {
        guard !poisoned else { throw TokenStoreError(.io, "an earlier write failed half-way; reopen the store to recover") }
        do throws(SystemError) { return try wal.append(length: length, encode) } catch { throw error.storeError }
    }

    func poison() { poisonFlag.store(true, ordering: .releasing) }

    /// Makes a logged operation as durable as the mode promises; call after unlocking.
    func commit(_ lsn: UInt64) throws(TokenStoreError) {
        if case .always = durability {
            do throws(SystemError) { try wal.sync(upTo: lsn) } catch { throw error.storeError }
        }
        // `lsn` is where the log ended after this write: no need to ask the log again. A
        // checkpoint that finished meanwhile may lie past it.
        let checkpointed = checkpointedLSN.load(ordering: .relaxed)
        if lsn > checkpointed && lsn - checkpointed > UInt64(checkpointLogBytes) { wakeCheckpointer() }
    }

    /// Forces every acknowledged write to disk.
    func sync() throws(TokenStoreError) {
        do throws(SystemError) { try wal.syncAll() } catch { throw error.storeError }
    }

    // MARK: Checkpoints

    var lastCheckpointAt: Int64 { checkpointLock.withLock { manifest.checkpointAt } }
    var logBytesSinceCheckpoint: Int { wal.bytes(since: checkpointLock.withLock { manifest.checkpointLSN }) }

    /// Writes the shards' dirty pages through the journal into their files and trims the log.
    func checkpoint() throws(TokenStoreError) {
        checkpointLock.lock()
        defer { checkpointLock.unlock() }
        var sealed = false
        // After a failure past a journal's seal, that journal is what recovery needs: a new
        // checkpoint would truncate it.
        guard !poisoned else {
            throw TokenStoreError(.io, "an earlier checkpoint failed half-way; reopen the store to recover")
        }
        // Nothing written since the last checkpoint: the files already say it all.
        if manifest.checkpointAt != 0 && wal.bytes(since: manifest.checkpointLSN) == 0 { return }
        do {
            let journal = try Checkpoint.JournalWriter(directory: directory)
            let pauseStart = monotonicNanos()
            // No I/O with every stripe held: the snapshot's LSN is where the log ends now,
            // wherever that is in its segment.
            let (lsn, newShards) = locks.withAll { () -> (UInt64, [Int]) in
                let lsn = wal.endLSNNow
                var newShards: [Int] = []
                for (i, shard) in shards.enumerated() {
                    if !shard.hasFiles {
                        // A shard no write touched keeps no files; a written one gets them
                        // now, with its format, which its in-memory pages do not count.
                        guard shard.isDirty else { continue }
                        newShards.append(i)
                        shard.files.forEach { $0.markFormatDirty() }
                    }
                    shard.index.seal()
                    shard.heap.seal()
                    shard.changes.seal()
                    for file in shard.files { file.beginCheckpoint(journal: journal) }
                }
                return (lsn, newShards)
            }
            notePause(since: pauseStart)
            try createFiles(ofShards: newShards)
            try captureSnapshot(into: journal)
            try journal.seal(lsn: lsn)
            sealed = true
            // Write the pages into the shard files from the journal's copy: the mappings
            // may have moved on since.
            var touched = Set<UInt32>()
            // Every file the journal names has its descriptor: files in memory got theirs above.
            func descriptor(_ id: UInt32) throws(TokenStoreError) -> FileDescriptor {
                let file = shards[Int(id) / Shard.filesPerShard].files[Int(id) % Shard.filesPerShard]
                guard let fd = file.descriptor else { throw TokenStoreError(.io, "\(file.name): checkpointed before it had a file") }
                return fd
            }
            _ = try Checkpoint.readJournal(journal.file, apply: true, files: shards.count * Shard.filesPerShard) {
                fileID, _, page, bytes in
                try descriptor(fileID).write(bytes, at: page * MappedFile.pageSize)
                touched.insert(fileID)
            }
            for id in touched.sorted() { try descriptor(id).sync() }
            checkpointBytes.add(UInt64(journal.bytesWritten + journal.pages * MappedFile.pageSize), ordering: .relaxed)
            var next = manifest
            guard let segment = wal.segment(holding: lsn) else {
                throw TokenStoreError(.io, "write-ahead log: no segment holds the checkpoint's position")
            }
            next.checkpointLSN = lsn
            next.checkpointSegmentStart = segment.start
            next.logSalt = segment.salt
            next.checkpointAt = currentMillis()
            // Shards given files by an earlier checkpoint that failed are listed too: their
            // pages went back to dirty, so this checkpoint wrote them.
            for (i, shard) in shards.enumerated() where shard.hasFiles { next.setHasFiles(i) }
            try next.write(directory: directory)
            otherBytes.add(UInt64(next.size), ordering: .relaxed)
            checkpointsTaken.add(1, ordering: .relaxed)
            manifest = next
            checkpointedLSN.store(lsn, ordering: .relaxed)
            _ = SystemCalls.current.unlink(directory + "/" + Checkpoint.journalName)
            // Replay starts at `lsn`, inside the segment holding it; every segment before
            // that one is history.
            for start in try WriteAheadLog.segmentStarts(in: StoreDirectory.list(directory)) where start < next.checkpointSegmentStart {
                _ = SystemCalls.current.unlink(directory + "/" + WriteAheadLog.fileName(start))
            }
            for (i, shard) in shards.enumerated() {
                locks.lockExclusive(i)
                shard.files.forEach { $0.finishCheckpoint() }
                locks.unlock(i)
            }
        } catch {
            locks.withAll { shards.forEach { $0.files.forEach { $0.abortCheckpoint() } } }
            // Past the seal the files may hold pages newer than the manifest says; only
            // recovery, which applies the sealed journal first, can put them right.
            if sealed { poison() }
            throw TokenStoreError(converting: error)
        }
    }

    /// Creates the files of the shards that the checkpoint writes for the first time, outside
    /// every lock, and hands each shard its files under its own lock; then makes the new names
    /// durable, before the journal that names their pages is sealed (so that recovery, which
    /// applies a sealed journal, finds them). A shard whose files could not all be made keeps
    /// living in memory, and the checkpoint fails.
    private func createFiles(ofShards numbers: [Int]) throws(TokenStoreError) {
        guard !numbers.isEmpty else { return }
        do throws(SystemError) {
            for i in numbers {
                let created = try shards[i].createFiles(directory: directory)
                locks.lockExclusive(i)
                defer { locks.unlock(i) }
                try shards[i].adoptFiles(created, directory: directory)
            }
            try syncDirectory(directory)
        } catch { throw error.storeError }
    }

    /// Copies every page still pending into `journal`, one shard and one batch at a time,
    /// so that a writer waits at most for one batch of one shard; flushes the journal
    /// between shards, outside every lock.
    private func captureSnapshot(into journal: Checkpoint.JournalWriter) throws(TokenStoreError) {
        let batch = 64
        var failed = false
        for (i, shard) in shards.enumerated() {
            var remaining = 1
            while remaining > 0 {
                locks.lockExclusive(i)
                let start = monotonicNanos()
                remaining = 0
                for file in shard.files { remaining += file.capturePending(limit: batch) }
                // Once nothing is pending no writer captures here again: the flag is final.
                if remaining == 0 { failed = failed || shard.files.contains { $0.captureFailed } }
                notePause(since: start)
                locks.unlock(i)
            }
            do throws(SystemError) { try journal.flush() } catch { throw error.storeError }
        }
        if failed { throw TokenStoreError(.io, "out of memory for the checkpoint journal") }
    }

    /// Applies a complete journal left by a crash mid-checkpoint, before the shards map.
    private static func applyJournal(directory: String, manifest: inout Manifest) throws(TokenStoreError) {
        do {
            let journal = try FileDescriptor.open(directory + "/" + Checkpoint.journalName, name: Checkpoint.journalName, create: false)
            defer { journal.close() }
            var files: [UInt32: FileDescriptor] = [:]
            defer { files.values.forEach { $0.close() } }
            let lsn = try Checkpoint.readJournal(journal, apply: true, files: manifest.shards * Shard.filesPerShard) {
                fileID, filePages, page, bytes in
                let file: FileDescriptor
                if let open = files[fileID] {
                    file = open
                } else {
                    let name = Shard.fileName(id: fileID)
                    file = try FileDescriptor.open(directory + "/" + name, name: name, create: false)
                    files[fileID] = file
                    // A power loss may have undone a growth the checkpoint relied on.
                    if try file.size() < filePages * MappedFile.pageSize { try file.truncate(to: filePages * MappedFile.pageSize) }
                }
                try file.write(bytes, at: page * MappedFile.pageSize)
            }
            if let lsn, lsn > manifest.checkpointLSN {
                // The checkpoint created the files of the shards it names before it sealed
                // the journal; its manifest would have listed them.
                for id in files.keys { manifest.setHasFiles(Int(id) / Shard.filesPerShard) }
                for file in files.values { try file.sync() }
                manifest.checkpointLSN = lsn
                // The journal names a position; the segment holding it is the last that
                // starts at or before it (its salt is recorded again by the log's open).
                if let start = WriteAheadLog.segmentStarts(in: try StoreDirectory.list(directory)).last(where: { $0 <= lsn }) {
                    manifest.checkpointSegmentStart = start
                }
                manifest.checkpointAt = currentMillis()
                try manifest.write(directory: directory)
            }
            _ = SystemCalls.current.unlink(directory + "/" + Checkpoint.journalName)
        } catch {
            throw TokenStoreError(converting: error)
        }
    }

    /// Checkpoints, stops the background threads and forces the log. The handle is unusable afterwards.
    func close() throws(TokenStoreError) {
        // Release the lock even when the final checkpoint fails: the log holds every
        // acknowledged write, and another open (even in this process) must be able to recover.
        defer {
            if !lockReleased {
                lockReleased = true
                lockFile.close()
            }
        }
        stopBackgroundThreads()
        if poisoned {
            // The log and the sealed journal hold everything; the next open recovers from
            // them. Checkpointing now would destroy that journal.
            try? sync()
        } else {
            try checkpoint()
            try sync()
        }
    }

    /// The least log worth a checkpoint on the ratio trigger.
    static let minimumCheckpointLogBytes = 4 << 20
    /// A checkpoint is taken at least this often while anything is written, so that the
    /// files on disk never lag far behind a store that writes slowly.
    static let checkpointIntervalMilliseconds: Int64 = 300_000

    /// Whether the checkpointer should checkpoint now:
    /// - the log since the last checkpoint passed `checkpointLogBytes`, which bounds
    ///   recovery; or
    /// - it passed the bytes a checkpoint would write (the dirty pages), so that checkpoint
    ///   writes stay within twice the log's (journal and file); or
    /// - `checkpointIntervalMilliseconds` went by with something logged.
    private func checkpointDue() -> Bool {
        let logged = logBytesSinceCheckpoint
        if logged == 0 { return false }
        if logged > checkpointLogBytes { return true }
        if currentMillis() - max(lastCheckpointAt, openedAtMillis) >= ShardedStore.checkpointIntervalMilliseconds { return true }
        guard logged >= ShardedStore.minimumCheckpointLogBytes else { return false }
        var dirtyPages = 0
        for (i, shard) in shards.enumerated() {
            locks.lockShared(i)
            dirtyPages += shard.index.file.dirtyCount + shard.heap.file.dirtyCount + shard.changes.file.dirtyCount
            locks.unlock(i)
        }
        return logged >= dirtyPages * MappedFile.pageSize
    }

    // MARK: Background threads

    /// Starts the syncer and the checkpointer. They are separate threads so that a long
    /// checkpoint never delays the interval sync, which bounds what a power cut can lose.
    private func startBackgroundThreads() {
        for job in [BackgroundJob.sync, .checkpoint] {
            let box = Unmanaged.passRetained(BackgroundThread(store: self, job: job))
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { arg in
                let thread = Unmanaged<BackgroundThread>.fromOpaque(arg!).takeRetainedValue()
                switch thread.job {
                case .sync: thread.store.runSyncer()
                case .checkpoint: thread.store.runCheckpointer()
                }
                return nil
            }, box.toOpaque())
            if rc != 0 { box.release() } else { backgroundThreads.append(thread) }
        }
    }

    /// Asks the checkpointer to look now; at most one wake-up per checkpoint, so that the
    /// writes that pass the threshold while it runs do not each signal it.
    private func wakeCheckpointer() {
        guard !checkpointWanted.exchange(true, ordering: .relaxed) else { return }
        backgroundLock.withLock { backgroundLock.broadcast() }
    }

    private func stopBackgroundThreads() {
        guard !backgroundThreads.isEmpty else { return }
        backgroundLock.withLock {
            backgroundStop = true
            backgroundLock.broadcast()
        }
        for thread in backgroundThreads { pthread_join(thread, nil) }
        backgroundThreads = []
    }

    /// Waits up to `milliseconds` or until woken; true when the handle is stopping.
    private func waitForWork(milliseconds: Int) -> Bool {
        backgroundLock.withLock { () -> Bool in
            if !backgroundStop { backgroundLock.wait(milliseconds: milliseconds) }
            return backgroundStop
        }
    }

    /// Forces the log every interval in `.interval` mode. Errors are retried on the next
    /// round: writers learn of a failing disk from their own calls.
    private func runSyncer() {
        guard case .interval(let period) = durability else { return }
        while !waitForWork(milliseconds: period) { try? sync() }
    }

    /// Checkpoints when `checkpointDue` says so, looking every second and when a writer
    /// sees the log pass its threshold. A failed checkpoint is retried on the next round.
    private func runCheckpointer() {
        while !waitForWork(milliseconds: 1000) {
            checkpointWanted.store(false, ordering: .relaxed)
            if checkpointDue() { try? checkpoint() }
        }
    }
}

/// What a background thread of a `ShardedStore` does.
private enum BackgroundJob { case sync, checkpoint }

/// The context a background thread starts with.
private final class BackgroundThread {
    let store: ShardedStore
    let job: BackgroundJob
    init(store: ShardedStore, job: BackgroundJob) {
        self.store = store
        self.job = job
    }
}

/// Nanoseconds on the monotonic clock.
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Milliseconds since the epoch, from the wall clock.
func currentMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
