import Glibc

/// `MDB_val`: a size and a pointer, as `lmdb.h` (0.9.x) lays it out.
struct MDBValue {
    var size: Int
    var data: UnsafeMutableRawPointer?

    /// A value over `bytes` (LMDB only reads a key or a data item it is given).
    @inline(__always)
    init(_ bytes: UnsafeRawBufferPointer) {
        size = bytes.count
        data = UnsafeMutableRawPointer(mutating: bytes.baseAddress)
    }

    /// An empty value, for LMDB to fill.
    init() {
        size = 0
        data = nil
    }

    /// The bytes LMDB pointed it at; valid until the next write in the transaction.
    @inline(__always)
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: data, count: size) }
}

/// `MDB_stat`.
struct MDBStat {
    var pageSize: UInt32 = 0
    var depth: UInt32 = 0
    var branchPages = 0
    var leafPages = 0
    var overflowPages = 0
    var entries = 0
}

/// The LMDB functions the benchmark calls, looked up in the shared library at run time, so
/// that the benchmark builds and runs without LMDB's headers or library.
///
/// Types and constants follow `lmdb.h` of LMDB 0.9.x; handles are opaque pointers,
/// `MDB_dbi` is `unsigned int`, `size_t` is `Int`.
struct LMDB: @unchecked Sendable {
    typealias Environment = OpaquePointer
    typealias Transaction = OpaquePointer

    // Environment flags.
    static let noSubdirectory: UInt32 = 0x4000  // MDB_NOSUBDIR
    static let noSync: UInt32 = 0x10000  // MDB_NOSYNC
    static let readOnly: UInt32 = 0x20000  // MDB_RDONLY
    // Database flags.
    static let duplicateSort: UInt32 = 0x04  // MDB_DUPSORT
    static let create: UInt32 = 0x40000  // MDB_CREATE
    // Return codes.
    static let success: Int32 = 0  // MDB_SUCCESS
    static let notFound: Int32 = -30798  // MDB_NOTFOUND

    // The signatures of the functions used.
    typealias EnvCreate = @convention(c) (UnsafeMutablePointer<Environment?>) -> Int32
    typealias EnvSetMapSize = @convention(c) (Environment, Int) -> Int32
    typealias EnvSetMaxDatabases = @convention(c) (Environment, UInt32) -> Int32
    typealias EnvOpen = @convention(c) (Environment, UnsafePointer<CChar>, UInt32, mode_t) -> Int32
    typealias EnvClose = @convention(c) (Environment) -> Void
    typealias TxnBegin = @convention(c) (Environment, Transaction?, UInt32, UnsafeMutablePointer<Transaction?>) -> Int32
    typealias TxnCommit = @convention(c) (Transaction) -> Int32
    typealias TxnAbort = @convention(c) (Transaction) -> Void
    typealias DbiOpen = @convention(c) (Transaction, UnsafePointer<CChar>?, UInt32, UnsafeMutablePointer<UInt32>) -> Int32
    // `MDB_val *` and `MDB_stat *` are raw pointers here (a Swift struct cannot appear in a C
    // function type); callers pass `&value` of an `MDBValue` or `MDBStat`.
    typealias Get = @convention(c) (Transaction, UInt32, UnsafeMutableRawPointer, UnsafeMutableRawPointer) -> Int32
    typealias Put = @convention(c) (Transaction, UInt32, UnsafeMutableRawPointer, UnsafeMutableRawPointer, UInt32) -> Int32
    typealias Del = @convention(c) (Transaction, UInt32, UnsafeMutableRawPointer, UnsafeMutableRawPointer?) -> Int32
    typealias Stat = @convention(c) (Transaction, UInt32, UnsafeMutableRawPointer) -> Int32
    typealias Strerror = @convention(c) (Int32) -> UnsafePointer<CChar>?
    typealias Version = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?,
                                         UnsafeMutablePointer<Int32>?) -> UnsafePointer<CChar>?

    let envCreate: EnvCreate
    let envSetMapSize: EnvSetMapSize
    let envSetMaxDatabases: EnvSetMaxDatabases
    let envOpen: EnvOpen
    let envClose: EnvClose
    let txnBegin: TxnBegin
    let txnCommit: TxnCommit
    let txnAbort: TxnAbort
    let dbiOpen: DbiOpen
    let get: Get
    let put: Put
    let del: Del
    let stat: Stat
    private let strerrorFunction: Strerror
    /// `mdb_version()`'s text, e.g. "LMDB 0.9.24: (July 24, 2019)", cut before the colon.
    let version: String

    /// Loads `name` (e.g. `liblmdb.so.0`) and looks up every function.
    static func load(_ name: String) -> Result<LMDB, LoadError> {
        Library.open(name).flatMap { library in
            Result { () throws(LoadError) in
                func symbol<F>(_ symbol: String, as type: F.Type) throws(LoadError) -> F {
                    guard let address = library.symbol(symbol) else {
                        throw LoadError(description: "\(name) has no \(symbol)")
                    }
                    return unsafeBitCast(address, to: type)
                }
                let version = try symbol("mdb_version", as: Version.self)(nil, nil, nil)
                return LMDB(
                    envCreate: try symbol("mdb_env_create", as: EnvCreate.self),
                    envSetMapSize: try symbol("mdb_env_set_mapsize", as: EnvSetMapSize.self),
                    envSetMaxDatabases: try symbol("mdb_env_set_maxdbs", as: EnvSetMaxDatabases.self),
                    envOpen: try symbol("mdb_env_open", as: EnvOpen.self),
                    envClose: try symbol("mdb_env_close", as: EnvClose.self),
                    txnBegin: try symbol("mdb_txn_begin", as: TxnBegin.self),
                    txnCommit: try symbol("mdb_txn_commit", as: TxnCommit.self),
                    txnAbort: try symbol("mdb_txn_abort", as: TxnAbort.self),
                    dbiOpen: try symbol("mdb_dbi_open", as: DbiOpen.self),
                    get: try symbol("mdb_get", as: Get.self),
                    put: try symbol("mdb_put", as: Put.self),
                    del: try symbol("mdb_del", as: Del.self),
                    stat: try symbol("mdb_stat", as: Stat.self),
                    strerrorFunction: try symbol("mdb_strerror", as: Strerror.self),
                    version: version.map { String(cString: $0).split(separator: ":").first.map(String.init) ?? "" }
                        ?? "LMDB")
            }
        }
    }

    /// `mdb_strerror`'s text for `status`.
    func describe(_ status: Int32) -> String {
        strerrorFunction(status).map { String(cString: $0) } ?? "LMDB error \(status)"
    }

    /// Fails the run unless `status` is `MDB_SUCCESS`.
    @inline(__always)
    func check(_ status: Int32, _ operation: StaticString) {
        if status != LMDB.success { fail("LMDB \(operation) failed: \(describe(status)) (\(status))") }
    }
}

/// A shared library opened with `dlopen`, kept loaded for the rest of the process.
struct Library: @unchecked Sendable {
    private let handle: UnsafeMutableRawPointer

    /// Opens `name` through the dynamic linker's search path.
    static func open(_ name: String) -> Result<Library, LoadError> {
        guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "dlopen failed"
            return .failure(LoadError(description: "cannot load \(name) (\(reason))"))
        }
        return .success(Library(handle: handle))
    }

    /// The address of `name`, or `nil`.
    func symbol(_ name: String) -> UnsafeMutableRawPointer? { dlsym(handle, name) }
}

/// Why a peer's library could not be used.
struct LoadError: Error, CustomStringConvertible {
    let description: String
}
