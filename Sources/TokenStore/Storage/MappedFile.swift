#if canImport(Glibc)
import Glibc
#endif

/// A store file mapped copy-on-write, with the pages written since the last checkpoint
/// tracked in a bitmap.
///
/// The mapping is `MAP_PRIVATE`: stores never reach the file on their own, so the kernel
/// cannot write a half-updated page back in an order of its choosing. The checkpointer copies
/// the pages through a journal into the file (see `Checkpoint`). Until then the write-ahead
/// log is what makes a write durable.
///
/// A checkpoint snapshots the file at one LSN without stopping writers for long
/// (capture-before-write, as in PostgreSQL's full-page images or FASTER's CPR):
/// `beginCheckpoint` turns the dirty pages into *pending* ones in O(bitmap words); the first
/// write to a pending page after that copies its image into the journal before changing it,
/// and the checkpointer copies the rest (`capturePending`) a batch at a time under this
/// shard's lock. Every page thus reaches the journal exactly as it was at the snapshot.
///
/// The mapping sits at the start of a larger reservation of address space, so that growth
/// maps fresh zero pages (anonymous, private) right after it instead of moving it: a grown
/// page is written without reading the file or copying a page-cache page, and the private
/// copies of written pages stay where they are. The file is reserved to the same length
/// (`posix_fallocate`) and reads as zeros there too, so the two agree until a checkpoint
/// writes the page. Only growth past the reservation moves the mapping.
///
/// A file of a shard that no checkpoint wrote yet lives in memory only (`init(inMemory:)`):
/// its mapping is anonymous and it has no descriptor until `adopt` hands it its new file, at
/// the checkpoint that writes it first. The mapping stays as it is then; that checkpoint
/// writes every page that is not zero (`markFormatDirty`), so that from then on the file
/// holds every clean page, as for a mapped file.
///
/// Raw pointers into the mapping stay inside this type and its callers in `Storage/`;
/// they are valid only while the owning shard's lock is held, because `grow` may move them.
/// The part of a `MappedFile` that every record access touches: the mapping's address and
/// size, the dirty and pending page bitmaps and the seal queue, kept at a stable heap address
/// that the file owns. Record views hold this pointer rather than the file object, so a field
/// read or write is a plain load or store: no retain, no call (a class reference held
/// `unowned(unsafe)` or through `Unmanaged` costs one or the other on every access).
///
/// Valid while its `MappedFile` lives, and only under the owning shard's stripe lock.
struct MappedPages {
    struct State {
        var base: UnsafeMutableRawPointer
        var size: Int
        /// Pages written since the last checkpoint, one bit each, `words` words.
        var dirty: UnsafeMutablePointer<UInt64>
        /// Pages of the running checkpoint's snapshot not yet copied into its journal.
        var pending: UnsafeMutablePointer<UInt64>
        var words: Int
        var dirtyCount = 0
        var pendingCount = 0
        /// Blocks the running write changed, whose checksums the layer above restamps once,
        /// when the write ends, rather than after every field it sets.
        var seals: UnsafeMutablePointer<Int>
        var sealCount = 0
        /// The file, for the rare capture of a pending page.
        var owner: Unmanaged<MappedFile>?

        /// Room for one state on cache lines of its own. Every access to a file's records
        /// reads its state and every write changes it (the seal queue, the dirty count): two
        /// files' states on one line would bounce it between threads writing different shards.
        static func allocate() -> UnsafeMutablePointer<State> {
            let bytes = (MemoryLayout<State>.stride + lineSize - 1) & ~(lineSize - 1)
            return UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: lineSize).bindMemory(to: State.self, capacity: 1)
        }

        /// Two cache lines: the adjacent-line prefetcher pairs lines.
        static let lineSize = 128
    }

    let state: UnsafeMutablePointer<State>

    @inline(__always) var base: UnsafeMutableRawPointer { state.pointee.base }
    @inline(__always) var size: Int { state.pointee.size }

    /// Records that `[offset, offset + length)` is about to change, so the next checkpoint
    /// writes it. Called *before* the bytes change: a page of a running checkpoint's
    /// snapshot is journaled first.
    @inline(__always)
    func markDirty(_ offset: Int, _ length: Int) {
        guard length > 0 else { return }
        var page = offset >> 12
        let last = (offset + length - 1) >> 12
        while page <= last {
            let word = page >> 6
            let bit = UInt64(1) << UInt64(page & 63)
            if state.pointee.dirty[word] & bit == 0 { firstWrite(page, word: word, bit: bit) }
            page += 1
        }
    }

    /// A page's first change since the last checkpoint began: journal its snapshot image if
    /// the running checkpoint still needs it, then mark it dirty.
    @inline(never)
    private func firstWrite(_ page: Int, word: Int, bit: UInt64) {
        if state.pointee.pendingCount != 0 && state.pointee.pending[word] & bit != 0 {
            state.pointee.owner!.takeUnretainedValue().capture(page)
        }
        state.pointee.dirty[word] |= bit
        state.pointee.dirtyCount += 1
    }

    // MARK: Bounds-checked access for the layers above

    @inline(__always) func contains(_ offset: Int, _ length: Int) -> Bool {
        let size = state.pointee.size
        return offset >= 0 && length >= 0 && offset <= size && length <= size - offset
    }

    @inline(__always) func load<T: FixedWidthInteger>(_ offset: Int, as: T.Type = T.self) -> T {
        assert(contains(offset, MemoryLayout<T>.size))
        return (state.pointee.base + offset).loadUnaligned(as: T.self)
    }

    @inline(__always) func store<T: FixedWidthInteger>(_ value: T, _ offset: Int) {
        assert(contains(offset, MemoryLayout<T>.size))
        markDirty(offset, MemoryLayout<T>.size)
        (state.pointee.base + offset).storeBytes(of: value, as: T.self)
    }

    @inline(__always) func bytes(_ offset: Int, _ count: Int) -> UnsafeRawBufferPointer {
        assert(contains(offset, count))
        return UnsafeRawBufferPointer(start: state.pointee.base + offset, count: count)
    }

    @inline(__always) func copy(_ source: UnsafeRawBufferPointer, to offset: Int) {
        assert(contains(offset, source.count))
        guard let s = source.baseAddress, source.count > 0 else { return }
        markDirty(offset, source.count)
        (state.pointee.base + offset).copyMemory(from: s, byteCount: source.count)
    }

    func zero(_ offset: Int, _ count: Int) {
        assert(contains(offset, count))
        markDirty(offset, count)
        (state.pointee.base + offset).initializeMemory(as: UInt8.self, repeating: 0, count: count)
    }

    // MARK: Checksums restamped when a write ends

    /// Queues the block at `offset` for its checksum; false when the queue is full.
    @inline(__always)
    func queueSeal(_ offset: Int) -> Bool {
        if isQueuedForSeal(offset) { return true }
        let count = state.pointee.sealCount
        guard count < MappedFile.sealQueueLimit else { return false }
        state.pointee.seals[count] = offset
        state.pointee.sealCount = count + 1
        return true
    }

    @inline(__always) func isQueuedForSeal(_ offset: Int) -> Bool {
        let seals = state.pointee.seals
        for i in 0..<state.pointee.sealCount where seals[i] == offset { return true }
        return false
    }

    @inline(__always) var hasQueuedSeals: Bool { state.pointee.sealCount != 0 }

    /// Empties the queue, calling `seal` with each offset.
    func drainQueuedSeals(_ seal: (Int) -> Void) {
        let seals = state.pointee.seals
        for i in 0..<state.pointee.sealCount { seal(seals[i]) }
        state.pointee.sealCount = 0
    }
}

final class MappedFile {
    static let pageSize = 4096

    /// The file behind the mapping; `nil` while the file exists in memory only.
    @exclusivity(unchecked) private(set) var descriptor: FileDescriptor?
    /// The name inside the store directory, for error messages.
    let name: String
    /// Identifies the file in the checkpoint journal.
    let fileID: UInt32
    /// The mapping, its bitmaps and seal queue, for record views (`HeapRecord.file`).
    let pages: MappedPages
    /// The address space reserved at `base`; the mapping grows in place up to it.
    // Exclusivity is unchecked: every access happens under the owning shard's stripe lock,
    // and the dynamic check would otherwise cost a runtime call on each access.
    @exclusivity(unchecked) private var reserved: Int
    /// Pages the running checkpoint has journaled but not yet written into the file; until
    /// it has, the file is behind the mapping for them, so `grow` must carry them over too.
    @exclusivity(unchecked) private var inFlight: [UInt64]
    /// Where pending pages go; set for the length of a checkpoint.
    @exclusivity(unchecked) private var journal: Checkpoint.JournalWriter?
    /// The file's size in pages at the snapshot, recorded with each journaled page.
    @exclusivity(unchecked) private var snapshotPages = 0
    /// Set when a pending page could not be journaled: the checkpoint must fail.
    @exclusivity(unchecked) private(set) var captureFailed = false
    /// Short: a write touches a few records, and `queueSeal` refuses beyond this.
    static let sealQueueLimit = 32

    @inline(__always) var base: UnsafeMutableRawPointer { pages.base }
    /// The mapped length, equal to the file's length once it has a file.
    @inline(__always) var size: Int { pages.size }
    @inline(__always) var dirtyCount: Int { pages.state.pointee.dirtyCount }

    /// Opens (or, with `create`, creates) and maps the file, growing it to at least
    /// `minimumSize` bytes.
    convenience init(path: String, name: String, fileID: UInt32, minimumSize: Int, create: Bool = true) throws(SystemError) {
        let fd = try FileDescriptor.open(path, name: name, create: create)
        var mapped: (base: UnsafeMutableRawPointer, size: Int, reserved: Int)
        do throws(SystemError) {
            var size = try fd.size()
            if size < minimumSize {
                try fd.allocate(to: minimumSize)
                size = minimumSize
            }
            guard size % MappedFile.pageSize == 0 else {
                throw SystemError(errno: EINVAL, operation: "size", file: name)
            }
            let reserved = MappedFile.reservation(for: size)
            mapped = (try MappedFile.map(fd, size: size, reserving: reserved), size, reserved)
        } catch {
            fd.close()
            throw error
        }
        self.init(descriptor: fd, name: name, fileID: fileID, mapped: mapped)
    }

    /// A file in memory only, of `size` zero bytes (whole pages), for `adopt` to give a file.
    convenience init(inMemory name: String, fileID: UInt32, size: Int) throws(SystemError) {
        precondition(size % MappedFile.pageSize == 0)
        let reserved = MappedFile.reservation(for: size)
        self.init(descriptor: nil, name: name, fileID: fileID, mapped: (try MappedFile.map(nil, name: name, size: size, reserving: reserved), size, reserved))
    }

    private init(descriptor: FileDescriptor?, name: String, fileID: UInt32, mapped: (base: UnsafeMutableRawPointer, size: Int, reserved: Int)) {
        let words = MappedFile.bitmapWords(mapped.size)
        let state = MappedPages.State.allocate()
        state.initialize(to: MappedPages.State(
            base: mapped.base, size: mapped.size, dirty: MappedFile.zeroedWords(words), pending: MappedFile.zeroedWords(words),
            words: words, seals: .allocate(capacity: MappedFile.sealQueueLimit)))
        self.descriptor = descriptor
        self.name = name
        self.fileID = fileID
        self.pages = MappedPages(state: state)
        self.reserved = mapped.reserved
        self.inFlight = [UInt64](repeating: 0, count: words)
        state.pointee.owner = .passUnretained(self)
    }

    deinit {
        let state = pages.state
        _ = SystemCalls.current.munmap(state.pointee.base, reserved)
        state.pointee.dirty.deallocate()
        state.pointee.pending.deallocate()
        state.pointee.seals.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
        descriptor?.close()
    }

    private static func bitmapWords(_ size: Int) -> Int { (size / MappedFile.pageSize + 63) / 64 }

    private static func zeroedWords(_ count: Int) -> UnsafeMutablePointer<UInt64> {
        let p = UnsafeMutablePointer<UInt64>.allocate(capacity: max(count, 1))
        p.initialize(repeating: 0, count: max(count, 1))
        return p
    }

    /// The address space to reserve for a file of `size` bytes: room to grow several times
    /// over before the mapping has to move, without claiming terabytes for tiny stores.
    static func reservation(for size: Int) -> Int {
        let granule = 2 << 20
        return (max(64 << 20, size * 8) + granule - 1) & ~(granule - 1)
    }

    /// Reserves `reserving` bytes of address space and maps `file`'s first `size` bytes
    /// privately at its start (zero pages when there is no file); the rest stays inaccessible
    /// until `grow` maps it.
    private static func map(_ file: FileDescriptor?, name: String? = nil, size: Int, reserving: Int) throws(SystemError) -> UnsafeMutableRawPointer {
        let calls = SystemCalls.current
        let name = file?.name ?? name ?? ""
        guard let region = calls.mmap(nil, reserving, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1) else {
            throw SystemError(errno: errno, operation: "mmap", file: name)
        }
        let flags = MAP_PRIVATE | MAP_FIXED | (file == nil ? MAP_ANONYMOUS : 0)
        guard calls.mmap(region, size, PROT_READ | PROT_WRITE, flags, file?.raw ?? -1) != nil else {
            let failure = SystemError(errno: errno, operation: "mmap", file: name)
            _ = calls.munmap(region, reserving)
            throw failure
        }
        return region
    }

    /// Journals a pending page's snapshot image. A failure is remembered, not thrown: the
    /// write goes on (the log has it) and the checkpoint fails, leaving the page dirty.
    @inline(never)
    fileprivate func capture(_ page: Int) {
        let state = pages.state
        let word = page >> 6, bit = UInt64(1) << UInt64(page & 63)
        state.pointee.pending[word] &= ~bit
        state.pointee.pendingCount -= 1
        guard let journal else { return }
        if journal.add(fileID: fileID, filePages: snapshotPages, page: page, from: base + page * MappedFile.pageSize) {
            inFlight[word] |= bit
        } else {
            captureFailed = true
        }
    }

    // MARK: Checkpoints

    /// Starts a checkpoint's snapshot: the dirty pages become pending for `journal`. Called
    /// with every stripe locked; costs a pointer swap, no page copies.
    func beginCheckpoint(journal: Checkpoint.JournalWriter) {
        let state = pages.state
        assert(state.pointee.sealCount == 0, "a write ended with records left unsealed")
        swap(&state.pointee.dirty, &state.pointee.pending)
        state.pointee.pendingCount = state.pointee.dirtyCount
        state.pointee.dirtyCount = 0
        snapshotPages = size / MappedFile.pageSize
        captureFailed = false
        self.journal = journal
    }

    /// Journals up to `limit` pending pages; returns how many remain. Lock held.
    func capturePending(limit: Int) -> Int {
        let state = pages.state
        var done = 0
        var w = 0
        while state.pointee.pendingCount > 0 && done < limit && w < state.pointee.words {
            while state.pointee.pending[w] != 0 && done < limit {
                capture(w * 64 + state.pointee.pending[w].trailingZeroBitCount)
                done += 1
            }
            w += 1
        }
        return state.pointee.pendingCount
    }

    /// Called when a checkpoint failed before the files were written: its pages become
    /// dirty again, so the next checkpoint writes them.
    func abortCheckpoint() {
        let state = pages.state
        let dirty = state.pointee.dirty, pending = state.pointee.pending
        for w in 0..<state.pointee.words where pending[w] | inFlight[w] != 0 {
            state.pointee.dirtyCount += ((pending[w] | inFlight[w]) & ~dirty[w]).nonzeroBitCount
            dirty[w] |= pending[w] | inFlight[w]
            pending[w] = 0
            inFlight[w] = 0
        }
        state.pointee.pendingCount = 0
        journal = nil
    }

    /// Called once the checkpoint wrote the in-flight pages into the file. The private
    /// copies stay mapped: dropping them would cost a copy-on-write fault on the next write
    /// of each page, every checkpoint.
    func finishCheckpoint() {
        for w in inFlight.indices where inFlight[w] != 0 { inFlight[w] = 0 }
        journal = nil
    }

    // MARK: Files in memory

    /// Forgets the pages written so far, for a file in memory just formatted: every open
    /// formats it the same way, so the format alone is no write for a checkpoint to save.
    func forgetWrites() {
        precondition(descriptor == nil)
        let state = pages.state
        state.pointee.dirty.initialize(repeating: 0, count: state.pointee.words)
        state.pointee.dirtyCount = 0
    }

    /// Marks the header page dirty again, so that the checkpoint that gives a file in memory
    /// its file writes the format that `forgetWrites` forgot: the formats of the index and the
    /// heaps leave every other page zero, and every later change marks its pages itself.
    func markFormatDirty() {
        pages.markDirty(0, MappedFile.pageSize)
    }

    /// Gives a file in memory its file, already reserved to the mapping's size, so that the
    /// checkpoint's pages fit and later growth extends it as for any file. The owning shard's
    /// lock is held, so that no growth runs meanwhile.
    func adopt(_ file: FileDescriptor) {
        precondition(descriptor == nil)
        descriptor = file
    }

    // MARK: Growth

    /// Extends the file and the mapping to `newSize`; the new bytes read as zero.
    ///
    /// The file's blocks are reserved first (`posix_fallocate`), so that a full filesystem
    /// is an error here rather than a `SIGBUS` when a page is first touched. Within the
    /// reservation the new pages are anonymous zero pages mapped in place; past it the file
    /// is mapped anew in a larger reservation, and the pages whose newest bytes exist only
    /// in the old mapping are copied over (clean pages read the same from the file).
    func grow(to newSize: Int) throws(SystemError) {
        precondition(newSize % MappedFile.pageSize == 0)
        guard newSize > size else { return }
        if let file = descriptor {
            do throws(SystemError) { try file.allocate(to: newSize) } catch {
                try? file.truncate(to: size)
                throw error
            }
        }
        do throws(SystemError) {
            if newSize <= reserved { try extendInPlace(to: newSize) } else { try move(to: newSize) }
        } catch {
            if let file = descriptor { try? file.truncate(to: size) }
            throw error
        }
        let state = pages.state
        state.pointee.size = newSize
        let words = MappedFile.bitmapWords(newSize)
        if state.pointee.words < words {
            state.pointee.dirty = MappedFile.widened(state.pointee.dirty, from: state.pointee.words, to: words)
            state.pointee.pending = MappedFile.widened(state.pointee.pending, from: state.pointee.words, to: words)
            inFlight.append(contentsOf: repeatElement(0, count: words - inFlight.count))
            state.pointee.words = words
        }
    }

    private static func widened(_ old: UnsafeMutablePointer<UInt64>, from: Int, to: Int) -> UnsafeMutablePointer<UInt64> {
        let new = zeroedWords(to)
        new.update(from: old, count: from)
        old.deallocate()
        return new
    }

    private func extendInPlace(to newSize: Int) throws(SystemError) {
        let flags = MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS
        guard SystemCalls.current.mmap(base + size, newSize - size, PROT_READ | PROT_WRITE, flags, -1) != nil else {
            throw SystemError(errno: errno, operation: "mmap", file: name)
        }
    }

    private func move(to newSize: Int) throws(SystemError) {
        let state = pages.state
        let newReservation = MappedFile.reservation(for: newSize)
        let p = try MappedFile.map(descriptor, name: name, size: newSize, reserving: newReservation)
        let dirty = state.pointee.dirty, pending = state.pointee.pending
        // In memory, no file holds the clean pages (the format): every page moves.
        let all: UInt64 = descriptor == nil ? ~0 : 0
        for w in 0..<state.pointee.words where dirty[w] | pending[w] | inFlight[w] | all != 0 {
            var bits = dirty[w] | pending[w] | inFlight[w] | all
            while bits != 0 {
                let page = w * 64 + bits.trailingZeroBitCount
                if page * MappedFile.pageSize >= size { break }
                let offset = page * MappedFile.pageSize
                (p + offset).copyMemory(from: base + offset, byteCount: MappedFile.pageSize)
                bits &= bits - 1
            }
        }
        _ = SystemCalls.current.munmap(base, reserved)
        state.pointee.base = p
        reserved = newReservation
    }

    // MARK: Bounds-checked access for the layers above

    @inline(__always) func contains(_ offset: Int, _ length: Int) -> Bool { pages.contains(offset, length) }
    @inline(__always) func load<T: FixedWidthInteger>(_ offset: Int, as: T.Type = T.self) -> T { pages.load(offset, as: T.self) }
    @inline(__always) func store<T: FixedWidthInteger>(_ value: T, _ offset: Int) { pages.store(value, offset) }
    @inline(__always) func bytes(_ offset: Int, _ count: Int) -> UnsafeRawBufferPointer { pages.bytes(offset, count) }
    @inline(__always) func copy(_ source: UnsafeRawBufferPointer, to offset: Int) { pages.copy(source, to: offset) }
    func zero(_ offset: Int, _ count: Int) { pages.zero(offset, count) }
}
