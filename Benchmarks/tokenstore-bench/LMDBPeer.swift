import Glibc

/// LMDB keeping TokenStore's indexes, as an application would write the domain around it.
///
/// Three databases in one environment (`MDB_NOSYNC`, so a commit writes its pages but never
/// forces them):
/// - `records`: key `device id NUL app id` → record: event time, registration time,
///   platform, authorization, token length, user length (0 = anonymous), token, user;
/// - `tokens`: token → key;
/// - `users` (`MDB_DUPSORT`): user → each of their keys.
///
/// Writes commit every 10,000 operations; gets run in read-only transactions renewed as
/// often. Each call copies what it read before it writes, since a write invalidates the
/// pointers `mdb_get` returned.
final class LMDBPeer: Peer {
    private let lmdb: LMDB
    private var environment: LMDB.Environment?
    private var transaction: LMDB.Transaction?
    private var records: UInt32 = 0, tokens: UInt32 = 0, users: UInt32 = 0
    private var operationsInTransaction = 0
    private var readOnly = false
    /// Operations per transaction.
    static let transactionSize = 10_000

    /// Scratch space: the key being worked on, a second key, a copy of the record being
    /// changed and of the one being deleted.
    private let key = Scratch(capacity: 1024), otherKey = Scratch(capacity: 1024)
    private let record = Scratch(capacity: LMDBPeer.headerSize + 4096 + 512)
    private let removed = Scratch(capacity: LMDBPeer.headerSize + 4096 + 512)

    /// Record layout: event time, registration time (Int64 each), platform, authorization
    /// (UInt8 each), token length, user length (UInt16 each), then the token and user bytes.
    private static let headerSize = 24

    /// Creates the environment in `directory`, sized for `records` records.
    init(library: LMDB, directory: String, records recordCount: Int) {
        lmdb = library
        var environment: LMDB.Environment?
        lmdb.check(lmdb.envCreate(&environment), "mdb_env_create")
        self.environment = environment
        // The map is address space, not memory: the file grows with the pages written.
        lmdb.check(lmdb.envSetMapSize(environment!, max(1 << 30, recordCount * 8192)), "mdb_env_set_mapsize")
        lmdb.check(lmdb.envSetMaxDatabases(environment!, 3), "mdb_env_set_maxdbs")
        lmdb.check(lmdb.envOpen(environment!, directory, LMDB.noSync, 0o644), "mdb_env_open")
        begin(readOnly: false)
        lmdb.check(lmdb.dbiOpen(transaction!, "records", LMDB.create, &records), "mdb_dbi_open records")
        lmdb.check(lmdb.dbiOpen(transaction!, "tokens", LMDB.create, &tokens), "mdb_dbi_open tokens")
        lmdb.check(lmdb.dbiOpen(transaction!, "users", LMDB.create | LMDB.duplicateSort, &users), "mdb_dbi_open users")
        commit()
    }

    func begin(_ phase: PeerPhase) { begin(readOnly: phase == .get) }

    func finish(_ phase: PeerPhase) { commit() }

    func register(_ input: RegisterInput) -> Outcome {
        defer { counted() }
        var keyValue = key.compose(input.deviceID, input.appID)
        var data = MDBValue()
        let existing = found(lmdb.get(transaction!, records, &keyValue, &data), "mdb_get records")
        if existing {
            if input.at < data.bytes.load(as: Int64.self) { return .stale }
            record.copy(data.bytes)
        }
        // A token held by another key moves here: that key's record goes.
        var tokenValue = MDBValue(input.token.bytes)
        var holder = MDBValue()
        var tokenMapped = false
        if found(lmdb.get(transaction!, tokens, &tokenValue, &holder), "mdb_get tokens") {
            if same(holder.bytes, keyValue.bytes) {
                tokenMapped = true
            } else {
                var holderKey = otherKey.set(holder.bytes)
                var holderData = MDBValue()
                if found(lmdb.get(transaction!, records, &holderKey, &holderData), "mdb_get records") {
                    deleteRecord(&holderKey, holderData.bytes)
                }
            }
        }
        let user = input.userID?.bytes
        if existing {
            let oldToken = record.token, oldUser = record.user
            if !same(oldToken, input.token.bytes) { delete(tokens, oldToken, nil) }
            // A registration without a user keeps the owner.
            if let user, oldUser.map({ !same($0, user) }) ?? true {
                if let oldUser { delete(users, oldUser, keyValue.bytes) }
                insert(users, user, keyValue.bytes)
            }
        } else if let user {
            insert(users, user, keyValue.bytes)
        }
        if !tokenMapped { insert(tokens, input.token.bytes, keyValue.bytes) }
        let owner = user ?? (existing ? record.user : nil)
        var recordValue = record.encode(
            eventAt: input.at, registeredAt: input.at, platform: UInt8(input.platform),
            authorization: UInt8(input.authorization), token: input.token.bytes, user: owner)
        lmdb.check(lmdb.put(transaction!, records, &keyValue, &recordValue, 0), "mdb_put records")
        return .applied
    }

    func changeUser(_ input: ChangeUserInput) -> Outcome {
        defer { counted() }
        var keyValue = key.compose(input.deviceID, input.appID)
        var data = MDBValue()
        guard found(lmdb.get(transaction!, records, &keyValue, &data), "mdb_get records") else { return .missing }
        if input.at < data.bytes.load(as: Int64.self) { return .stale }
        record.copy(data.bytes)
        let oldUser = record.user, newUser = input.userID?.bytes
        let unchanged = switch (oldUser, newUser) {
        case (nil, nil): true
        case (let old?, let new?): same(old, new)
        default: false
        }
        if !unchanged {
            if let oldUser { delete(users, oldUser, keyValue.bytes) }
            if let newUser { insert(users, newUser, keyValue.bytes) }
        }
        var recordValue = record.reencode(eventAt: input.at, user: newUser)
        lmdb.check(lmdb.put(transaction!, records, &keyValue, &recordValue, 0), "mdb_put records")
        return .applied
    }

    func bounce(_ input: BounceInput) -> Outcome {
        defer { counted() }
        var tokenValue = MDBValue(input.token.bytes)
        var holder = MDBValue()
        guard found(lmdb.get(transaction!, tokens, &tokenValue, &holder), "mdb_get tokens") else { return .missing }
        var keyValue = key.set(holder.bytes)
        var data = MDBValue()
        guard found(lmdb.get(transaction!, records, &keyValue, &data), "mdb_get records") else {
            fail("LMDB: the token index names a key without a record")
        }
        guard input.removes else { return .kept }
        if input.providerTimestamp != 0, input.providerTimestamp < data.bytes.load(fromByteOffset: 8, as: Int64.self) {
            return .staleBounce
        }
        deleteRecord(&keyValue, data.bytes)
        return .removed
    }

    func get(_ input: GetInput) -> Outcome {
        defer { counted() }
        var keyValue = key.compose(input.deviceID, input.appID)
        var data = MDBValue()
        guard found(lmdb.get(transaction!, records, &keyValue, &data), "mdb_get records") else { return .missing }
        // Read the token's length, as the other peers' gets do.
        let tokenLength = Int(data.bytes.loadUnaligned(fromByteOffset: 18, as: UInt16.self))
        return tokenLength > 0 ? .found : .missing
    }

    func liveTokens() -> Int {
        begin(readOnly: true)
        defer { commit() }
        var recordStat = MDBStat(), tokenStat = MDBStat()
        lmdb.check(lmdb.stat(transaction!, records, &recordStat), "mdb_stat records")
        lmdb.check(lmdb.stat(transaction!, tokens, &tokenStat), "mdb_stat tokens")
        guard recordStat.entries == tokenStat.entries else {
            fail("LMDB: \(recordStat.entries) records but \(tokenStat.entries) token index entries")
        }
        return recordStat.entries
    }

    func close() {
        if transaction != nil { commit() }
        if let environment { lmdb.envClose(environment) }
        environment = nil
    }

    // MARK: Plumbing

    private func begin(readOnly: Bool) {
        self.readOnly = readOnly
        operationsInTransaction = 0
        lmdb.check(lmdb.txnBegin(environment!, nil, readOnly ? LMDB.readOnly : 0, &transaction), "mdb_txn_begin")
    }

    /// Commits a write transaction, or ends a read-only one.
    private func commit() {
        guard let transaction else { return }
        if readOnly {
            lmdb.txnAbort(transaction)
        } else {
            lmdb.check(lmdb.txnCommit(transaction), "mdb_txn_commit")
        }
        self.transaction = nil
    }

    /// Counts an operation; every `transactionSize`-th commits and starts the next transaction.
    @inline(__always)
    private func counted() {
        operationsInTransaction += 1
        if operationsInTransaction == LMDBPeer.transactionSize {
            let readOnly = self.readOnly
            commit()
            begin(readOnly: readOnly)
        }
    }

    /// True for `MDB_SUCCESS`, false for `MDB_NOTFOUND`; any other status fails the run.
    @inline(__always)
    private func found(_ status: Int32, _ operation: StaticString) -> Bool {
        if status == LMDB.notFound { return false }
        lmdb.check(status, operation)
        return true
    }

    private func insert(_ database: UInt32, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        var keyValue = MDBValue(key), data = MDBValue(value)
        lmdb.check(lmdb.put(transaction!, database, &keyValue, &data, 0), "mdb_put")
    }

    /// Deletes `key` (with `value`, for a duplicate-sorted database); it must exist.
    private func delete(_ database: UInt32, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer?) {
        var keyValue = MDBValue(key)
        guard var data = value.map(MDBValue.init) else {
            return lmdb.check(lmdb.del(transaction!, database, &keyValue, nil), "mdb_del")
        }
        lmdb.check(lmdb.del(transaction!, database, &keyValue, &data), "mdb_del")
    }

    /// Deletes the record `data` at `keyValue` with its token and user entries.
    private func deleteRecord(_ keyValue: inout MDBValue, _ data: UnsafeRawBufferPointer) {
        removed.copy(data)
        lmdb.check(lmdb.del(transaction!, records, &keyValue, nil), "mdb_del records")
        delete(tokens, removed.token, nil)
        if let user = removed.user { delete(users, user, keyValue.bytes) }
    }
}

/// Byte equality of two buffers.
@inline(__always)
func same(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
}

/// A fixed buffer the LMDB peer builds keys and records in.
private final class Scratch {
    let base: UnsafeMutableRawPointer
    let capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(byteCount: capacity, alignment: 8)
    }

    deinit { base.deallocate() }

    private var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// `device NUL app`, the primary key.
    @inline(__always)
    func compose(_ device: Text, _ app: Text) -> MDBValue {
        precondition(device.count + 1 + app.count <= capacity, "key too long")
        base.copyMemory(from: device.base, byteCount: device.count)
        base.storeBytes(of: 0, toByteOffset: device.count, as: UInt8.self)
        (base + device.count + 1).copyMemory(from: app.base, byteCount: app.count)
        count = device.count + 1 + app.count
        return MDBValue(bytes)
    }

    /// A copy of `source`.
    @inline(__always)
    func set(_ source: UnsafeRawBufferPointer) -> MDBValue {
        copy(source)
        return MDBValue(bytes)
    }

    /// Copies `source` in (a value LMDB returned, before a write invalidates it).
    @inline(__always)
    func copy(_ source: UnsafeRawBufferPointer) {
        precondition(source.count <= capacity, "value too long")
        if let from = source.baseAddress { base.copyMemory(from: from, byteCount: source.count) }
        count = source.count
    }

    // A record held in the buffer.
    private var tokenLength: Int { Int(base.loadUnaligned(fromByteOffset: 18, as: UInt16.self)) }
    private var userLength: Int { Int(base.loadUnaligned(fromByteOffset: 20, as: UInt16.self)) }

    /// The token of the record in the buffer.
    var token: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base + 24, count: tokenLength) }

    /// The user of the record in the buffer; `nil` when anonymous.
    var user: UnsafeRawBufferPointer? {
        userLength == 0 ? nil : UnsafeRawBufferPointer(start: base + 24 + tokenLength, count: userLength)
    }

    /// Writes a whole record; `user` may point into this buffer.
    func encode(eventAt: Int64, registeredAt: Int64, platform: UInt8, authorization: UInt8,
                token: UnsafeRawBufferPointer, user: UnsafeRawBufferPointer?) -> MDBValue {
        let userCount = user?.count ?? 0
        precondition(24 + token.count + userCount <= capacity, "record too long")
        // The user first, since it may be this buffer's own: move it to its new place.
        if let user, let from = user.baseAddress { memmove(base + 24 + token.count, from, userCount) }
        if let from = token.baseAddress { (base + 24).copyMemory(from: from, byteCount: token.count) }
        base.storeBytes(of: eventAt, as: Int64.self)
        base.storeBytes(of: registeredAt, toByteOffset: 8, as: Int64.self)
        base.storeBytes(of: platform, toByteOffset: 16, as: UInt8.self)
        base.storeBytes(of: authorization, toByteOffset: 17, as: UInt8.self)
        base.storeBytes(of: UInt16(token.count), toByteOffset: 18, as: UInt16.self)
        base.storeBytes(of: UInt16(userCount), toByteOffset: 20, as: UInt16.self)
        base.storeBytes(of: 0, toByteOffset: 22, as: UInt16.self)
        count = 24 + token.count + userCount
        return MDBValue(bytes)
    }

    /// Rewrites the record in the buffer with a new event time and user.
    func reencode(eventAt: Int64, user: UnsafeRawBufferPointer?) -> MDBValue {
        let userCount = user?.count ?? 0
        precondition(24 + tokenLength + userCount <= capacity, "record too long")
        if let user, let from = user.baseAddress { memmove(base + 24 + tokenLength, from, userCount) }
        base.storeBytes(of: eventAt, as: Int64.self)
        base.storeBytes(of: UInt16(userCount), toByteOffset: 20, as: UInt16.self)
        count = 24 + tokenLength + userCount
        return MDBValue(bytes)
    }
}
