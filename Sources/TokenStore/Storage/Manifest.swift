/// The store's manifest: format version, shard count, the last checkpoint and which shards
/// have files, in one checksummed file replaced atomically (write, fsync, rename, fsync
/// directory).
///
/// Layout: `magic "TSMANIFS" | u32 format | u32 shards | u64 checkpoint LSN |
/// i64 checkpoint time | i64 created time | u8 quarantine | u8 log flags | u16 changelog limit |
/// u32 tombstone retention (seconds) | u64 log salt | u32 checkpoint's offset in its segment |
/// 4 reserved | shard bitmap | u64 checksum`, 80 bytes for up to 64 shards. The bitmap has
/// one bit per shard (bit `n % 8` of byte `n / 8`), at least 8 bytes and a multiple of 8:
/// a set bit says a checkpoint created the shard's files, which must exist from then on; a
/// clear one says no checkpoint wrote the shard, which is empty and has no files (a shard's
/// files appear with the first checkpoint that finds it written). Format 2's manifest was 64
/// bytes and format 3's 72, without the bitmap; they are read only to refuse their version
/// by name. The options that change what a logged write does are fixed at creation, so that
/// replay does exactly what the live write did.
///
/// The log fields say which log recovery needs, so that a removed or replaced segment is
/// corruption rather than an empty log. Flag bit 0: the store has created its log, so the
/// segment holding the checkpoint LSN must exist. Bit 1: the log salt is that segment's.
/// Manifests written before these fields hold zeros there, read as "not recorded"; the first
/// open records them. A checkpoint lies anywhere in a segment (it does not start one, which
/// would put file creation and syncs inside its pause); the offset names the segment.
struct Manifest: Equatable {
    static let magic: UInt64 = 0x5346_494E_414D_5354  // "TSMANIFS"
    /// The fields before the bitmap.
    static let fixedSize = 64
    /// The sizes of formats 2 and 3: read only to refuse the version by name.
    static let legacySizes = [64, 72]
    static let name = "MANIFEST"
    /// The largest manifest: 4096 shards.
    static let maxSize = size(shards: 4096)

    /// The bitmap's bytes for `shards` shards.
    static func bitmapSize(shards: Int) -> Int { max(8, (shards + 63) / 64 * 8) }

    /// The manifest's size for `shards` shards.
    static func size(shards: Int) -> Int { fixedSize + bitmapSize(shards: shards) + 8 }

    /// This manifest's size.
    var size: Int { Manifest.size(shards: shards) }

    var formatVersion: UInt32 = TokenStore.formatVersion
    var shards: Int
    /// Where recovery starts: a record boundary in the segment at `checkpointSegmentStart`.
    var checkpointLSN: UInt64 = 0 {
        // The salt and the segment belong to the old checkpoint until told otherwise.
        didSet {
            if checkpointLSN != oldValue {
                logSalt = nil
                checkpointSegmentStart = checkpointLSN
            }
        }
    }
    /// The start of the log segment holding `checkpointLSN`, at most one segment before it.
    var checkpointSegmentStart: UInt64 = 0
    var checkpointAt: Int64 = 0
    var createdAt: Int64 = 0
    var quarantineMisconfigured = false
    var changelogLimit = 64
    /// How long a removal's tombstone holds, in milliseconds of event time (whole seconds).
    var tombstoneRetention: Int64 = StoreOptions.defaultTombstoneRetention
    /// Whether the store has created its log: from then on it must exist.
    var logCreated = false
    /// The salt of the segment at `checkpointSegmentStart`, when recorded.
    var logSalt: UInt64?
    /// The shards whose files a checkpoint created, one bit each, 64 to a word.
    var shardFiles: [UInt64] = []

    /// Whether shard `n` has files.
    func hasFiles(_ n: Int) -> Bool { n / 64 < shardFiles.count && shardFiles[n / 64] & (1 << UInt64(n % 64)) != 0 }

    /// Records that shard `n` has files.
    mutating func setHasFiles(_ n: Int) {
        while shardFiles.count <= n / 64 { shardFiles.append(0) }
        shardFiles[n / 64] |= 1 << UInt64(n % 64)
    }

    static func == (a: Manifest, b: Manifest) -> Bool {
        // The bitmap compares by its bits: trailing zero words say nothing.
        func bits(_ m: Manifest) -> [UInt64] {
            var words = m.shardFiles
            while words.last == 0 { words.removeLast() }
            return words
        }
        return a.formatVersion == b.formatVersion && a.shards == b.shards && a.checkpointLSN == b.checkpointLSN
            && a.checkpointSegmentStart == b.checkpointSegmentStart && a.checkpointAt == b.checkpointAt
            && a.createdAt == b.createdAt && a.quarantineMisconfigured == b.quarantineMisconfigured
            && a.changelogLimit == b.changelogLimit && a.tombstoneRetention == b.tombstoneRetention
            && a.logCreated == b.logCreated && a.logSalt == b.logSalt && bits(a) == bits(b)
    }

    static let logCreatedFlag: UInt8 = 1
    static let logSaltFlag: UInt8 = 2

    func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        bytes.withUnsafeMutableBytes { b in
            b.storeBytes(of: Manifest.magic, toByteOffset: 0, as: UInt64.self)
            b.storeBytes(of: formatVersion, toByteOffset: 8, as: UInt32.self)
            b.storeBytes(of: UInt32(shards), toByteOffset: 12, as: UInt32.self)
            b.storeBytes(of: checkpointLSN, toByteOffset: 16, as: UInt64.self)
            b.storeBytes(of: checkpointAt, toByteOffset: 24, as: Int64.self)
            b.storeBytes(of: createdAt, toByteOffset: 32, as: Int64.self)
            b.storeBytes(of: UInt8(quarantineMisconfigured ? 1 : 0), toByteOffset: 40, as: UInt8.self)
            let flags = (logCreated ? Manifest.logCreatedFlag : 0) | (logSalt != nil ? Manifest.logSaltFlag : 0)
            b.storeBytes(of: flags, toByteOffset: 41, as: UInt8.self)
            b.storeBytes(of: logSalt ?? 0, toByteOffset: 48, as: UInt64.self)
            b.storeBytes(of: UInt16(clamping: changelogLimit), toByteOffset: 42, as: UInt16.self)
            b.storeBytes(of: UInt32(clamping: tombstoneRetention / 1000), toByteOffset: 44, as: UInt32.self)
            b.storeBytes(of: UInt32(checkpointLSN - checkpointSegmentStart), toByteOffset: 56, as: UInt32.self)
            for n in 0..<shards where hasFiles(n) { b[Manifest.fixedSize + n / 8] |= 1 << UInt8(n % 8) }
            let sum = b.count - 8
            b.storeBytes(of: hash64(UnsafeRawBufferPointer(rebasing: b[0..<sum])), toByteOffset: sum, as: UInt64.self)
        }
        return bytes
    }

    /// Decodes and checks a manifest; unknown versions fail with `versionMismatch`.
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(TokenStoreError) -> Manifest {
        // The size is checked against the shard count once the version is known to be this
        // one: an older format's smaller manifest must reach its version check.
        guard bytes.count >= legacySizes.min()!, bytes.count <= maxSize, bytes.count % 8 == 0,
            bytes.loadUnaligned(as: UInt64.self) == magic
        else {
            throw TokenStoreError(.corrupt, "\(name): not a TokenStore manifest")
        }
        let sum = bytes.count - 8
        guard bytes.loadUnaligned(fromByteOffset: sum, as: UInt64.self) == hash64(UnsafeRawBufferPointer(rebasing: bytes[0..<sum]))
        else { throw TokenStoreError(.corrupt, "\(name): checksum mismatch") }
        let version = bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
        // Any other version, an older one's size or not: its checksum held, so it is a real
        // manifest this library cannot read.
        guard version == TokenStore.formatVersion else {
            throw TokenStoreError(.versionMismatch, "\(name): format version \(version), this library reads \(TokenStore.formatVersion); dump the store with the release that wrote it and load the dump with this one")
        }
        let shards = Int(bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        guard shards >= 1, shards <= 4096, shards & (shards - 1) == 0 else {
            throw TokenStoreError(.corrupt, "\(name): shard count \(shards) is not a power of two in 1...4096")
        }
        guard bytes.count == size(shards: shards) else {
            throw TokenStoreError(.corrupt, "\(name): \(bytes.count) bytes, expected \(size(shards: shards)) for \(shards) shards")
        }
        var shardFiles = [UInt64](repeating: 0, count: (shards + 63) / 64)
        for i in 0..<bitmapSize(shards: shards) {
            let byte = bytes[fixedSize + i]
            for bit in 0..<8 where byte & (1 << UInt8(bit)) != 0 {
                let n = i * 8 + bit
                guard n < shards else { throw TokenStoreError(.corrupt, "\(name): lists shard \(n) of \(shards)") }
                shardFiles[n / 64] |= 1 << UInt64(n % 64)
            }
        }
        let limit = Int(bytes.loadUnaligned(fromByteOffset: 42, as: UInt16.self))
        guard limit >= 1, limit <= 4096 else {
            throw TokenStoreError(.corrupt, "\(name): changelog limit \(limit) out of range")
        }
        let retentionSeconds = bytes.loadUnaligned(fromByteOffset: 44, as: UInt32.self)
        guard retentionSeconds >= 1 else { throw TokenStoreError(.corrupt, "\(name): tombstone retention of 0 seconds") }
        let flags = bytes[41]
        guard flags & ~(logCreatedFlag | logSaltFlag) == 0, flags & logSaltFlag == 0 || flags & logCreatedFlag != 0 else {
            throw TokenStoreError(.corrupt, "\(name): unknown log flags \(flags)")
        }
        let checkpointLSN = bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
        let offset = UInt64(bytes.loadUnaligned(fromByteOffset: 56, as: UInt32.self))
        guard offset <= checkpointLSN, offset <= UInt64(WriteAheadLog.maxSegmentSize - WriteAheadLog.headerSize) else {
            throw TokenStoreError(.corrupt, "\(name): checkpoint offset \(offset) lies outside a log segment")
        }
        return Manifest(
            formatVersion: version, shards: shards,
            checkpointLSN: checkpointLSN, checkpointSegmentStart: checkpointLSN - offset,
            checkpointAt: bytes.loadUnaligned(fromByteOffset: 24, as: Int64.self),
            createdAt: bytes.loadUnaligned(fromByteOffset: 32, as: Int64.self),
            quarantineMisconfigured: bytes[40] != 0, changelogLimit: limit,
            tombstoneRetention: Int64(retentionSeconds) * 1000,
            logCreated: flags & logCreatedFlag != 0,
            logSalt: flags & logSaltFlag != 0 ? bytes.loadUnaligned(fromByteOffset: 48, as: UInt64.self) : nil,
            shardFiles: shardFiles)
    }

    /// Reads the manifest in `directory`; `nil` when there is none (a new store).
    static func read(directory: String) throws(TokenStoreError) -> Manifest? {
        let file: FileDescriptor
        do throws(SystemError) {
            file = try FileDescriptor.open(directory + "/" + name, name: name, create: false)
        } catch {
            if error.errno == 2 { return nil }  // ENOENT
            throw error.storeError
        }
        defer { file.close() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: maxSize + 1, alignment: 8)
        defer { buffer.deallocate() }
        let n: Int
        do throws(SystemError) {
            try StoreDirectory.checkOwnership(file)
            n = try file.read(into: buffer, at: 0)
        } catch { throw error.storeError }
        guard n >= legacySizes.min()!, n <= maxSize, n % 8 == 0 else {
            throw TokenStoreError(.corrupt, "\(name): \(n) bytes, not the size of a manifest")
        }
        return try decode(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
    }

    /// Replaces the manifest atomically and durably.
    func write(directory: String) throws(SystemError) {
        let temp = directory + "/" + Manifest.name + ".tmp"
        let file = try FileDescriptor.open(temp, name: Manifest.name + ".tmp", create: true)
        defer { file.close() }
        try file.truncate(to: 0)
        let bytes = encoded()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 8)
        defer { buffer.deallocate() }
        buffer.copyBytes(from: bytes)
        try file.write(UnsafeRawBufferPointer(buffer), at: 0)
        try file.sync()
        guard SystemCalls.current.rename(temp, directory + "/" + Manifest.name) == 0 else {
            throw SystemError(errno: lastErrno(), operation: "rename", file: Manifest.name)
        }
        try syncDirectory(directory)
    }
}
