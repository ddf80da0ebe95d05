#if canImport(Glibc)
import Glibc
#endif

/// One lock stripe's storage, three mapped files: the hash index, the record heap (keys,
/// users, counters), and the changelog heap. Changelog entries are written once and read
/// rarely; keeping them apart keeps the hot records dense in memory.
///
/// A shard that no checkpoint has written has no files: it is formatted in memory at every
/// open, and the first checkpoint that finds it written creates its files, before the
/// manifest that lists it (see `ShardedStore.checkpoint`). A small store thus has a few files.
///
/// Everything here runs under the stripe's lock, taken by the caller.
final class Shard {
    let number: Int
    let index: HashIndex
    let heap: Heap
    let changes: Heap

    /// Files per shard; a file's journal id is `shard * filesPerShard + kind`.
    static let filesPerShard = 3

    static func indexName(_ n: Int) -> String { "shard-\(pad(n)).index" }
    static func heapName(_ n: Int) -> String { "shard-\(pad(n)).heap" }
    static func changesName(_ n: Int) -> String { "shard-\(pad(n)).changes" }

    /// The name of the file with journal id `id`.
    static func fileName(id: UInt32) -> String {
        let n = Int(id) / filesPerShard
        switch Int(id) % filesPerShard {
        case 0: return indexName(n)
        case 1: return heapName(n)
        default: return changesName(n)
        }
    }
    private static func pad(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }

    /// The first size of a heap file: its header and one page of records. Growth doubles it.
    static let initialHeapSize = Heap.headerSize + MappedFile.pageSize

    /// Maps the shard's files when a checkpoint created them (`hasFiles`, from the manifest);
    /// otherwise formats the shard in memory, with no file, until a checkpoint writes it.
    init(directory: String, number: Int, hasFiles: Bool) throws(TokenStoreError) {
        self.number = number
        let first = UInt32(number * Shard.filesPerShard)
        let names = Shard.fileNames(number)
        var files: [MappedFile] = []
        for (kind, name) in names.enumerated() {
            files.append(try Shard.map(name, in: directory, fileID: first + UInt32(kind), hasFile: hasFiles, number: number))
        }
        index = HashIndex(file: files[0])
        heap = Heap(file: files[1])
        changes = Heap(file: files[2], magic: Heap.changesMagic)
        if !hasFiles {
            HashIndex.format(index.file, shard: number, capacity: HashIndex.minimumCapacity)
            Heap.format(heap.file, shard: number)
            Heap.format(changes.file, shard: number, magic: Heap.changesMagic)
            files.forEach { $0.forgetWrites() }
        } else {
            if let problem = index.validate(shard: number) { throw TokenStoreError(.corrupt, "\(names[0]): \(problem)") }
            if let problem = heap.validate(shard: number) { throw TokenStoreError(.corrupt, "\(names[1]): \(problem)") }
            if let problem = changes.validate(shard: number) { throw TokenStoreError(.corrupt, "\(names[2]): \(problem)") }
        }
    }

    /// Maps one of the shard's files, or makes it in memory when the shard has none yet.
    private static func map(_ name: String, in directory: String, fileID: UInt32, hasFile: Bool, number: Int) throws(TokenStoreError) -> MappedFile {
        do throws(SystemError) {
            guard hasFile else {
                let size = fileID % UInt32(filesPerShard) == 0 ? HashIndex.fileSize(capacity: HashIndex.minimumCapacity) : initialHeapSize
                return try MappedFile(inMemory: name, fileID: fileID, size: size)
            }
            let file = try MappedFile(path: directory + "/" + name, name: name, fileID: fileID, minimumSize: 0, create: false)
            try StoreDirectory.checkOwnership(file.descriptor!)
            return file
        } catch {
            switch error.errno {
            case ENOENT: throw TokenStoreError(.corrupt, "\(name): missing, though MANIFEST lists shard \(number) as written")
            case EINVAL: throw TokenStoreError(.corrupt, "\(name): truncated")  // not a whole number of pages
            default: throw error.storeError
            }
        }
    }

    /// The names of shard `n`'s files, in journal-id order.
    static func fileNames(_ n: Int) -> [String] { [indexName(n), heapName(n), changesName(n)] }

    /// Whether the shard has its files; false while it lives in memory only. Only the
    /// checkpointer gives a shard its files: it reads this without the lock.
    var hasFiles: Bool { index.file.descriptor != nil }

    /// Whether anything was written to the shard since the last checkpoint. Lock held.
    var isDirty: Bool { index.file.dirtyCount + heap.file.dirtyCount + changes.file.dirtyCount > 0 }

    /// Creates the shard's three files, empty, for `adoptFiles`. No lock needed: nothing reads
    /// them until they are adopted.
    func createFiles(directory: String) throws(SystemError) -> [FileDescriptor] {
        var created: [FileDescriptor] = []
        do throws(SystemError) {
            for name in Shard.fileNames(number) {
                let fd = try FileDescriptor.open(directory + "/" + name, name: name, create: true)
                created.append(fd)
                try StoreDirectory.checkOwnership(fd)
                try fd.truncate(to: 0)
            }
        } catch {
            Shard.discard(created, directory: directory)
            throw error
        }
        return created
    }

    /// Closes and removes files made for a shard that stays in memory, so that a full disk
    /// gets its space back.
    private static func discard(_ created: [FileDescriptor], directory: String) {
        for fd in created {
            fd.close()
            _ = SystemCalls.current.unlink(directory + "/" + fd.name)
        }
    }

    /// Gives the shard in memory the files `createFiles` made: each is reserved to its
    /// mapping's size first, so that on a full disk the shard stays in memory as it was and
    /// the files are removed. Lock held.
    func adoptFiles(_ created: [FileDescriptor], directory: String) throws(SystemError) {
        do throws(SystemError) {
            for (file, fd) in zip(files, created) { try fd.allocate(to: file.size) }
        } catch {
            Shard.discard(created, directory: directory)
            throw error
        }
        for (file, fd) in zip(files, created) { file.adopt(fd) }
    }

    /// In journal-id order.
    var files: [MappedFile] { [index.file, heap.file, changes.file] }

    /// Makes room for one operation's writes in this shard before it is logged, so that
    /// applying it cannot fail half-way: `slots` index entries and `bytes` of records.
    ///
    /// A shard in memory reserves only its index slots (an insert cannot grow the table): its
    /// heaps have no disk to run out of, so the record bytes, which turn a full disk into an
    /// error before the write is logged, need no reserving, and reserving them would give
    /// every shard a few writes touched the worst case's 48 KiB when its files are created.
    /// Its heaps grow as allocations need (`HeapPages.allocate`).
    func reserve(slots: Int, bytes: Int) throws(SystemError) {
        try index.reserve(slots)
        guard hasFiles else { return }
        try heap.reserve(bytes)
        try changes.reserve(bytes)
    }
}
