#if canImport(Glibc)
import Glibc
#endif

/// The write-ahead log: checksummed records of logical operations in segment files, mapped
/// shared. A new store's first segment is small (`firstSegmentSize`) and each later one
/// `segmentGrowth` times the one before, up to `maxSegmentSize`: a small store stays small,
/// and a busy one reaches the cap after four rolls (each roll costs a few milliseconds of
/// file creation and syncs that every writer waits for), rolling no more often from then on
/// than with fixed 16 MiB segments.
///
/// An append is a `memcpy` into the shared mapping, which puts the record in the kernel's
/// page cache before the call returns: a `kill -9` cannot lose it. Against power loss the
/// durability mode decides when `msync` forces it to disk (`sync(upTo:)`); `.always` shares
/// one sync among concurrent writers (group commit). Records carry their LSN (their byte
/// position in the log) and a checksum seeded by the segment's random salt, so a torn tail or
/// a record left over from an older generation never replays.
///
/// Record: `u32 payload length | u32 type | u64 lsn | u64 checksum | payload, padded to 8`.
///
/// Segment header (page 0): `magic | u32 format | u32 segment size | u64 start LSN | u64 salt
/// | u64 checksum of the 32 bytes before | u64 synced mark | u64 writer's boot`. The size is
/// checksummed with the rest, so a damaged one is a damaged header; the file may be shorter
/// (damage, or a crash while it was created), never read past the size. The last two fields
/// are outside the checksum: they change as the log is used.
final class WriteAheadLog: @unchecked Sendable {
    /// The size of a new store's first segment.
    static let firstSegmentSize = 64 << 10
    /// The largest segment; also the most one record may take, with its end marker.
    static let maxSegmentSize = 16 << 20
    /// How much larger each new segment is than the one it follows, up to the cap.
    static let segmentGrowth = 4
    static let headerSize = 4096
    static let recordHeaderSize = 24
    static let magic: UInt64 = 0x4745_534C_4157_5354  // "TSWALSEG"
    static let maxPayload = 1 << 20
    /// An end-of-segment record: header and the next segment's salt.
    static let endMarkerSize = recordHeaderSize + 8
    static let sizeOffset = 12
    static let syncedMarkOffset = 40
    static let bootOffset = 48

    /// Whether `size` is one a segment may have: a power of two in the sizes the log uses.
    static func isValidSegmentSize(_ size: Int) -> Bool {
        size >= firstSegmentSize && size <= maxSegmentSize && size & (size - 1) == 0
    }

    /// The size of the segment that follows one of `previous` bytes and must hold a record of
    /// `bytes` (header and padding) and the end marker after it: `segmentGrowth` times the
    /// previous, capped, and doubled again while the record does not fit.
    static func nextSegmentSize(after previous: Int, holding bytes: Int) -> Int {
        var size = min(max(previous * segmentGrowth, firstSegmentSize), maxSegmentSize)
        while size < maxSegmentSize && headerSize + bytes + endMarkerSize > size { size *= 2 }
        return size
    }

    enum RecordType: UInt32 {
        case operation = 1
        /// Closes a segment: the log continues in the segment starting at the next LSN. Its
        /// payload is that segment's salt (logs written before it have none), so that a
        /// segment replaced by another file of the same name is refused.
        case endOfSegment = 2
    }

    /// One mapped segment file; unmapped when the last reference goes.
    final class Segment: @unchecked Sendable {
        let file: FileDescriptor
        let base: UnsafeMutableRawPointer
        let startLSN: UInt64
        let salt: UInt64
        /// The segment's size as its header records it: the length of the mapping.
        let size: Int
        /// Bytes that may be read: the file's size when it is shorter than `size` (damage or
        /// a crash while it was created), until recovery grows it back.
        var readable: Int

        init(file: FileDescriptor, base: UnsafeMutableRawPointer, startLSN: UInt64, salt: UInt64, size: Int, readable: Int? = nil) {
            self.file = file
            self.base = base
            self.startLSN = startLSN
            self.salt = salt
            self.size = size
            self.readable = readable ?? size
        }

        deinit {
            _ = SystemCalls.current.munmap(base, size)
            file.close()
        }

        var endLSN: UInt64 { startLSN + UInt64(size - WriteAheadLog.headerSize) }

        /// Marks every page of the range dirty again. After a failed writeback Linux marks the
        /// pages clean ("fsyncgate"), so a plain retry would succeed without writing them:
        /// writing their bytes again through the file makes the next sync carry them.
        func redirty(from: UInt64, to: UInt64) throws(SystemError) {
            let lo = max(from, startLSN), hi = min(to, endLSN)
            guard hi > lo else { return }
            let first = (WriteAheadLog.headerSize + Int(lo - startLSN)) & ~(MappedFile.pageSize - 1)
            let last = WriteAheadLog.headerSize + Int(hi - startLSN)
            try file.write(UnsafeRawBufferPointer(start: base + first, count: last - first), at: first)
        }

        /// The highest LSN known forced to disk, kept in the header page at offset 40 (outside
        /// the header's checksum). It reaches the disk with the page's next writeback, so it
        /// lags the truth but never leads it: recovery treats damage before it as corruption,
        /// not as a torn tail.
        var syncedMark: UInt64 {
            UnsafeRawPointer(base).loadUnaligned(fromByteOffset: WriteAheadLog.syncedMarkOffset, as: UInt64.self)
        }

        func markSynced(_ lsn: UInt64) {
            let mark = min(lsn, endLSN)
            if mark > syncedMark { (base + WriteAheadLog.syncedMarkOffset).storeBytes(of: mark, as: UInt64.self) }
        }

        /// The boot in which the segment was last written (`SystemCalls.bootID`). When it is
        /// the current boot, the page cache holds every byte ever appended to it, so damage
        /// cannot be a power cut's tear.
        var writerBoot: UInt64 {
            UnsafeRawPointer(base).loadUnaligned(fromByteOffset: WriteAheadLog.bootOffset, as: UInt64.self)
        }

        func stampBoot(_ boot: UInt64) {
            if writerBoot != boot { (base + WriteAheadLog.bootOffset).storeBytes(of: boot, as: UInt64.self) }
        }

        func sync(from: UInt64, to: UInt64) throws(SystemError) {
            let lo = max(from, startLSN), hi = min(to, endLSN)
            guard hi > lo else { return }
            let first = (WriteAheadLog.headerSize + Int(lo - startLSN)) & ~(MappedFile.pageSize - 1)
            let last = WriteAheadLog.headerSize + Int(hi - startLSN)
            guard SystemCalls.current.msync(base + first, last - first, MS_SYNC) == 0 else {
                throw SystemError(errno: errno, operation: "msync", file: file.name)
            }
        }
    }

    let directory: String
    private let lock = ConditionLock()
    private var segment: Segment
    /// Segments rolled since the last checkpoint, kept mapped until a sync covers them.
    private var retired: [Segment] = []
    private(set) var endLSN: UInt64
    /// The salts of the segments this handle created or opened, by start LSN, for the
    /// manifest. Pruned by `segment(holding:)`.
    private var salts: [UInt64: UInt64] = [:]
    /// What recovery dropped at this open, on request (`dropDamagedLog`); `nil` when nothing.
    private(set) var dropped: DroppedRecords?

    // Group commit state, under `syncLock`.
    private let syncLock = ConditionLock()
    private var durableLSN: UInt64
    private var syncing = false
    /// Set when a sync failed: the next one re-dirties the unsynced range first.
    private var lastSyncFailed = false

    static func fileName(_ lsn: UInt64) -> String {
        let hex = String(lsn, radix: 16)
        return "wal-" + String(repeating: "0", count: max(0, 16 - hex.count)) + hex + ".log"
    }

    /// The start LSNs of the segment files among a directory's `names`, ascending.
    static func segmentStarts(in names: [String]) -> [UInt64] {
        var starts: [UInt64] = []
        for name in names where name.hasPrefix("wal-") && name.hasSuffix(".log") && name.utf8.count == 24 {
            if let lsn = UInt64(name.dropFirst(4).dropLast(4), radix: 16) { starts.append(lsn) }
        }
        return starts.sorted()
    }

    init(directory: String, segment: Segment, endLSN: UInt64, dropped: DroppedRecords? = nil) {
        self.directory = directory
        self.segment = segment
        self.endLSN = endLSN
        self.durableLSN = endLSN
        self.dropped = dropped
        self.salts[segment.startLSN] = segment.salt
    }

    /// The segment holding `lsn` (its start and salt), for a checkpoint's manifest; forgets
    /// older segments, which checkpoints never need again.
    func segment(holding lsn: UInt64) -> (start: UInt64, salt: UInt64)? {
        lock.withLock {
            guard let start = salts.keys.filter({ $0 <= lsn }).max() else { return nil }
            salts = salts.filter { $0.key >= start }
            return (start, salts[start]!)
        }
    }

    // MARK: Appending

    /// Appends one record built by `encode` into a buffer of `length` bytes.
    /// - Returns: the LSN just past the record, to pass to `sync(upTo:)`.
    /// - Throws: when a new segment cannot be created (disk full); nothing is appended then.
    func append(length: Int, _ encode: (UnsafeMutableRawBufferPointer) -> Void) throws(SystemError) -> UInt64 {
        let padded = (length + 7) & ~7
        let total = WriteAheadLog.recordHeaderSize + padded
        lock.lock()
        defer { lock.unlock() }
        if endLSN + UInt64(total + WriteAheadLog.endMarkerSize) > segment.endLSN {
            try roll(holding: total)
        }
        let offset = WriteAheadLog.headerSize + Int(endLSN - segment.startLSN)
        let record = segment.base + offset
        let payload = UnsafeMutableRawBufferPointer(start: record + WriteAheadLog.recordHeaderSize, count: length)
        encode(payload)
        if padded > length {
            (record + WriteAheadLog.recordHeaderSize + length).initializeMemory(as: UInt8.self, repeating: 0, count: padded - length)
        }
        writeHeader(record, type: .operation, length: length, lsn: endLSN, salt: segment.salt)
        endLSN += UInt64(total)
        return endLSN
    }

    private func writeHeader(_ record: UnsafeMutableRawPointer, type: RecordType, length: Int, lsn: UInt64, salt: UInt64) {
        let payload = UnsafeRawBufferPointer(start: record + WriteAheadLog.recordHeaderSize, count: length)
        record.storeBytes(of: UInt32(length), as: UInt32.self)
        (record + 4).storeBytes(of: type.rawValue, as: UInt32.self)
        (record + 8).storeBytes(of: lsn, as: UInt64.self)
        (record + 16).storeBytes(of: WriteAheadLog.checksum(payload, lsn: lsn, salt: salt, type: type), as: UInt64.self)
    }

    static func checksum(_ payload: UnsafeRawBufferPointer, lsn: UInt64, salt: UInt64, type: RecordType) -> UInt64 {
        hash64(payload, seed: salt ^ mix64(lsn ^ UInt64(payload.count) << 40 ^ UInt64(type.rawValue) << 32))
    }

    /// Closes the current segment with an end marker and starts the next one. Lock held.
    private func roll(holding bytes: Int = 0) throws(SystemError) {
        let next = try WriteAheadLog.createSegment(
            directory: directory, startLSN: endLSN + UInt64(WriteAheadLog.endMarkerSize),
            size: WriteAheadLog.nextSegmentSize(after: segment.size, holding: bytes))
        let offset = WriteAheadLog.headerSize + Int(endLSN - segment.startLSN)
        (segment.base + offset + WriteAheadLog.recordHeaderSize).storeBytes(of: next.salt, as: UInt64.self)
        writeHeader(segment.base + offset, type: .endOfSegment, length: 8, lsn: endLSN, salt: segment.salt)
        endLSN += UInt64(WriteAheadLog.endMarkerSize)
        retired.append(segment)
        segment = next
        salts[next.startLSN] = next.salt
    }

    /// Ends the current segment now and continues in a new one, as a full segment does.
    /// Tests use it to lay a log across segments without filling one with records.
    func startNewSegment() throws(SystemError) {
        try lock.withLock { () throws(SystemError) -> Void in
            if endLSN > segment.startLSN { try roll() }
        }
    }

    // MARK: Durability

    /// Forces the log to disk up to `lsn`. Concurrent callers share one `msync`: the first
    /// becomes the leader and syncs everything appended so far; the others wait for it. When
    /// the leader's sync fails, it alone gets the error; each waiter still short of its LSN
    /// then leads a sync of its own, so a passing fault never fails a later, healthy call.
    func sync(upTo lsn: UInt64) throws(SystemError) {
        syncLock.lock()
        while true {
            if durableLSN >= lsn {
                syncLock.unlock()
                return
            }
            if !syncing { break }
            syncLock.wait()
        }
        syncing = true
        let from = durableLSN
        let redirty = lastSyncFailed
        syncLock.unlock()

        let (target, segments) = lock.withLock { (endLSN, retired + [segment]) }
        var failure: SystemError?
        do throws(SystemError) {
            for s in segments {
                if redirty { try s.redirty(from: from, to: target) }
                try s.sync(from: from, to: target)
                s.markSynced(target)
            }
        } catch { failure = error }

        syncLock.lock()
        syncing = false
        lastSyncFailed = failure != nil
        if failure == nil { durableLSN = max(durableLSN, target) }
        syncLock.broadcast()
        syncLock.unlock()
        if let failure { throw failure }
        lock.withLock { retired.removeAll { $0.endLSN <= target } }
    }

    /// Forces everything appended so far.
    func syncAll() throws(SystemError) { try sync(upTo: lock.withLock { endLSN }) }

    /// The LSN just past the last record, read under the lock.
    var endLSNNow: UInt64 { lock.withLock { endLSN } }

    /// Bytes appended since `lsn`.
    func bytes(since lsn: UInt64) -> Int { Int(lock.withLock { endLSN } &- lsn) }

    // MARK: Files

    /// The name a segment is built under until its header is on disk: a crash while the
    /// header is half written leaves this name, which recovery never reads and `open` removes.
    static func temporaryName(_ lsn: UInt64) -> String { fileName(lsn) + ".tmp" }

    /// Creates the segment of `size` bytes starting at `startLSN`: built and synced under a
    /// temporary name, then renamed, so the segment's name never shows a half-written header.
    static func createSegment(directory: String, startLSN: UInt64, size: Int) throws(SystemError) -> Segment {
        precondition(isValidSegmentSize(size))
        let name = fileName(startLSN), temporary = temporaryName(startLSN)
        let file = try FileDescriptor.open(directory + "/" + temporary, name: name, create: true)
        do throws(SystemError) {
            try file.truncate(to: 0)
            try file.allocate(to: size)
            guard let base = SystemCalls.current.mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, file.raw) else {
                throw SystemError(errno: errno, operation: "mmap", file: name)
            }
            let salt = mix64(UInt64.random(in: .min ... .max) ^ startLSN)
            do throws(SystemError) {
                base.storeBytes(of: magic, as: UInt64.self)
                (base + 8).storeBytes(of: TokenStore.formatVersion, as: UInt32.self)
                (base + sizeOffset).storeBytes(of: UInt32(size), as: UInt32.self)
                (base + 16).storeBytes(of: startLSN, as: UInt64.self)
                (base + 24).storeBytes(of: salt, as: UInt64.self)
                (base + 32).storeBytes(of: hash64(UnsafeRawBufferPointer(start: base, count: 32)), as: UInt64.self)
                (base + bootOffset).storeBytes(of: SystemCalls.current.bootID(), as: UInt64.self)
                // The header must be on disk before any record that depends on it is trusted.
                guard SystemCalls.current.msync(base, MappedFile.pageSize, MS_SYNC) == 0 else {
                    throw SystemError(errno: errno, operation: "msync", file: name)
                }
                guard SystemCalls.current.rename(directory + "/" + temporary, directory + "/" + name) == 0 else {
                    throw SystemError(errno: lastErrno(), operation: "rename", file: name)
                }
                try syncDirectory(directory)
            } catch {
                _ = SystemCalls.current.munmap(base, size)
                throw error
            }
            return Segment(file: file, base: base, startLSN: startLSN, salt: salt, size: size)
        } catch {
            file.close()
            _ = SystemCalls.current.unlink(directory + "/" + temporary)
            throw error
        }
    }
}
