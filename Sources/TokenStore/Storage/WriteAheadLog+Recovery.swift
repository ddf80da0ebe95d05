#if canImport(Glibc)
import Glibc
#endif

/// What recovery dropped from a damaged log, when the open asked it to
/// (`StoreOptions.dropDamagedLog`).
struct DroppedRecords: Equatable {
    /// The damage, in the words the open would have refused it with.
    var reason: String
    /// Log positions from the damage to the end of the last valid record found after it (or
    /// to the segment's synced mark, when that lies further).
    var positions: Range<UInt64>
    /// Valid operations found after the damage, dropped with it. The damaged records
    /// themselves cannot be counted.
    var records: Int
    /// False when part of the dropped log could not be read at all (a missing segment, a
    /// damaged header, synced records that are gone): `records` is then a lower bound.
    var countIsExact: Bool
    /// The segment files erased from the damage on, recreated or deleted.
    var files: [String]
}

extension WriteAheadLog {
    /// Opens the log after a clean close or a crash: replays every valid record from the
    /// manifest's checkpoint on, then positions appends at the end of that valid prefix.
    ///
    /// Damage is a torn tail only when nothing valid follows it: then it is erased, so that no
    /// stale record can replay later. Damage followed by a valid record, in the same segment
    /// or a later one, is corruption: the open fails naming the file and the position, unless
    /// `dropDamaged` asks to cut the log there (reported in `dropped`). The one exception is a
    /// power cut's tear: every segment involved was last written before the current boot and
    /// the damage lies past what was synced, so the records after it were never durable.
    ///
    /// A store whose manifest says its log was created needs the segment at the checkpoint,
    /// with the salt the manifest recorded: missing or replaced, the open fails. The manifest
    /// is updated here once the log exists.
    ///
    /// - Parameter inspectDropped: called with each valid operation payload that is dropped.
    /// - Complexity: O(log since the checkpoint), plus one pass over the rest of the last
    ///   segment (zero pages are recognised eight bytes at a time).
    static func open(
        directory: String, names: [String], manifest: inout Manifest, dropDamaged: Bool = false,
        replay: (UnsafeRawBufferPointer) throws(TokenStoreError) -> Void,
        inspectDropped: (UnsafeRawBufferPointer) -> Void = { _ in }
    ) throws(TokenStoreError) -> WriteAheadLog {
        let starts = segmentStarts(in: names)
        // A segment whose creation a crash interrupted, before its header was on disk: it
        // never held a record.
        for name in names where name.hasPrefix("wal-") && name.hasSuffix(".log.tmp") {
            _ = SystemCalls.current.unlink(directory + "/" + name)
        }
        let checkpointLSN = manifest.checkpointLSN
        let boot = SystemCalls.current.bootID()
        var dropped: DroppedRecords?

        var segment: Segment
        switch try startSegment(directory: directory, starts: starts, manifest: manifest) {
        case .open(let s): segment = s
        case .create: segment = try create(directory: directory, startLSN: checkpointLSN, size: firstSegmentSize)
        case .damaged(let reason, let file):
            guard dropDamaged else { throw TokenStoreError(.corrupt, reason + salvageHint) }
            guard checkpointLSN <= maxStartLSN else {
                throw TokenStoreError(.corrupt, "MANIFEST: its checkpoint \(checkpointLSN) lies beyond any log")
            }
            // Nothing from the checkpoint on can be read in order: the shard files hold the
            // state at the checkpoint, and every later segment goes.
            var report = DroppedRecords(
                reason: reason, positions: checkpointLSN..<checkpointLSN, records: 0, countIsExact: false, files: [file])
            try survey(
                after: nil, later: starts.filter { $0 > checkpointLSN }, directory: directory, into: &report,
                inspectDropped)
            segment = try create(directory: directory, startLSN: checkpointLSN, size: firstSegmentSize)
            dropped = report
        }
        let first = segment

        var position = checkpointLSN
        scan: while dropped == nil {
            let offset = headerSize + Int(position - segment.startLSN)
            guard let record = record(in: segment, at: offset) else {
                // Damage: decide between a torn tail and corruption.
                let later = starts.filter { $0 > segment.startLSN }
                let at = "\(fileName(segment.startLSN)): damaged record at position \(position) (file offset \(offset))"
                let evidence = try evidence(after: position, in: segment, later: later, directory: directory)
                var reason: String?
                var exact = true
                if let damaged = evidence.damagedHeader {
                    reason = "\(at), and the later segment \(damaged) has a damaged header"
                    exact = false
                } else if let found = evidence.record {
                    let powerCut =
                        segment.writerBoot != boot && position >= segment.syncedMark && !evidence.synced && !evidence.thisBoot
                    if !powerCut { reason = "\(at), but a valid record follows at position \(found.lsn) in \(found.file)" }
                }
                if reason == nil && position < segment.syncedMark {
                    reason = "\(at), before its last synced record (position \(segment.syncedMark))"
                    exact = false
                }
                guard let reason else { break scan }  // a torn tail
                guard dropDamaged else { throw TokenStoreError(.corrupt, reason + salvageHint) }
                var report = DroppedRecords(
                    reason: reason, positions: position..<position, records: 0, countIsExact: exact,
                    files: [fileName(segment.startLSN)])
                try survey(after: (segment, position), later: later, directory: directory, into: &report, inspectDropped)
                dropped = report
                break scan
            }
            switch record.type {
            case .operation:
                do {
                    try replay(record.payload)
                } catch let error where [.invalidArgument, .tooLarge].contains(error.code) || error.detail.hasPrefix("write-ahead log") {
                    // The record itself is bad: name the segment.
                    throw TokenStoreError(
                        .corrupt, "\(fileName(segment.startLSN)): logged operation at \(position) cannot be applied (\(error.code))")
                }
                position += UInt64(record.size)
            case .endOfSegment:
                // The marker is written only once the next segment's header is on disk, so a
                // missing, unreadable or replaced next segment is damage, not a crash artifact.
                let nextStart = position + UInt64(record.size)
                let nextName = fileName(nextStart)
                var problem = "missing"
                if starts.contains(nextStart) {
                    switch try openSegment(directory: directory, startLSN: nextStart) {
                    case .valid(let next):
                        let linked = record.payload.count == 8 ? record.payload.loadUnaligned(as: UInt64.self) : next.salt
                        guard linked != next.salt else {
                            segment = next
                            position = nextStart
                            continue scan
                        }
                        problem = "replaced (its salt is not the one the log links to)"
                    case .blank, .damaged: problem = "damaged"
                    }
                }
                let reason = "\(nextName): \(problem), though the log continues in it from position \(nextStart)"
                guard dropDamaged else { throw TokenStoreError(.corrupt, reason + salvageHint) }
                var report = DroppedRecords(
                    reason: reason, positions: position..<nextStart, records: 0, countIsExact: false,
                    files: [fileName(segment.startLSN)])
                try survey(
                    after: (segment, position), later: starts.filter { $0 > segment.startLSN }, directory: directory,
                    into: &report, inspectDropped)
                dropped = report
                break scan
            }
        }

        // Appends keep room for an end marker; a log whose valid records say otherwise was
        // not written by this library.
        guard position + UInt64(endMarkerSize) <= segment.endLSN else {
            throw TokenStoreError(.corrupt, "\(fileName(segment.startLSN)): its records leave no room to close the segment")
        }
        do throws(SystemError) {
            if segment.readable < segment.size {
                // A truncated segment: grow it back before appending through the mapping.
                try segment.file.allocate(to: segment.size)
                try segment.file.sync()
                segment.readable = segment.size
            }
            try erase(segment, from: position)
            for start in starts where start > segment.startLSN || start < first.startLSN {
                _ = SystemCalls.current.unlink(directory + "/" + fileName(start))
            }
            if dropped != nil { try syncDirectory(directory) }
        } catch { throw error.storeError }
        segment.stampBoot(boot)

        // Record the log the next open needs.
        if first.startLSN <= checkpointLSN {
            var recorded = manifest
            recorded.logCreated = true
            recorded.checkpointSegmentStart = first.startLSN
            recorded.logSalt = first.salt
            if recorded != manifest {
                do throws(SystemError) { try recorded.write(directory: directory) } catch { throw error.storeError }
                manifest = recorded
            }
        }
        return WriteAheadLog(directory: directory, segment: segment, endLSN: position, dropped: dropped)
    }

    /// The highest start a segment may have: far beyond any real log, and low enough that no
    /// position arithmetic on a hostile file's name can overflow.
    static let maxStartLSN = UInt64(Int64.max)

    /// Appended to every refusal that salvage can resolve.
    static let salvageHint = " (`tokenstore recover PATH --drop-damaged-log` drops the log from there on)"

    // MARK: The first segment

    private enum Start {
        case open(Segment)
        case create
        case damaged(String, file: String)
    }

    /// Finds the segment recovery starts in: the one at the checkpoint, as the manifest
    /// describes it.
    private static func startSegment(directory: String, starts: [UInt64], manifest: Manifest) throws(TokenStoreError) -> Start {
        let checkpointLSN = manifest.checkpointLSN
        if manifest.logCreated {
            let start = manifest.checkpointSegmentStart
            let name = fileName(start)
            guard starts.contains(start) else {
                return .damaged("\(name): missing, though MANIFEST needs the log from position \(checkpointLSN)", file: name)
            }
            switch try openSegment(directory: directory, startLSN: start) {
            case .valid(let s):
                if let salt = manifest.logSalt, salt != s.salt {
                    return .damaged("\(name): replaced (its salt is not the one the manifest recorded)", file: name)
                }
                try checkHolds(s, checkpointLSN)
                return .open(s)
            case .blank, .damaged:
                return .damaged("\(name): bad segment header", file: name)
            }
        }
        // A new store whose log is not created yet, or a manifest older than the log fields.
        guard let first = starts.last(where: { $0 <= checkpointLSN }) else {
            if checkpointLSN == 0 && starts.isEmpty { return .create }
            let name = fileName(checkpointLSN)
            return .damaged("\(name): write-ahead log segment missing", file: name)
        }
        guard checkpointLSN - first <= UInt64(maxSegmentSize - headerSize) else {
            throw TokenStoreError(.corrupt, "MANIFEST: its checkpoint lies beyond the write-ahead log")
        }
        switch try openSegment(directory: directory, startLSN: first) {
        case .valid(let s):
            try checkHolds(s, checkpointLSN)
            return .open(s)
        case .blank where checkpointLSN == 0 && starts == [0]:
            // A crash while the new store created its first segment: nothing was written yet.
            return .create
        case .blank, .damaged:
            return .damaged("\(fileName(first)): bad segment header", file: fileName(first))
        }
    }

    /// Refuses a checkpoint that lies past the end of the segment meant to hold it (with room
    /// for the end marker that every segment keeps), which segments of different sizes make
    /// possible for a damaged manifest.
    private static func checkHolds(_ segment: Segment, _ checkpointLSN: UInt64) throws(TokenStoreError) {
        guard checkpointLSN + UInt64(endMarkerSize) <= segment.endLSN else {
            throw TokenStoreError(
                .corrupt,
                "MANIFEST: its checkpoint \(checkpointLSN) lies beyond the end of \(fileName(segment.startLSN)) (\(segment.size) bytes)")
        }
    }

    private static func create(directory: String, startLSN: UInt64, size: Int) throws(TokenStoreError) -> Segment {
        do throws(SystemError) { return try createSegment(directory: directory, startLSN: startLSN, size: size) } catch {
            throw error.storeError
        }
    }

    // MARK: Evidence after damage

    /// What follows a damaged record.
    private struct Evidence {
        /// The first valid record after the damage.
        var record: (file: String, lsn: UInt64)?
        /// A later segment holding valid records has synced some: the damage was durable.
        var synced = false
        /// A later segment holding valid records was written in this boot.
        var thisBoot = false
        /// A later segment whose header is damaged: what it held cannot be checked.
        var damagedHeader: String?
    }

    private static func evidence(
        after position: UInt64, in segment: Segment, later: [UInt64], directory: String
    ) throws(TokenStoreError) -> Evidence {
        var evidence = Evidence()
        let boot = SystemCalls.current.bootID()
        let offset = headerSize + Int(position - segment.startLSN)
        forEachValidRecord(in: segment, from: offset + 8) { r in
            evidence.record = (fileName(segment.startLSN), r.lsn)
            return false
        }
        for start in later {
            switch try openSegment(directory: directory, startLSN: start) {
            case .blank: continue  // a crash while it was created: it never held anything
            case .damaged: evidence.damagedHeader = evidence.damagedHeader ?? fileName(start)
            case .valid(let s):
                var found = false
                forEachValidRecord(in: s, from: headerSize) { r in
                    found = true
                    if evidence.record == nil { evidence.record = (fileName(start), r.lsn) }
                    return false
                }
                if found {
                    if s.writerBoot == boot { evidence.thisBoot = true }
                    if s.syncedMark > s.startLSN { evidence.synced = true }
                }
            }
        }
        return evidence
    }

    /// Counts into `report` what cutting the log at `cut` drops: every valid operation after
    /// it in its segment and in the `later` segments, which are added to the files.
    private static func survey(
        after cut: (segment: Segment, position: UInt64)?, later: [UInt64], directory: String,
        into report: inout DroppedRecords, _ inspect: (UnsafeRawBufferPointer) -> Void
    ) throws(TokenStoreError) {
        var upper = report.positions.upperBound
        func tally(_ r: RecordView) -> Bool {
            if r.type == .operation {
                report.records += 1
                inspect(r.payload)
            }
            upper = max(upper, r.lsn + UInt64(r.size))
            return true
        }
        if let (segment, position) = cut {
            forEachValidRecord(in: segment, from: headerSize + Int(position - segment.startLSN) + 8, tally)
            if position < segment.syncedMark { upper = max(upper, segment.syncedMark) }
        }
        for start in later {
            report.files.append(fileName(start))
            switch try openSegment(directory: directory, startLSN: start) {
            case .blank: break
            case .damaged: report.countIsExact = false
            case .valid(let s):
                forEachValidRecord(in: s, from: headerSize, tally)
                if s.readable < s.size { report.countIsExact = false }
            }
        }
        report.positions = report.positions.lowerBound..<upper
    }

    // MARK: Records

    struct RecordView {
        let type: RecordType
        let lsn: UInt64
        let payload: UnsafeRawBufferPointer
        /// Header and padded payload: the distance to the next record.
        let size: Int
    }

    /// The record at `offset` of the segment file, when its position, type, length and
    /// checksum are all right.
    static func record(in segment: Segment, at offset: Int) -> RecordView? {
        guard offset >= headerSize, offset + recordHeaderSize <= segment.readable else { return nil }
        let p = UnsafeRawPointer(segment.base + offset)
        // The position is where a record is, so that check alone rejects almost every offset.
        let lsn = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        guard lsn == segment.startLSN + UInt64(offset - headerSize) else { return nil }
        let length = Int(p.loadUnaligned(as: UInt32.self))
        let padded = (length + 7) & ~7
        guard let type = RecordType(rawValue: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)), length <= maxPayload,
            offset + recordHeaderSize + padded <= segment.readable
        else { return nil }
        let payload = UnsafeRawBufferPointer(start: p + recordHeaderSize, count: length)
        guard checksum(payload, lsn: lsn, salt: segment.salt, type: type) == p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
        else { return nil }
        return RecordView(type: type, lsn: lsn, payload: payload, size: recordHeaderSize + padded)
    }

    /// Calls `visit` with every valid record at or after `offset`, resynchronising after
    /// damage at every 8-byte position; `visit` returns false to stop. Whole zero pages are
    /// skipped with one pass of loads, so the zero-filled rest of a segment is cheap.
    static func forEachValidRecord(in segment: Segment, from offset: Int, _ visit: (RecordView) -> Bool) {
        let page = MappedFile.pageSize
        var x = (offset + 7) & ~7
        while x + recordHeaderSize <= segment.readable {
            if x & (page - 1) == 0, x + page <= segment.readable,
                isZero(UnsafeRawBufferPointer(start: segment.base + x, count: page))
            {
                x += page
                continue
            }
            if let r = record(in: segment, at: x) {
                guard visit(r) else { return }
                x += r.size
            } else {
                x += 8
            }
        }
    }

    // MARK: Segment files

    enum SegmentFile {
        case valid(Segment)
        /// No header at all: zeros or an empty file, what a crash while creating it leaves.
        case blank
        case damaged
    }

    /// Maps an existing segment and checks its header, which gives the segment's size. A file
    /// shorter than that maps with only its bytes readable: its missing end reads as a torn tail.
    static func openSegment(directory: String, startLSN: UInt64) throws(TokenStoreError) -> SegmentFile {
        guard startLSN <= maxStartLSN else { return .damaged }
        let name = fileName(startLSN)
        let file: FileDescriptor
        let fileSize: Int
        var header: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
        let headerBytes: Int
        do throws(SystemError) {
            file = try FileDescriptor.open(directory + "/" + name, name: name, create: false)
        } catch { throw error.storeError }
        do throws(SystemError) {
            try StoreDirectory.checkOwnership(file)
            fileSize = try file.size()
            headerBytes = try withUnsafeMutableBytes(of: &header) { (b) throws(SystemError) in try file.read(into: b, at: 0) }
        } catch {
            file.close()
            throw error.storeError
        }
        let valid = withUnsafeBytes(of: &header) { h in
            headerBytes >= 40
                && h.loadUnaligned(as: UInt64.self) == magic
                && h.loadUnaligned(fromByteOffset: 8, as: UInt32.self) == TokenStore.formatVersion
                && h.loadUnaligned(fromByteOffset: 16, as: UInt64.self) == startLSN
                && h.loadUnaligned(fromByteOffset: 32, as: UInt64.self) == hash64(UnsafeRawBufferPointer(rebasing: h[0..<32]))
                && isValidSegmentSize(Int(h.loadUnaligned(fromByteOffset: sizeOffset, as: UInt32.self)))
        }
        guard valid else {
            file.close()
            // The header is written and synced before anything else: zeros mean it never was.
            return withUnsafeBytes(of: &header) { isZero(UnsafeRawBufferPointer(rebasing: $0[0..<min(headerBytes, 40)])) } ? .blank : .damaged
        }
        let size = Int(withUnsafeBytes(of: &header) { $0.loadUnaligned(fromByteOffset: sizeOffset, as: UInt32.self) })
        guard let base = SystemCalls.current.mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, file.raw) else {
            let e = SystemError(errno: errno, operation: "mmap", file: name)
            file.close()
            throw e.storeError
        }
        // Only the page holding the end of a short file and those before it may be touched.
        return .valid(Segment(
            file: file, base: base, startLSN: startLSN, salt: header.3, size: size, readable: min(fileSize, size)))
    }

    /// Whether every byte is zero, eight at a time.
    static func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
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
        while page < segment.size {
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
