#if canImport(Glibc)
import Glibc
#endif

/// Checkpoints: how the mapped shard files catch up with the log, crash-safely.
///
/// 1. With every stripe locked for a moment, the log's end `L` is read and each file's dirty
///    pages become pending ones (`MappedFile.beginCheckpoint`): no page is copied and no
///    file is created or synced while every writer waits. `L` may lie anywhere in a segment;
///    the manifest names that segment.
/// 2. The shards written for the first time get their files (`ShardedStore.createFiles`):
///    created, reserved, and the directory forced, so that a sealed journal never names a
///    file that a crash can make vanish. Shards no write has touched are left out of the
///    snapshot: they keep having no files.
/// 3. Shard by shard, under that shard's lock only and a batch at a time, the pending pages
///    are copied into `checkpoint.journal`; a writer touching a pending page first copies
///    it there itself. The journal thus holds every page as it was at `L`.
/// 4. The journal gets a checksummed trailer and is forced to disk.
/// 5. The journaled pages are written into the shard files, which are forced.
/// 6. The manifest records `L` and lists every shard that has files; the journal and the log
///    segments before the one holding `L` are deleted.
///
/// A crash before step 4 completes leaves a journal without a valid trailer: it is ignored,
/// the files are untouched, and files created in step 2 belong to no listed shard (the next
/// open removes them). A crash after it leaves a valid journal: recovery writes it again
/// (idempotent), so a page torn in step 5 is always repaired, and lists the shards it names.
///
/// Journal: pages of `u32 file id | u32 the file's size in pages | u64 page number | 4096
/// bytes`, then a trailer `magic | LSN | page count | checksum over all entries`. The size lets
/// recovery refuse a page no file of the store could hold, and restore a growth that a power
/// loss undid.
enum Checkpoint {
    static let journalName = "checkpoint.journal"
    static let trailerMagic: UInt64 = 0x4C4E_524A_4B50_4354  // "TCPKJRNL"
    static let entrySize = 16 + MappedFile.pageSize

    /// A journal being written. Page images arrive from the checkpointer and from writers
    /// capturing a page before its first change (`MappedPages.markDirty`), on any thread,
    /// into memory; only the checkpointer writes them to the file (`flush`), so no writer
    /// ever waits for I/O here.
    final class JournalWriter: @unchecked Sendable {
        let file: FileDescriptor
        /// Entries per in-memory chunk: 1 MiB of pages.
        private static let chunkEntries = 256
        private let lock = ConditionLock()
        /// Filled chunks and the one being filled (`used` entries), under `lock`.
        private var chunks: [UnsafeMutableRawPointer] = []
        private var used = 0
        /// Emptied chunks for reuse, under `lock`.
        private var spare: [UnsafeMutableRawPointer] = []
        /// File position, entries and running checksum; the flushing thread's alone.
        private(set) var offset = 0
        private(set) var pages = 0
        private(set) var checksum: UInt64 = 0
        /// Bytes written to the journal file so far.
        var bytesWritten: Int { offset }

        init(directory: String) throws(SystemError) {
            file = try FileDescriptor.open(directory + "/" + Checkpoint.journalName, name: Checkpoint.journalName, create: true)
            // Every property is set by now, so a throw runs `deinit`, which closes the file.
            try file.truncate(to: 0)
        }

        deinit {
            for chunk in chunks + spare { free(chunk) }
            file.close()
        }

        /// Copies one page image in; `false` when no memory is left for it.
        func add(fileID: UInt32, filePages: Int, page: Int, from source: UnsafeRawPointer) -> Bool {
            lock.lock()
            defer { lock.unlock() }
            if chunks.isEmpty || used == JournalWriter.chunkEntries {
                guard let chunk = spare.popLast() ?? JournalWriter.allocateChunk() else { return false }
                chunks.append(chunk)
                used = 0
            }
            let entry = chunks[chunks.count - 1] + used * Checkpoint.entrySize
            entry.storeBytes(of: fileID, as: UInt32.self)
            (entry + 4).storeBytes(of: UInt32(truncatingIfNeeded: filePages), as: UInt32.self)
            (entry + 8).storeBytes(of: UInt64(page), as: UInt64.self)
            (entry + 16).copyMemory(from: source, byteCount: MappedFile.pageSize)
            used += 1
            return true
        }

        private static func allocateChunk() -> UnsafeMutableRawPointer? {
            var p: UnsafeMutableRawPointer?
            guard posix_memalign(&p, 4096, chunkEntries * Checkpoint.entrySize) == 0 else { return nil }
            return p
        }

        /// Writes every page added so far to the file. One thread at a time.
        func flush() throws(SystemError) {
            let (taken, lastUsed) = lock.withLock { () -> ([UnsafeMutableRawPointer], Int) in
                let taken = chunks
                let lastUsed = used
                chunks.removeAll(keepingCapacity: true)
                used = 0
                return (taken, lastUsed)
            }
            var failure: SystemError?
            for (i, chunk) in taken.enumerated() where failure == nil {
                let count = i == taken.count - 1 ? lastUsed : JournalWriter.chunkEntries
                for e in 0..<count {
                    let entry = UnsafeRawBufferPointer(start: chunk + e * Checkpoint.entrySize, count: Checkpoint.entrySize)
                    checksum = mix64(checksum ^ hash64(entry))
                }
                do throws(SystemError) {
                    try file.write(UnsafeRawBufferPointer(start: chunk, count: count * Checkpoint.entrySize), at: offset)
                } catch { failure = error }
                offset += count * Checkpoint.entrySize
                pages += count
            }
            lock.withLock { spare.append(contentsOf: taken) }
            if let failure { throw failure }
        }

        /// Appends the trailer and forces the journal: from here on it will be applied.
        func seal(lsn: UInt64) throws(SystemError) {
            try flush()
            var trailer: (UInt64, UInt64, UInt64, UInt64) = (Checkpoint.trailerMagic, lsn, UInt64(pages), checksum)
            try withUnsafeBytes(of: &trailer) { (b) throws(SystemError) in try file.write(b, at: offset) }
            offset += 32
            try file.syncData()
        }
    }

    /// Reads a journal; returns its LSN and calls `page` (file id, the file's size in pages,
    /// page number, bytes) for every entry, or returns `nil` when it is incomplete (its
    /// trailer is missing or wrong), in which case nothing is applied.
    /// - Throws: `corrupt` when a complete journal names a file or page the store cannot have.
    static func readJournal(
        _ file: FileDescriptor, apply: Bool, files: Int,
        page: (UInt32, Int, Int, UnsafeRawBufferPointer) throws -> Void
    ) throws -> UInt64? {
        let size = try file.size()
        guard size >= 32, (size - 32) % entrySize == 0 else { return nil }
        let count = (size - 32) / entrySize
        var trailer: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        _ = try withUnsafeMutableBytes(of: &trailer) { try file.read(into: $0, at: size - 32) }
        guard trailer.0 == trailerMagic, trailer.2 == UInt64(count) else { return nil }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * entrySize, alignment: 4096)
        defer { buffer.deallocate() }
        // First pass verifies; the second applies, so a bad journal changes nothing.
        for pass in apply ? [false, true] : [false] {
            var sum: UInt64 = 0
            var pageProblem = false
            var done = 0
            while done < count {
                let n = min(64, count - done)
                guard try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(n * entrySize)]), at: done * entrySize) == n * entrySize
                else { return nil }
                for i in 0..<n {
                    let entry = UnsafeRawBufferPointer(rebasing: buffer[(i * entrySize)..<((i + 1) * entrySize)])
                    let fileID = entry.loadUnaligned(as: UInt32.self)
                    let filePages = Int(entry.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                    let pageNumber = entry.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                    if pass {
                        try page(fileID, filePages, Int(pageNumber), UnsafeRawBufferPointer(rebasing: entry[16...]))
                    } else {
                        sum = mix64(sum ^ hash64(entry))
                        if Int(fileID) >= files || pageNumber >= UInt64(filePages) {
                            pageProblem = true
                        }
                    }
                }
                done += n
            }
            if !pass && sum != trailer.3 { return nil }
            if !pass && pageProblem {
                throw TokenStoreError(.corrupt, "\(journalName): names a file or page the store cannot have")
            }
        }
        return trailer.1
    }
}
