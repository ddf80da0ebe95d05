// Valid stores the store-files harness starts from: made once per process through the public
// API, then read into memory file by file. Mutating real files reaches far deeper than
// random bytes would: every check a file passes before the mutated part is reached.

import TokenStore

/// One store's files, by name.
struct StoreImage {
    var name: String
    var files: [String: [UInt8]]
    /// Files kept without their zero tail, and the size they are written back at (sparse).
    var sparseSizes: [String: Int] = [:]
}

enum Templates {
    /// The images, built on first use.
    static let all: [StoreImage] = build()

    private static func build() -> [StoreImage] {
        let root = FuzzEnvironment.scratchRoot + "/templates"
        removeTree(root)
        _ = root.withCString { mkdir($0, 0o700) }
        return [
            // A crash image: checkpointed shards plus a log tail, one stripe.
            image("crash-1shard", root: root, shards: 1) { store in
                try populate(store, seed: 0, count: 40)
                try store.checkpoint()
                try populate(store, seed: 1, count: 12)
            },
            // The same over two stripes: token entries in one shard point at keys in the other.
            image("crash-2shards", root: root, shards: 2) { store in
                try populate(store, seed: 0, count: 40)
                try store.checkpoint()
                try populate(store, seed: 1, count: 12)
            },
            // Never checkpointed: the shard files are formatted in memory and the log is all.
            image("log-only", root: root, shards: 2) { store in
                try populate(store, seed: 2, count: 30)
            },
            // A clean close: the log after the checkpoint is empty.
            image("clean", root: root, shards: 1, closeFirst: true) { store in
                try populate(store, seed: 3, count: 40)
            },
        ]
    }

    /// Builds a store in `root/name` with `body`, then reads its files, either while it is
    /// open (a crash image) or after `close`.
    private static func image(
        _ name: String, root: String, shards: Int, closeFirst: Bool = false, _ body: (TokenStore) throws -> Void
    ) -> StoreImage {
        let path = root + "/" + name
        var options = StoreOptions()
        options.shards = shards
        options.durability = .none
        options.changelogLimit = 4
        let store: TokenStore
        do {
            store = try TokenStore(path: path, options: options)
            try body(store)
            if closeFirst { try store.close() }
        } catch {
            fuzzFailure("building template \(name) failed: \(error)")
        }
        var files: [String: [UInt8]] = [:]
        var sparseSizes: [String: Int] = [:]
        for file in listDirectory(path) where file != "LOCK" {
            guard var bytes = readFile(path + "/" + file) else { continue }
            if file.hasPrefix("wal-") {
                sparseSizes[file] = bytes.count
                bytes = trimmedLog(bytes)
            }
            files[file] = bytes
        }
        if !closeFirst { try? store.close() }
        removeTree(path)
        return StoreImage(name: name, files: files, sparseSizes: sparseSizes)
    }

    /// A log segment without its zero tail (page-aligned). It is written back as a sparse
    /// file of its full size (a short segment is corruption to the store), so each input
    /// writes a few pages rather than the whole segment.
    private static func trimmedLog(_ bytes: [UInt8]) -> [UInt8] {
        var end = bytes.count
        while end > 0 && bytes[end - 1] == 0 { end -= 1 }
        end = min(bytes.count, (end + 4095) & ~4095)
        return Array(bytes[0..<max(end, 4096)])
    }

    /// A mix of every write: registrations on two apps and three platforms, owned and
    /// anonymous keys, subscriptions, bounces of each kind, moves, authorization changes and
    /// uninstalls, so every record kind and changelog entry kind is in the image.
    static func populate(_ store: TokenStore, seed: Int, count: Int) throws {
        let base: Int64 = 1_700_000_000_000 + Int64(seed) * 1_000_000
        for i in 0..<count {
            let registration = Registration(
                deviceID: "dev-\(i % 17)", appID: i % 2 == 0 ? "com.example.app" : "web",
                token: "tok-\(seed)-\(i)-" + String(repeating: "x", count: (i * 37) % 300),
                platform: Platform.allCases[i % 3], authorization: Authorization.allCases[(i / 3) % 3],
                userID: i % 4 == 3 ? nil : "user-\(i % 5)", at: base + Int64(i) * 10)
            try store.register(registration)
            let at = base + Int64(i) * 10 + 5
            switch i % 7 {
            case 0: try store.setSubscription(userID: "user-\(i % 5)", subscription: Subscription.allCases[i % 3], at: at)
            case 1: _ = try? store.bounce(token: registration.token, errorCode: ["429", "Unregistered", "MismatchSenderId"][i % 3], at: at)
            case 2: _ = try? store.changeUser(deviceID: registration.deviceID, appID: registration.appID, userID: "user-\((i + 1) % 5)", at: at)
            case 3: _ = try? store.setAuthorization(deviceID: registration.deviceID, appID: registration.appID, authorization: .background, at: at)
            case 4: _ = try? store.uninstall(deviceID: "dev-\((i + 3) % 17)", appID: "web", at: at)
            default: break
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
