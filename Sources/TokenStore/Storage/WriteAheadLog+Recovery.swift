#if canImport(Glibc)
import Glibc
#endif

extension WriteAheadLog {
    /// Opens the log after a clean close or a crash: replays every valid record from
    /// `checkpointLSN` on, then positions appends at the end of that valid prefix.
    ///
    /// The log ends at the first record whose length, LSN or checksum is wrong, which is
    /// where a torn write or a power loss cut it. Everything after that point is erased, so
    /// that no stale record of an older generation can ever be replayed later.
    static func open(
        directory: String, names: [String], from checkpointLSN: UInt64,
        replay: (UnsafeRawBufferPointer) throws(TokenStoreError) -> Void
    ) throws(TokenStoreError) -> WriteAheadLog {
        var starts: [UInt64] = []
        for name in names where name.hasPrefix("wal-") && name.hasSuffix(".log") && name.utf8.count == 24 {
            if let lsn = UInt64(name.dropFirst(4).dropLast(4), radix: 16) { starts.append(lsn) }
        }
        starts.sort()
        guard let first = starts.last(where: { $0 <= checkpointLSN }) else {
            if checkpointLSN == 0 && starts.isEmpty {
                do throws(SystemError) {
                    return WriteAheadLog(
                        directory: directory, segment: try createSegment(directory: directory, startLSN: 0),
                        endLSN: 0)
                } catch { throw error.storeError }
            }
            throw TokenStoreError(.corrupt, "\(fileName(checkpointLSN)): write-ahead log segment missing")
        }
        guard checkpointLSN - first <= UInt64(segmentSize - headerSize) else {
            throw TokenStoreError(.corrupt, "MANIFEST: its checkpoint lies beyond the write-ahead log")
        }
        guard var segment = try mapSegment(directory: directory, startLSN: first) else {
            throw TokenStoreError(.corrupt, "\(fileName(first)): bad segment header")
        }
        var position = checkpointLSN
        scan: while true {
            let offset = headerSize + Int(position - segment.startLSN)
            guard offset + recordHeaderSize <= segmentSize else { break }
            let record = UnsafeRawPointer(segment.base + offset)
            let length = Int(record.loadUnaligned(as: UInt32.self))
            let rawType = record.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
            let lsn = record.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            let sum = record.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
            let padded = (length + 7) & ~7
            guard lsn == position, let type = RecordType(rawValue: rawType), length <= maxPayload,
                offset + recordHeaderSize + padded <= segmentSize
            else { break }
            let payload = UnsafeRawBufferPointer(start: record + recordHeaderSize, count: length)
            guard checksum(payload, lsn: lsn, salt: segment.salt, type: type) == sum else { break }
            switch type {
            case .operation:
                do {
                    try replay(payload)
                } catch let error where [.invalidArgument, .tooLarge].contains(error.code) || error.detail.hasPrefix("write-ahead log") {
                    // The record itself is bad: name the segment.
                    throw TokenStoreError(
                        .corrupt, "\(fileName(segment.startLSN)): logged operation at \(position) cannot be applied (\(error.code))")
                }
                position += UInt64(recordHeaderSize + padded)
            case .endOfSegment:
                // The marker is written only once the next segment's header is on disk, so a
                // missing or unreadable next segment is damage, not a crash artifact.
                let nextStart = position + UInt64(recordHeaderSize)
                guard starts.contains(nextStart), let next = try mapSegment(directory: directory, startLSN: nextStart) else {
                    throw TokenStoreError(.corrupt, "\(fileName(nextStart)): missing or damaged, though the log continues in it")
                }
                segment = next
                position = nextStart
            }
        }
        // The scan stopped at damage. Before the segment's synced mark that is corruption of
        // acknowledged, forced records, not a torn tail: refuse rather than erase them.
        if position < segment.syncedMark {
            throw TokenStoreError(.corrupt, "\(fileName(segment.startLSN)): damaged before its last synced record")
        }
        do throws(SystemError) {
            try erase(segment, from: position)
            for start in starts where start > segment.startLSN || start < first {
                _ = SystemCalls.current.unlink(directory + "/" + fileName(start))
            }
        } catch { throw error.storeError }
        return WriteAheadLog(directory: directory, segment: segment, endLSN: position)
    }

    /// Maps an existing segment and checks its header; `nil` when the header is not one.
    private static func mapSegment(directory: String, startLSN: UInt64) throws(TokenStoreError) -> Segment? {
        let name = fileName(startLSN)
        let file: FileDescriptor
        let size: Int
        do throws(SystemError) {
            file = try FileDescriptor.open(directory + "/" + name, name: name, create: false)
        } catch { throw error.storeError }
        do throws(SystemError) {
            try StoreDirectory.checkOwnership(file)
            size = try file.size()
        } catch {
            file.close()
            throw error.storeError
        }
        // Segments are created at full size before anything is written to them, so a short
        // one lost acknowledged records: refuse it rather than read its end as the log's.
        guard size >= segmentSize else {
            file.close()
            throw TokenStoreError(.corrupt, "\(name): truncated")
        }
        guard let base = SystemCalls.current.mmap(segmentSize, PROT_READ | PROT_WRITE, MAP_SHARED, file.raw) else {
            let e = SystemError(errno: errno, operation: "mmap", file: name)
            file.close()
            throw e.storeError
        }
        let header = UnsafeRawPointer(base)
        let salt = header.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
        let valid =
            header.loadUnaligned(as: UInt64.self) == magic
            && header.loadUnaligned(fromByteOffset: 8, as: UInt32.self) == TokenStore.formatVersion
            && header.loadUnaligned(fromByteOffset: 16, as: UInt64.self) == startLSN
            && header.loadUnaligned(fromByteOffset: 32, as: UInt64.self)
                == hash64(UnsafeRawBufferPointer(start: header, count: 32))
        let segment = Segment(file: file, base: base, startLSN: startLSN, salt: salt)
        return valid ? segment : nil
    }

    /// Whether every byte is zero, eight at a time.
    private static func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        var acc: UInt64 = 0
        while i + 8 <= bytes.count {
            acc |= bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < bytes.count {
            acc |= UInt64(bytes[i])
            i += 1
        }
        return acc == 0
    }

    /// Zeroes every page of the segment past `position` that holds anything, and forces it.
    private static func erase(_ segment: Segment, from position: UInt64) throws(SystemError) {
        let start = headerSize + Int(position - segment.startLSN)
        // Zero the rest of the page holding `start`, then whole pages that are not already zero.
        let firstPage = start & ~(MappedFile.pageSize - 1)
        var page = firstPage
        var low = Int.max, high = 0
        while page < segmentSize {
            let from = max(page, start)
            let to = page + MappedFile.pageSize
            let bytes = UnsafeMutableRawBufferPointer(start: segment.base + from, count: to - from)
            if !isZero(UnsafeRawBufferPointer(bytes)) {
                bytes.initializeMemory(as: UInt8.self, repeating: 0)
                low = min(low, page)
                high = to
            }
            page = to
        }
        if low < high, SystemCalls.current.msync(segment.base + low, high - low, MS_SYNC) != 0 {
            throw SystemError(errno: errno, operation: "msync", file: segment.file.name)
        }
    }
}
