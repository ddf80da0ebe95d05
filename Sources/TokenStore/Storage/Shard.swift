/// One lock stripe's storage, three mapped files: the hash index, the record heap (keys,
/// users, counters), and the changelog heap. Changelog entries are written once and read
/// rarely; keeping them apart keeps the hot records dense in memory.
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

    /// Maps the shard's files, creating and formatting them for a new store.
    init(directory: String, number: Int, create: Bool) throws(TokenStoreError) {
        self.number = number
        let indexName = Shard.indexName(number), heapName = Shard.heapName(number), changesName = Shard.changesName(number)
        let first = UInt32(number * Shard.filesPerShard)
        do throws(SystemError) {
            let indexFile = try MappedFile(
                path: directory + "/" + indexName, name: indexName, fileID: first,
                minimumSize: create ? HashIndex.fileSize(capacity: HashIndex.minimumCapacity) : 0)
            let heapFile = try MappedFile(
                path: directory + "/" + heapName, name: heapName, fileID: first + 1,
                minimumSize: create ? Heap.headerSize + (64 << 10) : 0)
            let changesFile = try MappedFile(
                path: directory + "/" + changesName, name: changesName, fileID: first + 2,
                minimumSize: create ? Heap.headerSize + (64 << 10) : 0)
            for file in [indexFile, heapFile, changesFile] { try StoreDirectory.checkOwnership(file.file) }
            index = HashIndex(file: indexFile)
            heap = Heap(file: heapFile)
            changes = Heap(file: changesFile, magic: Heap.changesMagic)
        } catch {
            if error.errno == 22 {  // EINVAL: size not a whole number of pages
                throw TokenStoreError(.corrupt, "\(error.file): truncated")
            }
            throw error.storeError
        }
        if create {
            HashIndex.format(index.file, shard: number, capacity: HashIndex.minimumCapacity)
            Heap.format(heap.file, shard: number)
            Heap.format(changes.file, shard: number, magic: Heap.changesMagic)
        } else {
            if let problem = index.validate(shard: number) { throw TokenStoreError(.corrupt, "\(indexName): \(problem)") }
            if let problem = heap.validate(shard: number) { throw TokenStoreError(.corrupt, "\(heapName): \(problem)") }
            if let problem = changes.validate(shard: number) { throw TokenStoreError(.corrupt, "\(changesName): \(problem)") }
        }
    }

    /// In journal-id order.
    var files: [MappedFile] { [index.file, heap.file, changes.file] }

    /// Makes room for one operation's writes in this shard before it is logged, so that
    /// applying it cannot fail half-way: `slots` index entries and `bytes` of records.
    func reserve(slots: Int, bytes: Int) throws(SystemError) {
        try index.reserve(slots)
        try heap.reserve(bytes)
        try changes.reserve(bytes)
    }
}
