/// One lock stripe's storage: its hash index and its record heap, both mapped files.
///
/// Everything here runs under the stripe's lock, taken by the caller.
final class Shard {
    let number: Int
    let index: HashIndex
    let heap: Heap

    static func indexName(_ n: Int) -> String { "shard-\(pad(n)).index" }
    static func heapName(_ n: Int) -> String { "shard-\(pad(n)).heap" }
    private static func pad(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }

    /// Maps the shard's files, creating and formatting them for a new store.
    init(directory: String, number: Int, create: Bool) throws(TokenStoreError) {
        self.number = number
        let indexName = Shard.indexName(number), heapName = Shard.heapName(number)
        do throws(SystemError) {
            let indexFile = try MappedFile(
                path: directory + "/" + indexName, name: indexName, fileID: UInt32(number * 2),
                minimumSize: HashIndex.fileSize(capacity: HashIndex.minimumCapacity))
            let heapFile = try MappedFile(
                path: directory + "/" + heapName, name: heapName, fileID: UInt32(number * 2 + 1),
                minimumSize: Heap.headerSize + (64 << 10))
            try StoreDirectory.checkOwnership(indexFile.file)
            try StoreDirectory.checkOwnership(heapFile.file)
            index = HashIndex(file: indexFile)
            heap = Heap(file: heapFile)
        } catch {
            if error.errno == 22 {  // EINVAL: size not a whole number of pages
                throw TokenStoreError(.corrupt, "\(error.file): truncated")
            }
            throw error.storeError
        }
        if create {
            HashIndex.format(index.file, shard: number, capacity: HashIndex.minimumCapacity)
            Heap.format(heap.file, shard: number)
        } else {
            if let problem = index.validate(shard: number) { throw TokenStoreError(.corrupt, "\(indexName): \(problem)") }
            if let problem = heap.validate(shard: number) { throw TokenStoreError(.corrupt, "\(heapName): \(problem)") }
        }
    }

    var files: [MappedFile] { [index.file, heap.file] }

    /// Makes room for one operation's writes in this shard before it is logged, so that
    /// applying it cannot fail half-way: `slots` index entries and `bytes` of records.
    func reserve(slots: Int, bytes: Int) throws(SystemError) {
        try index.reserve(slots)
        try heap.reserve(bytes)
    }

    func corrupt(_ what: String) -> TokenStoreError {
        TokenStoreError(.corrupt, "\(Shard.heapName(number)): \(what)")
    }
}
