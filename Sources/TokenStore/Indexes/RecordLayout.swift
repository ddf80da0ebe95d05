/// Record kinds, stored in byte 4 of every heap block.
enum RecordKind: UInt8 {
    case free = 0
    case key = 1
    case user = 3
    case app = 4
    case change = 5
    case tombstone = 6
}

/// A record in a shard's heap, addressed by offset. Valid only under the shard's lock.
///
/// Every record starts with `u32 capacity | u8 kind | … | u32 checksum at 8`; the checksum
/// covers bytes 16 to the record's end and is restamped by `seal` after each write, so that
/// `verify` can tell a damaged record from a sound one.
protocol HeapRecord {
    /// The heap file's pages, reached through a plain pointer: a record is a view made and
    /// dropped under the stripe lock, which the shard owning the file outlives, and holding the
    /// file object would cost a retain or a call on each field access.
    var file: MappedPages { get }
    init(pages: MappedPages, offset: Int)
    var offset: Int { get }
    /// Bytes in use, from the start of the record.
    var length: Int { get }
}

extension HeapRecord {
    /// The record at `offset` in `file`.
    /// The record at `offset` in the pages of a heap.
    @inline(__always) init(file: MappedPages, offset: Int) { self.init(pages: file, offset: offset) }

    @inline(__always) func u8(_ at: Int) -> UInt8 { file.load(offset + at) }
    @inline(__always) func u16(_ at: Int) -> Int { Int(file.load(offset + at, as: UInt16.self)) }
    @inline(__always) func u32(_ at: Int) -> Int { Int(file.load(offset + at, as: UInt32.self)) }
    @inline(__always) func i64(_ at: Int) -> Int64 { file.load(offset + at) }
    @inline(__always) func u64(_ at: Int) -> UInt64 { file.load(offset + at) }
    @inline(__always) func set<T: FixedWidthInteger>(_ value: T, _ offset: Int) { file.store(value, self.offset + offset) }
    @inline(__always) func bytes(_ at: Int, _ count: Int) -> UnsafeRawBufferPointer { file.bytes(offset + at, count) }

    @inline(__always) var capacity: Int { u32(0) }
    @inline(__always) var kind: UInt8 { u8(4) }

    var computedChecksum: UInt32 {
        UInt32(truncatingIfNeeded: hash64(file.bytes(offset + 16, length - 16), seed: UInt64(kind)))
    }

    /// Restamps the checksum once the running write ends (`Registry.sealQueued`), however many
    /// fields it changes; at once when the file's queue is full.
    @inline(__always) func seal() {
        if !file.queueSeal(offset) { sealNow() }
    }

    func sealNow() { set(computedChecksum, 8) }

    /// Whether the checksum holds. A record the running write changed counts as sealed: its
    /// bytes are this process's own, and its checksum follows when the write ends.
    var isSealed: Bool { file.isQueuedForSeal(offset) || u32(8) == Int(computedChecksum) }
}

@inline(__always) func equalBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
}

@inline(__always) func pad8(_ n: Int) -> Int { (n + 7) & ~7 }

#if canImport(Glibc)
import Glibc
#endif
