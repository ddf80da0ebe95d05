#if canImport(Glibc)
import Glibc
#endif

/// A store file mapped copy-on-write, with the pages written since the last checkpoint
/// tracked in a bitmap.
///
/// The mapping is `MAP_PRIVATE`: stores never reach the file on their own, so the kernel
/// cannot write a half-updated page back in an order of its choosing. The checkpointer copies
/// the dirty pages through a journal into the file (see `Checkpointer`). Until then the
/// write-ahead log is what makes a write durable.
///
/// Raw pointers into the mapping stay inside this type and its callers in `Storage/`;
/// they are valid only while the owning shard's lock is held, because `grow` moves them.
final class MappedFile {
    static let pageSize = 4096

    let file: FileDescriptor
    /// Identifies the file in the checkpoint journal.
    let fileID: UInt32
    // Exclusivity is unchecked: every access happens under the owning shard's stripe lock,
    // and the dynamic check would otherwise cost a runtime call on each hot-path load.
    @exclusivity(unchecked) private(set) var base: UnsafeMutableRawPointer
    /// The mapped length, equal to the file's length.
    @exclusivity(unchecked) private(set) var size: Int
    @exclusivity(unchecked) private var dirty: [UInt64]
    /// Pages a checkpoint has journaled but not yet written into the file; until it has,
    /// the file is behind the mapping for them, so `grow` must carry them over too.
    @exclusivity(unchecked) private var inFlight: [UInt64]
    @exclusivity(unchecked) private(set) var dirtyCount = 0

    /// Opens (or creates) and maps the file, growing it to at least `minimumSize` bytes.
    init(path: String, name: String, fileID: UInt32, minimumSize: Int) throws(SystemError) {
        let fd = try FileDescriptor.open(path, name: name, create: true)
        do throws(SystemError) {
            var size = try fd.size()
            if size < minimumSize {
                try fd.truncate(to: minimumSize)
                size = minimumSize
            }
            guard size % MappedFile.pageSize == 0 else {
                throw SystemError(errno: EINVAL, operation: "size", file: name)
            }
            guard let p = SystemCalls.current.mmap(size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd.raw) else {
                throw SystemError(errno: errno, operation: "mmap", file: name)
            }
            self.file = fd
            self.fileID = fileID
            self.base = p
            self.size = size
            self.dirty = [UInt64](repeating: 0, count: (size / MappedFile.pageSize + 63) / 64)
            self.inFlight = self.dirty
        } catch {
            fd.close()
            throw error
        }
    }

    deinit {
        _ = SystemCalls.current.munmap(base, size)
        file.close()
    }

    /// Records that `[offset, offset + length)` changed, so the next checkpoint writes it.
    @inline(__always)
    func markDirty(_ offset: Int, _ length: Int) {
        guard length > 0 else { return }
        var page = offset >> 12
        let last = (offset + length - 1) >> 12
        while page <= last {
            let word = page >> 6
            let bit = UInt64(1) << UInt64(page & 63)
            if dirty[word] & bit == 0 {
                dirty[word] |= bit
                dirtyCount += 1
            }
            page += 1
        }
    }

    /// Calls `body` with each dirty page number and marks them in flight: journaled, but
    /// not yet in the file.
    func drainDirtyPages(_ body: (Int) throws -> Void) rethrows {
        for w in dirty.indices where dirty[w] != 0 {
            var bits = dirty[w]
            while bits != 0 {
                let b = bits.trailingZeroBitCount
                try body(w * 64 + b)
                bits &= bits - 1
            }
            inFlight[w] |= dirty[w]
            dirty[w] = 0
        }
        dirtyCount = 0
    }

    /// Called when a checkpoint failed before the files were written: its pages become
    /// dirty again, so the next checkpoint writes them.
    func abortCheckpoint() {
        for w in inFlight.indices where inFlight[w] != 0 {
            dirtyCount += (inFlight[w] & ~dirty[w]).nonzeroBitCount
            dirty[w] |= inFlight[w]
            inFlight[w] = 0
        }
    }

    /// Called once the checkpoint wrote the in-flight pages into the file: drops the private
    /// copy of each page nobody changed since, so resident memory shrinks back to what the
    /// OS chooses to cache and a store larger than RAM pages like a plain file.
    func finishCheckpoint() {
        for w in inFlight.indices where inFlight[w] != 0 {
            var clean = inFlight[w] & ~dirty[w]
            while clean != 0 {
                let page = w * 64 + clean.trailingZeroBitCount
                _ = madvise(base + page * MappedFile.pageSize, MappedFile.pageSize, MADV_DONTNEED)
                clean &= clean - 1
            }
            inFlight[w] = 0
        }
    }

    /// Extends the file and the mapping to `newSize`; the new bytes read as zero.
    ///
    /// Remaps rather than `mremap`s, so the private copies of dirty pages are carried over
    /// by hand: clean pages read the same from the file in either mapping.
    func grow(to newSize: Int) throws(SystemError) {
        precondition(newSize % MappedFile.pageSize == 0)
        guard newSize > size else { return }
        try file.truncate(to: newSize)
        guard let p = SystemCalls.current.mmap(newSize, PROT_READ | PROT_WRITE, MAP_PRIVATE, file.raw) else {
            throw SystemError(errno: errno, operation: "mmap", file: file.name)
        }
        for w in dirty.indices where dirty[w] | inFlight[w] != 0 {
            var bits = dirty[w] | inFlight[w]
            while bits != 0 {
                let page = w * 64 + bits.trailingZeroBitCount
                let offset = page * MappedFile.pageSize
                (p + offset).copyMemory(from: base + offset, byteCount: MappedFile.pageSize)
                bits &= bits - 1
            }
        }
        _ = SystemCalls.current.munmap(base, size)
        base = p
        size = newSize
        let words = (newSize / MappedFile.pageSize + 63) / 64
        if dirty.count < words {
            dirty.append(contentsOf: repeatElement(0, count: words - dirty.count))
            inFlight.append(contentsOf: repeatElement(0, count: words - inFlight.count))
        }
    }

    // MARK: Bounds-checked access for the layers above

    @inline(__always) func contains(_ offset: Int, _ length: Int) -> Bool {
        offset >= 0 && length >= 0 && offset <= size && length <= size - offset
    }

    @inline(__always) func load<T: FixedWidthInteger>(_ offset: Int, as: T.Type = T.self) -> T {
        assert(contains(offset, MemoryLayout<T>.size))
        return (base + offset).loadUnaligned(as: T.self)
    }

    @inline(__always) func store<T: FixedWidthInteger>(_ value: T, _ offset: Int) {
        assert(contains(offset, MemoryLayout<T>.size))
        (base + offset).storeBytes(of: value, as: T.self)
        markDirty(offset, MemoryLayout<T>.size)
    }

    @inline(__always) func bytes(_ offset: Int, _ count: Int) -> UnsafeRawBufferPointer {
        assert(contains(offset, count))
        return UnsafeRawBufferPointer(start: base + offset, count: count)
    }

    @inline(__always) func copy(_ source: UnsafeRawBufferPointer, to offset: Int) {
        assert(contains(offset, source.count))
        guard let s = source.baseAddress, source.count > 0 else { return }
        (base + offset).copyMemory(from: s, byteCount: source.count)
        markDirty(offset, source.count)
    }

    func zero(_ offset: Int, _ count: Int) {
        assert(contains(offset, count))
        (base + offset).initializeMemory(as: UInt8.self, repeating: 0, count: count)
        markDirty(offset, count)
    }
}
