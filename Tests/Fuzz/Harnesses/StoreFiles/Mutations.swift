// The store-files harness's input language: a list of edits to a template's files (overwrite,
// truncate, zero a page, flip a bit, delete, swap, extend, store integers, replace, add a
// journal page, symlink, duplicate), then optionally re-stamping every checksum the format
// has, so the edits get past the checksums into the structure behind them.

@testable import TokenStore

/// A store directory being edited in memory.
struct EditedStore {
    var files: [String: [UInt8]]
    /// Files whose zero tail is not held in `files`: the size to extend them to when written.
    /// An edit that sets a file's size explicitly drops its entry.
    var sparseSizes: [String: Int] = [:]
    /// Names replaced by a symbolic link to another name in the directory.
    var symlinks: [String: String] = [:]

    /// The file's size on disk.
    func size(_ name: String) -> Int { max(files[name]?.count ?? 0, sparseSizes[name] ?? 0) }

    /// Names an edit may target beyond the existing files: files a store may hold or a
    /// hostile directory may add.
    static let extraNames = [
        "MANIFEST", "MANIFEST.tmp", "checkpoint.journal", "LOCK", "shard-0001.index", "shard-0001.heap",
        "shard-0001.changes", "shard-0002.index", "wal-0000000000000000.log", "wal-0000000000fff018.log",
    ]

    /// The name selected by `selector`.
    func name(_ selector: UInt8) -> String {
        let names = Array(Set(files.keys).union(EditedStore.extraNames)).sorted()
        return names[Int(selector) % names.count]
    }

    /// Applies the edits the input describes, until it runs out or 32 edits are done.
    mutating func edit(_ input: inout FuzzInput) {
        var edits = 0
        while !input.isEmpty && edits < 32 {
            edits += 1
            let target = name(input.byte())
            let op = input.byte() % 13
            var bytes = files[target] ?? []
            let size = bytes.count
            FuzzEnvironment.trace("edit \(op) on \(target) (\(size) bytes)")
            switch op {
            case 0:  // overwrite a few bytes
                let offset = Int(input.u32()) % (size + 1)
                let data = input.take(1 + Int(input.byte() % 32))
                if offset + data.count > bytes.count { bytes += [UInt8](repeating: 0, count: offset + data.count - bytes.count) }
                bytes.replaceSubrange(offset..<(offset + data.count), with: data)
            case 1:  // truncate (the logical size counts the sparse tail)
                let logical = self.size(target)
                let newSize = Int(input.u32()) % (logical + 1)
                if newSize < bytes.count { bytes.removeLast(bytes.count - newSize) } else { bytes += [UInt8](repeating: 0, count: newSize - bytes.count) }
                sparseSizes[target] = nil
            case 2:  // zero a page
                guard size > 0 else { break }
                let page = Int(input.u16()) % ((size + 4095) / 4096)
                let end = min(size, page * 4096 + 4096)
                bytes.replaceSubrange((page * 4096)..<end, with: repeatElement(0, count: end - page * 4096))
            case 3:  // flip a bit
                guard size > 0 else { break }
                let bit = Int(input.u32()) % (size * 8)
                bytes[bit / 8] ^= 1 << UInt8(bit % 8)
            case 4:  // delete
                files[target] = nil
                sparseSizes[target] = nil
                symlinks[target] = nil
                continue
            case 5:  // swap with another file
                let other = name(input.byte())
                (files[other], files[target]) = (files[target], files[other])
                (sparseSizes[other], sparseSizes[target]) = (sparseSizes[target], sparseSizes[other])
                continue
            case 6:  // extend with zeros
                let logical = self.size(target)
                bytes += [UInt8](repeating: 0, count: logical - bytes.count + Int(input.u32()) % (1 << 20))
                sparseSizes[target] = nil
            case 7:  // store a 64-bit value
                guard size >= 8 else { break }
                let offset = Int(input.u32()) % (size - 7)
                store(input.u64(), at: offset, in: &bytes)
            case 8:  // store an interesting 32-bit value
                guard size >= 4 else { break }
                let offset = Int(input.u32()) % (size - 3)
                let value = input.pick([0, 1, 2, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, 4096, 4095, 40, 10, 64]) as UInt32
                store(UInt64(value), at: offset, in: &bytes, width: 4)
            case 9:  // replace entirely
                bytes = input.take(Int(input.u16()) % 4097)
                sparseSizes[target] = nil
            case 10:  // append a journal page copied from a file of the store
                let source = files[name(input.byte())] ?? []
                let fileID = UInt32(input.byte() % 8)
                let page = Int(input.byte() % 24)
                var entry = [UInt8](repeating: 0, count: Checkpoint.entrySize)
                store(UInt64(fileID), at: 0, in: &entry, width: 4)
                store(UInt64(page), at: 8, in: &entry)
                let from = min(page * 4096, source.count)
                let to = min(from + 4096, source.count)
                entry.replaceSubrange(16..<(16 + to - from), with: source[from..<to])
                if size >= 32 && (size - 32) % Checkpoint.entrySize == 0 {
                    bytes.insert(contentsOf: entry, at: size - 32)  // before the trailer
                } else {
                    bytes += entry
                }
            case 11:  // a symbolic link to another file of the store
                symlinks[target] = name(input.byte())
                continue
            default:  // a copy of another file
                let source = name(input.byte())
                bytes = files[source] ?? []
                sparseSizes[target] = sparseSizes[source]
            }
            files[target] = bytes
            FuzzEnvironment.trace("  -> \(target) now \(bytes.count) bytes, size \(self.size(target))")
        }
    }

    /// Re-stamps every checksum: the manifest's, each index and heap header's, each log
    /// segment's header and records', and the journal trailer.
    mutating func reseal() {
        for (name, var bytes) in files {
            if name == "MANIFEST" && bytes.count >= 16 {
                // The checksum is the last eight bytes, over everything before them.
                stamp(&bytes, at: bytes.count - 8, checksum(bytes, 0..<(bytes.count - 8)))
            } else if name.hasSuffix(".index") && bytes.count >= 4096 {
                stamp(&bytes, at: 32, checksum(bytes, 0..<32))
            } else if (name.hasSuffix(".heap") || name.hasSuffix(".changes")) && bytes.count >= 4096 {
                stamp(&bytes, at: 40, checksum(bytes, 0..<40) ^ checksum(bytes, 48..<4096))
            } else if name.hasPrefix("wal-") && bytes.count >= 4096 {
                resealLog(&bytes)
            } else if name == Checkpoint.journalName {
                resealJournal(&bytes)
            } else {
                continue
            }
            files[name] = bytes
        }
    }

    /// A log segment: the header checksum, then each record's, with its LSN set to its place.
    private func resealLog(_ bytes: inout [UInt8]) {
        stamp(&bytes, at: 32, checksum(bytes, 0..<32))
        let start = load(bytes, at: 16)
        let salt = load(bytes, at: 24)
        var offset = WriteAheadLog.headerSize
        while offset + WriteAheadLog.recordHeaderSize <= bytes.count {
            let length = Int(load(bytes, at: offset, width: 4))
            guard let type = WriteAheadLog.RecordType(rawValue: UInt32(load(bytes, at: offset + 4, width: 4))),
                length <= WriteAheadLog.maxPayload,
                offset + WriteAheadLog.recordHeaderSize + length <= bytes.count
            else { return }
            let lsn = start &+ UInt64(offset - WriteAheadLog.headerSize)
            stamp(&bytes, at: offset + 8, lsn)
            let sum = bytes.withUnsafeBytes { raw in
                WriteAheadLog.checksum(
                    UnsafeRawBufferPointer(rebasing: raw[(offset + WriteAheadLog.recordHeaderSize)..<(offset + WriteAheadLog.recordHeaderSize + length)]),
                    lsn: lsn, salt: salt, type: type)
            }
            stamp(&bytes, at: offset + 16, sum)
            offset += WriteAheadLog.recordHeaderSize + ((length + 7) & ~7)
        }
    }

    /// The journal: whole entries, then a trailer with the right magic, count and checksum.
    private func resealJournal(_ bytes: inout [UInt8]) {
        var lsn: UInt64 = 0
        if bytes.count >= 32 && (bytes.count - 32) % Checkpoint.entrySize == 0 {
            lsn = load(bytes, at: bytes.count - 24)
            bytes.removeLast(32)
        }
        bytes.removeLast(bytes.count % Checkpoint.entrySize)
        let count = bytes.count / Checkpoint.entrySize
        var sum: UInt64 = 0
        bytes.withUnsafeBytes { raw in
            for i in 0..<count {
                let entry = UnsafeRawBufferPointer(rebasing: raw[(i * Checkpoint.entrySize)..<((i + 1) * Checkpoint.entrySize)])
                sum = mix64(sum ^ hash64(entry))
            }
        }
        var trailer = [UInt8](repeating: 0, count: 32)
        stamp(&trailer, at: 0, Checkpoint.trailerMagic)
        stamp(&trailer, at: 8, lsn)
        stamp(&trailer, at: 16, UInt64(count))
        stamp(&trailer, at: 24, sum)
        bytes += trailer
    }

    private func checksum(_ bytes: [UInt8], _ range: Range<Int>) -> UInt64 {
        bytes.withUnsafeBytes { hash64(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    private func stamp(_ bytes: inout [UInt8], at offset: Int, _ value: UInt64) {
        store(value, at: offset, in: &bytes)
    }
}

/// Stores the low `width` bytes of `value` little-endian at `offset`.
func store(_ value: UInt64, at offset: Int, in bytes: inout [UInt8], width: Int = 8) {
    for i in 0..<width where offset + i < bytes.count { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
}

/// Loads `width` bytes little-endian at `offset` (zeros past the end).
func load(_ bytes: [UInt8], at offset: Int, width: Int = 8) -> UInt64 {
    var value: UInt64 = 0
    for i in 0..<width where offset + i < bytes.count { value |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
    return value
}
