import Glibc
import TokenStore

/// What one benchmark run does: sizes, store settings and output, parsed from the command line.
///
/// Sizes left unset derive from `records`, so `--records 10000000` alone scales the whole run.
struct BenchOptions: Sendable, Codable {
    /// Registrations loaded in phase 1; also the number of `(device, app)` keys.
    var records = 1_000_000
    /// `changeUser` calls in phase 2.
    var reassignments = 250_000
    /// Bounces in phase 3, each on a distinct token.
    var bounces = 100_000
    /// Calls per lookup kind in phase 4.
    var lookups = 250_000
    /// Operations per thread count in the mixed workload (phase 6).
    var mixedOps = 250_000
    /// Threads for the load, reassignment, bounce and lookup phases.
    var threads = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    /// Thread counts the mixed workload runs at.
    var mixedThreads = [1, 2]
    /// Durability mode name: `none`, `interval` or `always`.
    var durability = "interval"
    /// Sync interval for `interval` durability.
    var intervalMilliseconds = 1000
    /// Lock stripes of the store.
    var shards = 64
    /// Store directory; `nil` means a fresh temporary directory.
    var directory: String?
    /// Keep the store directory after the run.
    var keep = false
    /// Where to write the JSON report, if anywhere.
    var jsonPath: String?
    /// Seed of every generated value.
    var seed: UInt64 = 42
    /// How long the writer child writes before it is killed, in milliseconds.
    var writerMilliseconds = 1000
    /// Also run the naive baseline (in a child process) and print ratios.
    var baseline = false
    /// The peers of the peer comparison (`Peers.swift`), in run order; empty skips it.
    var peers = PeerKind.defaults
    /// Records of the peer section; the other peer phases' sizes follow from it.
    var peerRecords = 1_000_000
    /// The name `dlopen` loads LMDB by.
    var lmdbLibrary = "liblmdb.so.0"
    /// The name `dlopen` loads SQLite by.
    var sqliteLibrary = "libsqlite3.so.0"
    /// True when `--quick` picked tiny sizes.
    var quick = false
    /// Tokens of the heavy user in the cliff section (`HeavyUser.swift`); 0 skips it.
    var heavyUserTokens = 60_000
    /// Timed writes per row of the cliff section.
    var heavyUserOps = 5_000
    /// Keys removed in the tombstone section (`Tombstones.swift`); 0 skips it.
    var tombstoneKeys = 100_000

    /// The store options these settings describe.
    var storeOptions: StoreOptions {
        var options = StoreOptions()
        options.shards = shards
        switch durability {
        case "none": options.durability = .none
        case "always": options.durability = .always
        default: options.durability = .interval(milliseconds: intervalMilliseconds)
        }
        return options
    }

    /// Durability as printed in the report header.
    var durabilityLabel: String {
        durability == "interval" ? "interval (\(intervalMilliseconds) ms)" : durability
    }
}

/// What the command line asks the program to be.
enum Invocation {
    /// The benchmark itself.
    case benchmark(BenchOptions)
    /// The baseline half of a run, in a child process; prints its results as JSON on stdout.
    case baselineChild(BenchOptions)
    /// Writes to the store in `directory` until killed (the recovery phase's victim).
    case writerChild(directory: String, options: BenchOptions)
    /// Opens the store in `directory`, reports open time, memory and disk use, and exits.
    case reopenChild(directory: String, options: BenchOptions)
    /// `--help`.
    case help
}

/// A command-line mistake, printed with the usage hint.
struct UsageError: Error, CustomStringConvertible {
    let description: String
}

extension BenchOptions {
    /// The usage text printed by `--help`.
    static let usage = """
        usage: tokenstore-bench [options]

        Benchmarks TokenStore on realistic, deterministic push-token data: its own phases
        through the Swift API on several threads, then a peer comparison on one thread through
        the C ABI beside LMDB (loaded at run time) and an in-memory hash, with the ratios the
        engine's goals ask for. With no options it loads 1M records; on a 2-core machine the
        run took under 3 minutes in December 2026, most of it the peer section at the current
        speeds of the engine and of LMDB (--peer-records shortens it; --quick takes seconds).

        sizes:
          --records N          registrations to load; also the peer section's size (default 1000000)
          --reassignments N    changeUser calls (default records/4)
          --bounces N          bounces on distinct tokens (default records/10)
          --lookups N          calls per lookup kind (default records/4)
          --mixed-ops N        operations per thread count in the mixed workload (default records/4)
          --quick              tiny sizes for a smoke test (a few seconds)
        execution:
          --threads N          threads for load, reassignments, bounces, lookups (default: cores)
          --mixed-threads L    comma-separated thread counts for the mixed workload (default 1,2)
          --seed N             seed of the generated data (default 42)
          --writer-ms N        how long the writer writes before SIGKILL (default 1000)
          --baseline           also run every phase against the naive baseline (a Dictionary per
                               index behind one lock) in a child process, with ratios
          --no-baseline        skip the baseline (the default)
        peers (one thread, C ABI; register, change_user, bounce and get on the same inputs; then,
        on the TokenStore peer's store, ts_campaign_tokens against ts_segment_users +
        ts_sendable_tokens, and ts_get_many against ts_get):
          --peers L            comma-separated, run in this order: tokenstore, lmdb, memory,
                               sqlite (default tokenstore,lmdb,memory)
          --no-peers           skip the peer comparison
          --peer-records N     records of the peer section: N register, N change_user, N/10 bounce,
                               N get (default records)
          --lmdb-library NAME  what dlopen loads LMDB by (default liblmdb.so.0)
          --sqlite-library N   what dlopen loads SQLite by (default libsqlite3.so.0)
        a user with many tokens (one thread, Swift API; the same writes to ordinary users beside it):
          --heavy-user-tokens N  tokens of that user (default 60000, --quick 2000; 0 skips it)
        tombstones (one thread, Swift API; their bytes, and the late registrations they refuse):
          --tombstones N       keys removed, half by uninstall, half by bounce (default 100000,
                               --quick 2000; 0 skips it)
        store:
          --durability MODE    none | interval | always (default interval)
          --interval-ms N      sync interval for interval durability (default 1000)
          --shards N           lock stripes, a power of two (default 64)
          --dir PATH           store directory (default: a fresh temporary directory)
          --keep               keep the store directory after the run
        output:
          --json PATH          also write every figure, the machine and the options as JSON
          --help               show this text
        """

    /// Parses the arguments after the program name.
    static func parse(_ arguments: [String]) throws(UsageError) -> Invocation {
        var options = BenchOptions()
        var explicit = Set<String>()
        var child: (kind: String, directory: String)?
        var rest = arguments[...]

        func value(_ flag: String) throws(UsageError) -> String {
            guard let next = rest.popFirst() else { throw UsageError(description: "\(flag) needs a value") }
            return next
        }
        func count(_ flag: String, atLeast minimum: Int = 1) throws(UsageError) -> Int {
            let text = try value(flag)
            guard let number = Int(text.replacingUnderscores), number >= minimum else {
                throw UsageError(description: "\(flag) needs an integer >= \(minimum), got '\(text)'")
            }
            return number
        }

        while let flag = rest.popFirst() {
            switch flag {
            case "--help", "-h": return .help
            case "--records": options.records = try count(flag)
            case "--reassignments": options.reassignments = try count(flag, atLeast: 0)
            case "--bounces": options.bounces = try count(flag, atLeast: 0)
            case "--lookups": options.lookups = try count(flag)
            case "--mixed-ops": options.mixedOps = try count(flag)
            case "--threads": options.threads = try count(flag)
            case "--mixed-threads":
                let text = try value(flag)
                let list = text.split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
                guard !list.isEmpty, list.count == text.split(separator: ",").count else {
                    throw UsageError(description: "--mixed-threads needs a list like 1,2,4, got '\(text)'")
                }
                options.mixedThreads = list
            case "--seed":
                let text = try value(flag)
                guard let seed = UInt64(text) else { throw UsageError(description: "--seed needs an unsigned integer") }
                options.seed = seed
            case "--writer-ms": options.writerMilliseconds = try count(flag)
            case "--baseline": options.baseline = true
            case "--no-baseline": options.baseline = false
            case "--peers":
                let text = try value(flag)
                let list = text.split(separator: ",").map { PeerKind(rawValue: String($0)) }
                guard !list.isEmpty, list.allSatisfy({ $0 != nil }), Set(list).count == list.count else {
                    throw UsageError(description: """
                        --peers needs distinct names from \(PeerKind.allCases.map(\.rawValue).joined(separator: ", ")), \
                        got '\(text)'
                        """)
                }
                options.peers = list.compactMap { $0 }
            case "--no-peers": options.peers = []
            case "--heavy-user-tokens": options.heavyUserTokens = try count(flag, atLeast: 0)
            case "--tombstones": options.tombstoneKeys = try count(flag, atLeast: 0)
            case "--peer-records": options.peerRecords = try count(flag)
            case "--lmdb-library": options.lmdbLibrary = try value(flag)
            case "--sqlite-library": options.sqliteLibrary = try value(flag)
            case "--durability":
                let mode = try value(flag)
                guard ["none", "interval", "always"].contains(mode) else {
                    throw UsageError(description: "--durability is none, interval or always, got '\(mode)'")
                }
                options.durability = mode
            case "--interval-ms": options.intervalMilliseconds = try count(flag)
            case "--shards":
                let shards = try count(flag)
                guard shards & (shards - 1) == 0, shards <= 4096 else {
                    throw UsageError(description: "--shards must be a power of two from 1 to 4096")
                }
                options.shards = shards
            case "--dir": options.directory = try value(flag)
            case "--keep": options.keep = true
            case "--json": options.jsonPath = try value(flag)
            case "--quick": options.quick = true
            case "--baseline-child": child = ("baseline", "")
            case "--writer-child": child = ("writer", try value(flag))
            case "--reopen-child": child = ("reopen", try value(flag))
            default: throw UsageError(description: "unknown option '\(flag)'")
            }
            explicit.insert(flag)
        }

        options.deriveSizes(explicit: explicit)
        guard options.bounces <= options.records else {
            throw UsageError(description: "--bounces cannot exceed --records: each bounce hits a distinct token")
        }
        switch child?.kind {
        case "baseline": return .baselineChild(options)
        case "writer": return .writerChild(directory: child!.directory, options: options)
        case "reopen": return .reopenChild(directory: child!.directory, options: options)
        default: return .benchmark(options)
        }
    }

    /// Fills the sizes the user did not set from `records`, or from `--quick`.
    private mutating func deriveSizes(explicit: Set<String>) {
        if quick {
            if !explicit.contains("--records") { records = 20_000 }
            if !explicit.contains("--writer-ms") { writerMilliseconds = 200 }
            if !explicit.contains("--heavy-user-tokens") { heavyUserTokens = 2_000 }
            if !explicit.contains("--tombstones") { tombstoneKeys = 2_000 }
            heavyUserOps = 500
        }
        if !explicit.contains("--peer-records") { peerRecords = records }
        if !explicit.contains("--reassignments") { reassignments = max(1, records / 4) }
        if !explicit.contains("--bounces") { bounces = records / 10 }
        if !explicit.contains("--lookups") { lookups = max(1, records / 4) }
        if !explicit.contains("--mixed-ops") { mixedOps = max(1, records / 4) }
    }

    /// The arguments that make a child process run with exactly these settings.
    var childArguments: [String] {
        var arguments = [
            "--records", "\(records)", "--reassignments", "\(reassignments)", "--bounces", "\(bounces)",
            "--lookups", "\(lookups)", "--mixed-ops", "\(mixedOps)", "--threads", "\(threads)",
            "--mixed-threads", mixedThreads.map(String.init).joined(separator: ","),
            "--seed", "\(seed)", "--durability", durability, "--interval-ms", "\(intervalMilliseconds)",
            "--shards", "\(shards)", "--writer-ms", "\(writerMilliseconds)",
        ]
        if quick { arguments.append("--quick") }
        return arguments
    }
}

extension String {
    /// The text without `_` digit separators, so `1_000_000` parses.
    fileprivate var replacingUnderscores: String { filter { $0 != "_" } }
}
