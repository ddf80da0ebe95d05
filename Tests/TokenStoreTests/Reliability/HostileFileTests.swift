import Foundation
import Testing
@testable import TokenStore

#if canImport(Glibc)
import Glibc
#endif

/// Hostile files (issue 7): files crafted with valid checksums (the checksums are not secret)
/// but impossible contents. Each store is opened by `tokenstore-torture-writer probe` in a
/// child process, so that a crash shows as a signal instead of ending the test run. Each must
/// be refused with `corrupt` naming the file, never a crash, a hang or a huge allocation.
@Suite struct HostileFileTests {
    struct Probe {
        var signal: Int32?
        var timedOut = false
        var lines: [String] = []
        var stderr = ""

        var openError: (code: Int32, detail: String)? {
            guard let l = lines.first(where: { $0.hasPrefix("OPEN\terror") }) else { return nil }
            let f = l.split(separator: "\t", maxSplits: 3).map(String.init)
            return f.count >= 4 ? (Int32(f[2]) ?? 0, f[3]) : nil
        }
        var summary: String {
            if timedOut { return "hung (killed after the timeout)" }
            if let signal { return "crashed with signal \(signal): \(stderr.suffix(300))" }
            return lines.joined(separator: " | ")
        }
    }

    /// Writes `files` into a fresh directory and probes it in a child process.
    static func probe(_ files: [String: Data]) throws -> Probe {
        let writer = try #require(TortureWriterBinary.path, "build tokenstore-torture-writer first (swift build)")
        let dir = ScratchDirectory("hostile")
        let store = dir.sub("store")
        mkdir(store, 0o700)
        for (name, data) in files { try writeFile(store + "/" + name, data) }
        let child = try ChildProcess(writer, ["probe", "--store", store], stderrPath: dir.sub("stderr"))
        var probe = Probe()
        probe.timedOut = !child.runToCompletion(timeout: 60_000)
        probe.signal = child.signal
        probe.lines = child.lines.map(String.init)
        probe.stderr = child.stderr
        return probe
    }

    /// Expects the probe to have refused the store with `corrupt` naming `file`.
    static func expectRefused(_ p: Probe, naming file: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!p.timedOut && p.signal == nil, "\(p.summary)", sourceLocation: sourceLocation)
        guard let e = p.openError else {
            Issue.record("opened instead of refusing: \(p.summary)", sourceLocation: sourceLocation)
            return
        }
        #expect(e.code == TokenStoreError.Code.corrupt.rawValue && e.detail.contains(file), "\(p.summary)", sourceLocation: sourceLocation)
        for marker in ["tok-", "dev-", "user-"] { #expect(!e.detail.contains(marker), sourceLocation: sourceLocation) }
    }

    static var reference: CorruptionReference.Built { get throws { try CorruptionTests.afterWrites.get() } }

    // MARK: Crafting

    /// A checkpoint journal with one entry for `fileID` at `page`, sealed with a valid trailer.
    static func journal(fileID: UInt32, page: UInt64, lsn: UInt64) -> Data {
        var entry = [UInt8](repeating: 0xAB, count: Checkpoint.entrySize)
        entry.withUnsafeMutableBytes { b in
            b.storeBytes(of: fileID, toByteOffset: 0, as: UInt32.self)
            b.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
            b.storeBytes(of: page, toByteOffset: 8, as: UInt64.self)
        }
        let sum = entry.withUnsafeBytes { mix64(0 ^ hash64($0)) }
        var trailer: (UInt64, UInt64, UInt64, UInt64) = (Checkpoint.trailerMagic, lsn, 1, sum)
        return Data(entry) + withUnsafeBytes(of: &trailer) { Data($0) }
    }

    static func manifest(of files: [String: Data]) throws -> Manifest {
        try files["MANIFEST"]!.withUnsafeBytes { try Manifest.decode($0) }
    }

    /// The reference's log segment, and where its valid records end.
    static func logEnd(_ files: [String: Data]) throws -> (name: String, start: UInt64, salt: UInt64, end: UInt64) {
        let name = try #require(files.keys.filter { $0.hasPrefix("wal-") }.max())
        let start = try #require(UInt64(name.dropFirst(4).dropLast(4), radix: 16))
        let data = files[name]!
        return data.withUnsafeBytes { raw in
            let salt = raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
            var position = start
            while true {
                let offset = WriteAheadLog.headerSize + Int(position - start)
                guard offset + WriteAheadLog.recordHeaderSize <= raw.count else { break }
                let length = Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                let lsn = raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
                guard lsn == position, length > 0, offset + WriteAheadLog.recordHeaderSize + length <= raw.count else { break }
                position += UInt64(WriteAheadLog.recordHeaderSize + ((length + 7) & ~7))
            }
            return (name, start, salt, position)
        }
    }

    /// Appends an operation record with a valid checksum at the log's end.
    static func appendingRecord(_ files: [String: Data], _ op: LoggedOperation) throws -> [String: Data] {
        var files = files
        let (name, start, salt, end) = try logEnd(files)
        var payload = [UInt8](repeating: 0, count: op.encodedLength)
        payload.withUnsafeMutableBytes { op.encode(into: $0) }
        let padded = (payload.count + 7) & ~7
        var record = [UInt8](repeating: 0, count: WriteAheadLog.recordHeaderSize + padded)
        record.withUnsafeMutableBytes { b in
            b.storeBytes(of: UInt32(payload.count), toByteOffset: 0, as: UInt32.self)
            b.storeBytes(of: WriteAheadLog.RecordType.operation.rawValue, toByteOffset: 4, as: UInt32.self)
            b.storeBytes(of: end, toByteOffset: 8, as: UInt64.self)
            let sum = payload.withUnsafeBytes { WriteAheadLog.checksum($0, lsn: end, salt: salt, type: .operation) }
            b.storeBytes(of: sum, toByteOffset: 16, as: UInt64.self)
            for (i, byte) in payload.enumerated() { b[WriteAheadLog.recordHeaderSize + i] = byte }
        }
        var data = files[name]!
        let offset = WriteAheadLog.headerSize + Int(end - start)
        data.replaceSubrange(offset..<(offset + record.count), with: record)
        files[name] = data
        return files
    }

    // MARK: Cases

    @Test(

        arguments: [UInt64(1) << 60, UInt64(1) << 63 | 5, UInt64(1) << 28])
    func aJournalNamingAnAbsurdPageIsRefused(_ page: UInt64) throws {
        var files = try HostileFileTests.reference.files
        let lsn = try HostileFileTests.manifest(of: files).checkpointLSN + 1
        files[Checkpoint.journalName] = HostileFileTests.journal(fileID: 1, page: page, lsn: lsn)
        HostileFileTests.expectRefused(try HostileFileTests.probe(files), naming: Checkpoint.journalName)
    }

    @Test func aJournalNamingAFileOfAMissingShardIsRefused() throws {
        var files = try HostileFileTests.reference.files
        let lsn = try HostileFileTests.manifest(of: files).checkpointLSN + 1
        files[Checkpoint.journalName] = HostileFileTests.journal(fileID: 4095 * 3, page: 1, lsn: lsn)
        HostileFileTests.expectRefused(try HostileFileTests.probe(files), naming: Checkpoint.journalName)
    }

    @Test(

        arguments: [UInt64(1) << 62, UInt64.max - 4096, UInt64(1) << 40])
    func aManifestWhoseCheckpointIsBeyondTheLogIsRefused(_ lsn: UInt64) throws {
        var files = try HostileFileTests.reference.files
        var m = try HostileFileTests.manifest(of: files)
        m.checkpointLSN = lsn
        files["MANIFEST"] = Data(m.encoded())
        HostileFileTests.expectRefused(try HostileFileTests.probe(files), naming: "MANIFEST")
    }

    /// A logged register whose platform byte no API call can produce.
    @Test
    func aLogRecordWithAnImpossibleOperationIsRefused() throws {
        let files = try HostileFileTests.reference.files
        let crafted: [String: Data] = try ["dev-x", "app", "tok-x", "user-x"].map { Array($0.utf8) }.withStringBuffers { s in
            var op = LoggedOperation(code: .register, a: 9, b: 1, c: 1, at: 5)
            (op.s0, op.s1, op.s2, op.s3) = (s[0], s[1], s[2], s[3])
            return try HostileFileTests.appendingRecord(files, op)
        }
        let (name, _, _, _) = try HostileFileTests.logEnd(files)
        HostileFileTests.expectRefused(try HostileFileTests.probe(crafted), naming: name)
    }

    /// A logged register with an empty device id and a token over the documented limit.
    @Test
    func aLogRecordWithArgumentsTheAPIRefusesIsRefused() throws {
        let files = try HostileFileTests.reference.files
        let crafted: [String: Data] = try ["", "app", String(repeating: "t", count: 9_000), "user-x"].map { Array($0.utf8) }
            .withStringBuffers { s in
                var op = LoggedOperation(code: .register, a: 1, b: 1, c: 1, at: 5)
                (op.s0, op.s1, op.s2, op.s3) = (s[0], s[1], s[2], s[3])
                return try HostileFileTests.appendingRecord(files, op)
            }
        let (name, _, _, _) = try HostileFileTests.logEnd(files)
        HostileFileTests.expectRefused(try HostileFileTests.probe(crafted), naming: name)
    }

    /// An index header with a valid checksum but a capacity its file cannot hold.
    @Test func anIndexHeaderWithAnImpossibleCapacityIsRefused() throws {
        var files = try HostileFileTests.reference.files
        var index = files["shard-0000.index"]!
        index.withUnsafeMutableBytes { b in
            b.storeBytes(of: UInt32(40), toByteOffset: 16, as: UInt32.self)
            b.storeBytes(of: hash64(UnsafeRawBufferPointer(rebasing: b[0..<32])), toByteOffset: 32, as: UInt64.self)
        }
        files["shard-0000.index"] = index
        HostileFileTests.expectRefused(try HostileFileTests.probe(files), naming: "shard-0000.index")
    }
}

extension Array where Element == [UInt8] {
    /// Calls `body` with a raw buffer over each byte array.
    func withStringBuffers<R>(_ body: ([UnsafeRawBufferPointer]) throws -> R) rethrows -> R {
        var buffers: [UnsafeRawBufferPointer] = []
        let copies = map { bytes -> UnsafeMutableRawBufferPointer in
            let p = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(1, bytes.count), alignment: 1)
            p.copyBytes(from: bytes)
            buffers.append(UnsafeRawBufferPointer(rebasing: p[0..<bytes.count]))
            return p
        }
        defer { copies.forEach { $0.deallocate() } }
        return try body(buffers)
    }
}
