import CTokenStore
import CTokenStoreHeader
import Glibc

/// Phase 4 through the C ABI (`include/tokenstore.h`): `ts_get` and `ts_user_tokens` on the
/// same store and inputs as the Swift lookups, to show what the boundary costs.
///
/// The header's functions, as CTokenStore implements them, are called with NUL-terminated
/// inputs prepared before timing, and C callbacks; the store is opened with `ts_open`. The
/// structs and constants are the header's own (CTokenStoreHeader).
enum CBoundary {
    /// Runs the C lookups on the closed store in `directory`, then closes it again.
    static func lookups(directory: String, plans: Plans, options: BenchOptions, runner: PhaseRunner) -> [PhaseResult] {
        let handle = open(directory: directory, options: options)
        defer { _ = ts_close(handle) }

        let store = Handle(pointer: handle)
        let (ops, threads) = (options.lookups, options.threads)
        return [
            runner.run(PhaseName.getC, GetWorkload(store: store, plans: plans), ops: ops, threads: threads),
            runner.run(PhaseName.userTokensC, UserTokensWorkload(store: store, plans: plans), ops: ops, threads: threads),
        ]
    }

    /// Opens (or creates) the store in `directory` with `ts_open` and the run's shards and
    /// durability; fails the run if it cannot.
    static func open(directory: String, options: BenchOptions) -> OpaquePointer {
        var cOptions = ts_options()
        ts_options_init(&cOptions)
        cOptions.shards = UInt32(options.shards)
        switch options.storeOptions.durability {
        case .none: cOptions.durability = TS_DURABILITY_NONE
        case .interval(let milliseconds):
            cOptions.durability = TS_DURABILITY_INTERVAL
            cOptions.sync_interval_ms = UInt32(milliseconds)
        case .always: cOptions.durability = TS_DURABILITY_ALWAYS
        }
        var handle: OpaquePointer?
        let status = ts_open(&handle, directory, &cOptions)
        guard status == TS_OK, let handle else { fail("ts_open failed: status \(status)") }
        return handle
    }

    /// The callback: adds the token's length to the `Int` behind `context` (as the Swift get
    /// reads the token's length) and goes on.
    static let addTokenLength: ts_token_fn = { context, view in
        context!.assumingMemoryBound(to: Int.self).pointee &+= view!.pointee.token_len
        return 0
    }
}

/// A `ts_store *` shared by the worker threads (the handle is thread-safe).
private struct Handle: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// NUL-terminated strings in one allocation, `arity` per operation.
private final class CStrings {
    private let storage: UnsafeMutablePointer<CChar>
    private let offsets: [Int]
    private let arity: Int

    /// Packs `strings` (grouped `arity` per operation).
    init(_ strings: [String], arity: Int) {
        self.arity = arity
        storage = .allocate(capacity: strings.reduce(0) { $0 + $1.utf8.count + 1 })
        var offsets: [Int] = []
        offsets.reserveCapacity(strings.count)
        var offset = 0
        for string in strings {
            offsets.append(offset)
            for byte in string.utf8 {
                storage[offset] = CChar(bitPattern: byte)
                offset += 1
            }
            storage[offset] = 0
            offset += 1
        }
        self.offsets = offsets
    }

    deinit { storage.deallocate() }

    /// String `field` of operation `index`.
    @inline(__always)
    subscript(index: Int, field: Int) -> UnsafePointer<CChar> {
        UnsafePointer(storage + offsets[index * arity + field])
    }
}

/// `ts_get` on the same keys as the Swift "get by key (view)" phase.
private struct GetWorkload: Workload {
    let store: Handle
    let plans: Plans

    func prepare(thread: Int, threads: Int, range: Range<Int>) -> CStrings {
        CStrings(range.flatMap { local -> [String] in
            let key = plans.lookupKey(local * threads + thread, stream: 4)
            return [key.deviceID, key.appID]
        }, arity: 2)
    }

    @inline(__always)
    func run(_ batch: CStrings, _ index: Int, _ tally: inout Tally) {
        var length = 0
        let status = ts_get(store.pointer, batch[index, 0], batch[index, 1], CBoundary.addTokenLength, &length)
        switch status {
        case TS_OK: tally.add(.found)
        case TS_NOTFOUND: tally.add(.missing)
        default: fail("ts_get failed: status \(status)")
        }
    }
}

/// `ts_user_tokens` on the same users as the Swift "user tokens (view)" phase.
private struct UserTokensWorkload: Workload {
    let store: Handle
    let plans: Plans

    func prepare(thread: Int, threads: Int, range: Range<Int>) -> CStrings {
        CStrings(range.map { plans.lookupUser($0 * threads + thread, stream: 5) }, arity: 1)
    }

    @inline(__always)
    func run(_ batch: CStrings, _ index: Int, _ tally: inout Tally) {
        var tokens = 0
        let status = ts_user_tokens(store.pointer, batch[index, 0], CBoundary.countToken, &tokens)
        guard status == TS_OK else { fail("ts_user_tokens failed: status \(status)") }
        tally.add(.tokens, tokens)
    }
}

extension CBoundary {
    /// The callback: counts the token in the `Int` behind `context` and goes on.
    fileprivate static let countToken: ts_token_fn = { context, _ in
        context!.assumingMemoryBound(to: Int.self).pointee &+= 1
        return 0
    }
}
