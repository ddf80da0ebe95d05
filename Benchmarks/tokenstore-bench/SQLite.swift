import Glibc

/// The SQLite functions the benchmark calls, looked up in the shared library at run time, so
/// that the benchmark builds and runs without SQLite's headers or library.
///
/// Types and constants follow `sqlite3.h` (3.x): handles are opaque pointers, text is bound
/// with an explicit length and `SQLITE_STATIC` (a NULL destructor: the bytes outlive the step).
struct SQLite: @unchecked Sendable {
    typealias Database = OpaquePointer
    typealias Statement = OpaquePointer

    static let ok: Int32 = 0  // SQLITE_OK
    static let row: Int32 = 100  // SQLITE_ROW
    static let done: Int32 = 101  // SQLITE_DONE
    static let openReadWrite: Int32 = 0x02  // SQLITE_OPEN_READWRITE
    static let openCreate: Int32 = 0x04  // SQLITE_OPEN_CREATE
    static let openNoMutex: Int32 = 0x8000  // SQLITE_OPEN_NOMUTEX

    typealias Open = @convention(c) (UnsafePointer<CChar>, UnsafeMutablePointer<Database?>, Int32, UnsafePointer<CChar>?)
        -> Int32
    typealias Close = @convention(c) (Database) -> Int32
    typealias Exec = @convention(c) (Database, UnsafePointer<CChar>, OpaquePointer?, UnsafeMutableRawPointer?,
                                     UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32
    typealias Prepare = @convention(c) (Database, UnsafePointer<CChar>, Int32, UnsafeMutablePointer<Statement?>,
                                        UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32
    typealias BindText = @convention(c) (Statement, Int32, UnsafePointer<CChar>, Int32, OpaquePointer?) -> Int32
    typealias BindInt64 = @convention(c) (Statement, Int32, Int64) -> Int32
    typealias BindNull = @convention(c) (Statement, Int32) -> Int32
    typealias Step = @convention(c) (Statement) -> Int32
    typealias ColumnInt64 = @convention(c) (Statement, Int32) -> Int64
    typealias Reset = @convention(c) (Statement) -> Int32
    typealias Finalize = @convention(c) (Statement) -> Int32
    typealias ErrorMessage = @convention(c) (Database) -> UnsafePointer<CChar>?
    typealias LibraryVersion = @convention(c) () -> UnsafePointer<CChar>?

    let open: Open
    let close: Close
    let exec: Exec
    let prepare: Prepare
    let bindText: BindText
    let bindInt64: BindInt64
    let bindNull: BindNull
    let step: Step
    let columnInt64: ColumnInt64
    let reset: Reset
    let finalize: Finalize
    let errorMessage: ErrorMessage
    /// "SQLite 3.40.1".
    let version: String

    /// Loads `name` (e.g. `libsqlite3.so.0`) and looks up every function.
    static func load(_ name: String) -> Result<SQLite, LoadError> {
        Library.open(name).flatMap { library in
            Result { () throws(LoadError) in
                func symbol<F>(_ symbol: String, as type: F.Type) throws(LoadError) -> F {
                    guard let address = library.symbol(symbol) else {
                        throw LoadError(description: "\(name) has no \(symbol)")
                    }
                    return unsafeBitCast(address, to: type)
                }
                let version = try symbol("sqlite3_libversion", as: LibraryVersion.self)()
                return SQLite(
                    open: try symbol("sqlite3_open_v2", as: Open.self),
                    close: try symbol("sqlite3_close", as: Close.self),
                    exec: try symbol("sqlite3_exec", as: Exec.self),
                    prepare: try symbol("sqlite3_prepare_v2", as: Prepare.self),
                    bindText: try symbol("sqlite3_bind_text", as: BindText.self),
                    bindInt64: try symbol("sqlite3_bind_int64", as: BindInt64.self),
                    bindNull: try symbol("sqlite3_bind_null", as: BindNull.self),
                    step: try symbol("sqlite3_step", as: Step.self),
                    columnInt64: try symbol("sqlite3_column_int64", as: ColumnInt64.self),
                    reset: try symbol("sqlite3_reset", as: Reset.self),
                    finalize: try symbol("sqlite3_finalize", as: Finalize.self),
                    errorMessage: try symbol("sqlite3_errmsg", as: ErrorMessage.self),
                    version: "SQLite " + (version.map { String(cString: $0) } ?? "3"))
            }
        }
    }
}

/// SQLite keeping the same indexes: a `records` table keyed by (device, app) without a rowid,
/// a unique index on the token and an index on the user. WAL, `synchronous=NORMAL`, and a
/// transaction every 10,000 operations; every statement is prepared once.
final class SQLitePeer: Peer {
    private let sqlite: SQLite
    private var database: SQLite.Database?
    private var statements: [SQLite.Statement] = []
    private var operationsInTransaction = 0
    private var inTransaction = false

    private var selectRecord: SQLite.Statement!, deleteTokenElsewhere: SQLite.Statement!, upsert: SQLite.Statement!
    private var updateUser: SQLite.Statement!, selectByToken: SQLite.Statement!, deleteRecord: SQLite.Statement!
    private var tokenLength: SQLite.Statement!, begin: SQLite.Statement!, commit: SQLite.Statement!

    /// Creates the database `store.sqlite` in `directory`.
    init(library: SQLite, directory: String) {
        sqlite = library
        var database: SQLite.Database?
        let status = sqlite.open(
            directory + "/store.sqlite", &database, SQLite.openReadWrite | SQLite.openCreate | SQLite.openNoMutex, nil)
        guard status == SQLite.ok, let database else { fail("sqlite3_open_v2 failed: status \(status)") }
        self.database = database
        execute("PRAGMA journal_mode=WAL")
        execute("PRAGMA synchronous=NORMAL")
        execute("""
            CREATE TABLE records (device TEXT NOT NULL, app TEXT NOT NULL, token TEXT NOT NULL, user TEXT,
                platform INTEGER NOT NULL, authorization INTEGER NOT NULL, event_at INTEGER NOT NULL,
                registered_at INTEGER NOT NULL, PRIMARY KEY (device, app)) WITHOUT ROWID
            """)
        execute("CREATE UNIQUE INDEX records_by_token ON records (token)")
        execute("CREATE INDEX records_by_user ON records (user)")
        selectRecord = prepare("SELECT event_at FROM records WHERE device = ?1 AND app = ?2")
        deleteTokenElsewhere = prepare("DELETE FROM records WHERE token = ?1 AND NOT (device = ?2 AND app = ?3)")
        upsert = prepare("""
            INSERT INTO records (device, app, token, user, platform, authorization, event_at, registered_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
            ON CONFLICT (device, app) DO UPDATE SET token = excluded.token, user = coalesce(excluded.user, user),
                platform = excluded.platform, authorization = excluded.authorization, event_at = excluded.event_at,
                registered_at = excluded.registered_at
            """)
        updateUser = prepare("UPDATE records SET user = ?3, event_at = ?4 WHERE device = ?1 AND app = ?2")
        selectByToken = prepare("SELECT registered_at, device, app FROM records WHERE token = ?1")
        deleteRecord = prepare("DELETE FROM records WHERE token = ?1")
        tokenLength = prepare("SELECT length(token) FROM records WHERE device = ?1 AND app = ?2")
        begin = prepare("BEGIN")
        commit = prepare("COMMIT")
    }

    func begin(_ phase: PeerPhase) { startTransaction() }
    func finish(_ phase: PeerPhase) { endTransaction() }

    func register(_ input: RegisterInput) -> Outcome {
        defer { counted() }
        bind(selectRecord, 1, input.deviceID)
        bind(selectRecord, 2, input.appID)
        if let eventAt = singleInt(selectRecord), input.at < eventAt { return .stale }
        // A token held by another key moves here: that key's record goes.
        bind(deleteTokenElsewhere, 1, input.token)
        bind(deleteTokenElsewhere, 2, input.deviceID)
        bind(deleteTokenElsewhere, 3, input.appID)
        run(deleteTokenElsewhere)
        bind(upsert, 1, input.deviceID)
        bind(upsert, 2, input.appID)
        bind(upsert, 3, input.token)
        bind(upsert, 4, input.userID)
        _ = sqlite.bindInt64(upsert, 5, Int64(input.platform))
        _ = sqlite.bindInt64(upsert, 6, Int64(input.authorization))
        _ = sqlite.bindInt64(upsert, 7, input.at)
        run(upsert)
        return .applied
    }

    func changeUser(_ input: ChangeUserInput) -> Outcome {
        defer { counted() }
        bind(selectRecord, 1, input.deviceID)
        bind(selectRecord, 2, input.appID)
        guard let eventAt = singleInt(selectRecord) else { return .missing }
        if input.at < eventAt { return .stale }
        bind(updateUser, 1, input.deviceID)
        bind(updateUser, 2, input.appID)
        bind(updateUser, 3, input.userID)
        _ = sqlite.bindInt64(updateUser, 4, input.at)
        run(updateUser)
        return .applied
    }

    func bounce(_ input: BounceInput) -> Outcome {
        defer { counted() }
        bind(selectByToken, 1, input.token)
        guard let registeredAt = singleInt(selectByToken) else { return .missing }
        guard input.removes else { return .kept }
        if input.providerTimestamp != 0, input.providerTimestamp < registeredAt { return .staleBounce }
        bind(deleteRecord, 1, input.token)
        run(deleteRecord)
        return .removed
    }

    func get(_ input: GetInput) -> Outcome {
        defer { counted() }
        bind(tokenLength, 1, input.deviceID)
        bind(tokenLength, 2, input.appID)
        guard let length = singleInt(tokenLength) else { return .missing }
        return length > 0 ? .found : .missing
    }

    func liveTokens() -> Int {
        let count = prepare("SELECT count(*) FROM records")
        return Int(singleInt(count) ?? 0)
    }

    func close() {
        endTransaction()
        for statement in statements { _ = sqlite.finalize(statement) }
        statements = []
        if let database {
            let status = sqlite.close(database)
            if status != SQLite.ok { fail("sqlite3_close failed: status \(status)") }
        }
        database = nil
    }

    // MARK: Plumbing

    private func startTransaction() {
        run(begin)
        inTransaction = true
        operationsInTransaction = 0
    }

    private func endTransaction() {
        guard inTransaction else { return }
        run(commit)
        inTransaction = false
    }

    /// Counts an operation; every 10,000th commits and starts the next transaction.
    @inline(__always)
    private func counted() {
        operationsInTransaction += 1
        if operationsInTransaction == LMDBPeer.transactionSize {
            endTransaction()
            startTransaction()
        }
    }

    private func describe() -> String {
        database.flatMap { sqlite.errorMessage($0) }.map { String(cString: $0) } ?? "unknown error"
    }

    private func execute(_ sql: String) {
        let status = sqlite.exec(database!, sql, nil, nil, nil)
        guard status == SQLite.ok else { fail("SQLite: \(sql) failed: \(describe()) (\(status))") }
    }

    private func prepare(_ sql: String) -> SQLite.Statement {
        var statement: SQLite.Statement?
        let status = sqlite.prepare(database!, sql, -1, &statement, nil)
        guard status == SQLite.ok, let statement else { fail("SQLite: cannot prepare \(sql): \(describe()) (\(status))") }
        statements.append(statement)
        return statement
    }

    /// Binds text (SQLITE_STATIC: the input arena outlives the statement's step), or NULL.
    @inline(__always)
    private func bind(_ statement: SQLite.Statement, _ index: Int32, _ text: Text?) {
        guard let text else { return _ = sqlite.bindNull(statement, index) }
        _ = sqlite.bindText(statement, index, text.base, Int32(text.count), nil)
    }

    /// Steps a statement that returns no row, then resets it.
    @inline(__always)
    private func run(_ statement: SQLite.Statement) {
        let status = sqlite.step(statement)
        _ = sqlite.reset(statement)
        guard status == SQLite.done else { fail("SQLite step failed: \(describe()) (\(status))") }
    }

    /// The first column of the first row as an integer, or `nil` when there is no row.
    @inline(__always)
    private func singleInt(_ statement: SQLite.Statement) -> Int64? {
        defer { _ = sqlite.reset(statement) }
        switch sqlite.step(statement) {
        case SQLite.row: return sqlite.columnInt64(statement, 0)
        case SQLite.done: return nil
        case let status: fail("SQLite step failed: \(describe()) (\(status))")
        }
    }
}
