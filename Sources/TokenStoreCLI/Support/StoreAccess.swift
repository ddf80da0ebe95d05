import TokenStore

/// Options for commands that open a store for writing (`load`, `sweep`).
enum StoreFlags {
    /// The valued options every writing command accepts.
    static let writeOptions: Set<String> = ["--shards", "--durability", "--changelog-limit", "--tombstone-retention-days"]
    static let writeFlags: Set<String> = ["--quarantine-misconfigured"]

    static let help = """
          --shards N                 lock stripes for a new store, a power of two 1...4096
                                     (default 64, or the dump header's)
          --durability MODE          none | always | interval (1000 ms) | Nms, e.g. 250ms
          --changelog-limit N        changelog entries kept per user, 1...4096 (default 64,
                                     or the dump header's)
          --tombstone-retention-days N
                                     days of event time a removal's tombstone refuses late
                                     writes, 1...49710 (default 30, or the dump header's)
          --quarantine-misconfigured quarantine tokens on sender/credential-mismatch
                                     bounces instead of removing them (default: remove, or
                                     the dump header's choice)
        """

    /// The options that take effect only when a store is created.
    static let creationOptions: Set<String> = [
        "--shards", "--changelog-limit", "--quarantine-misconfigured", "--tombstone-retention-days",
    ]

    /// The creation options the command line sets.
    static func creationOptionsGiven(in arguments: ParsedArguments) -> Set<String> {
        creationOptions.filter { arguments.has($0) || arguments[$0] != nil }
    }

    /// Builds store options from the parsed command line.
    static func options(from arguments: ParsedArguments, mustExist: Bool) throws(CommandFailure) -> StoreOptions {
        var options = StoreOptions()
        options.mustExist = mustExist
        if let text = arguments["--shards"] {
            guard let shards = Int(text), shards >= 1, shards <= 4096, shards & (shards - 1) == 0 else {
                throw .usage("--shards must be a power of two from 1 to 4096")
            }
            options.shards = shards
        }
        if let text = arguments["--durability"] {
            options.durability = try parseDurability(text)
        }
        if let text = arguments["--changelog-limit"] {
            guard let limit = Int(text), limit >= 1, limit <= 4096 else {
                throw .usage("--changelog-limit must be a number from 1 to 4096")
            }
            options.changelogLimit = limit
        }
        if let text = arguments["--tombstone-retention-days"] {
            // Whole days keep the flag simple; the store takes any whole number of seconds.
            guard let days = Int64(text), days >= 1, days <= Int64(UInt32.max) / 86_400 else {
                throw .usage("--tombstone-retention-days must be a number from 1 to 49710")
            }
            options.tombstoneRetention = days * 86_400_000
        }
        if arguments.has("--quarantine-misconfigured") { options.quarantineMisconfigured = true }
        return options
    }

    static func parseDurability(_ text: String) throws(CommandFailure) -> Durability {
        switch text {
        case "none": return .none
        case "always": return .always
        case "interval": return .interval(milliseconds: 1000)
        default:
            var digits = Substring(text)
            if digits.hasPrefix("interval:") { digits = digits.dropFirst("interval:".count) }
            if digits.hasSuffix("ms") { digits = digits.dropLast(2) }
            guard let milliseconds = Int(digits), milliseconds > 0, milliseconds <= 3_600_000 else {
                throw .usage("--durability must be none, always, interval or a number of milliseconds such as 250ms")
            }
            return .interval(milliseconds: milliseconds)
        }
    }
}

/// Opens, uses and closes a store, mapping its errors to exit status 2.
enum StoreAccess {
    /// Opens the store at `path`. Read-only commands pass `mustExist` so a typo never creates
    /// an empty store.
    static func open(_ path: String, options: StoreOptions) throws(CommandFailure) -> TokenStore {
        do {
            return try TokenStore(path: path, options: options)
        } catch {
            if error.code == .notFound && options.mustExist {
                throw .store("no store at \(path)")
            }
            throw .store("cannot open the store at \(path): \(error)")
        }
    }

    /// Opens a store for reading.
    static func openExisting(_ path: String) throws(CommandFailure) -> TokenStore {
        var options = StoreOptions()
        options.mustExist = true
        return try open(path, options: options)
    }

    /// Runs `body` with the store and closes it afterwards, even when `body` fails.
    static func with<R>(
        _ path: String, options: StoreOptions? = nil, _ body: (TokenStore) throws(CommandFailure) -> R
    ) throws(CommandFailure) -> R {
        let store: TokenStore
        if let options { store = try open(path, options: options) } else { store = try openExisting(path) }
        let result: R
        do {
            result = try body(store)
        } catch {
            try? store.close()
            throw error
        }
        do { try store.close() } catch { throw .store("closing the store failed: \(error)") }
        return result
    }

    /// Wraps a store error from a call made by `command`.
    static func failure(_ error: any Error, _ what: String) -> CommandFailure {
        if let error = error as? TokenStoreError { return .store("\(what) failed: \(error)") }
        if let failure = error as? CommandFailure { return failure }
        return .store("\(what) failed: \(error)")
    }
}
