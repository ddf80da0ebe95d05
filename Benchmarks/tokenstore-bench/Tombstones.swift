import FoundationEssentials
import Glibc
import TokenStore

/// Issue 14's cost: what tombstones take in bytes, and what the registrations they refuse
/// cost against ordinary ones, in one store, one thread, through the Swift API.
struct TombstoneResult: Codable, Sendable {
    /// One kind of registration, timed.
    struct Row: Codable, Sendable {
        var operation: String
        var ops: Int
        var opsPerSecond: Double
        /// The outcome every one of them must have had (the benchmark fails otherwise).
        var outcome: String
    }

    /// Tombstones left by the purge phase: half by uninstalls, half by removing bounces.
    var tombstones: Int
    /// Live heap bytes per token before the purge, and per tombstone after it (anonymous
    /// keys: the heap then holds only key records, or only tombstones).
    var heapBytesPerToken: Double
    var heapBytesPerTombstone: Double
    /// Index bytes per tombstone: 16 bytes a slot, one slot (uninstall) or two (bounce: the
    /// token's dead mark), before the table's 0.75 load factor.
    var indexBytesPerTombstone: Double
    var rows: [Row]
    /// The sweep that dropped every remaining tombstone once their retention ran out.
    var dropped: Int
    var purgeSeconds: Double
    var purgedPerSecond: Double
}

enum Tombstones {
    private static let app = "com.acme.app"

    /// Builds the store in a fresh directory under `parent`, runs the phases, removes it.
    static func run(keys: Int, options: BenchOptions, parent: String) -> TombstoneResult {
        var template = Array((parent + "/tokenstore-tombstones.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { fail("cannot create a directory in \(parent): errno \(errno)") }
        let directory = String(cString: made)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = must("open") { () throws(TokenStoreError) in try TokenStore(path: directory, options: options.storeOptions) }
        defer { _ = try? store.close() }
        func liveBytes() -> Int { must("storage report") { () throws(TokenStoreError) in try store.storageReport().liveBytes } }
        func token(_ i: Int, _ generation: Int = 0) -> String {
            let hex = String(UInt64(i) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(generation), radix: 16)
            return String(repeating: "0", count: 64 - hex.utf8.count) + hex
        }
        func register(_ device: String, _ token: String, at: Int64) -> WriteOutcome {
            let registration = Registration(
                deviceID: device, appID: app, token: token, platform: .ios, authorization: .foreground, userID: nil, at: at)
            return must("register") { () throws(TokenStoreError) in try store.register(registration) }
        }
        func timed(_ operation: String, _ ops: Int, expecting expected: WriteOutcome, _ body: (Int) -> WriteOutcome) -> TombstoneResult.Row {
            var wrong = 0
            let start = monotonicNanoseconds()
            for i in 0..<ops where body(i) != expected { wrong += 1 }
            let seconds = Double(monotonicNanoseconds() - start) / 1e9
            if wrong > 0 { fail("tombstones: \(wrong) of \(ops) \(operation) were not \(expected)") }
            return .init(operation: operation, ops: ops, opsPerSecond: Double(ops) / seconds, outcome: "\(expected)")
        }

        // Untimed: anonymous keys, so that the heap holds key records only.
        let t0: Int64 = 1_700_000_000_000
        let baseBytes = liveBytes()
        for i in 0..<keys { _ = register("device-\(i)", token(i), at: t0) }
        let heapBytesPerToken = Double(liveBytes() - baseBytes) / Double(keys)
        // The purge phase: every key removed at t0 + 1000, half by uninstall, half by a bounce.
        let removedAt = t0 + 1000
        for i in 0..<keys {
            if i % 2 == 0 {
                _ = must("uninstall") { () throws(TokenStoreError) in try store.uninstall(deviceID: "device-\(i)", appID: app, at: removedAt) }
            } else {
                _ = must("bounce") { () throws(TokenStoreError) in try store.bounce(token: token(i), errorCode: "Unregistered", at: removedAt) }
            }
        }
        let stored = must("statistics") { () throws(TokenStoreError) in try store.statistics() }
        guard stored.tombstones == keys, stored.tokens == 0 else { fail("tombstones: \(stored.tombstones) tombstones, \(stored.tokens) tokens after the purge") }
        let heapBytesPerTombstone = Double(liveBytes() - baseBytes) / Double(keys)
        let slots = keys / 2 + (keys - keys / 2) * 2

        let ops = keys / 2
        var rows: [TombstoneResult.Row] = []
        // The comparison: registrations of new keys, and stale ones refused by a live key's event time.
        rows.append(timed("register a new key (ordinary)", ops, expecting: .applied) { register("fresh-\($0)", token($0, 1), at: removedAt + 10) })
        rows.append(timed("register, older than a live key's event", ops, expecting: .stale) { register("fresh-\($0)", token($0, 1), at: removedAt) })
        // Late registrations from before the removal: refused by the key's tombstone, and by
        // the bounced token's dead mark on a key that never held it.
        rows.append(timed("register, older than the key's tombstone", ops, expecting: .stale) { register("device-\($0 * 2)", token($0 * 2), at: removedAt - 1) })
        rows.append(timed("register of a bounced token, another key", ops, expecting: .stale) { register("elsewhere-\($0)", token($0 * 2 + 1), at: removedAt - 1) })
        // A reinstall after the removal: applies, and clears the tombstone.
        rows.append(timed("register at or after the tombstone", ops, expecting: .applied) { register("device-\($0 * 2)", token($0 * 2, 2), at: removedAt + 1) })

        // The retention runs out: one sweep drops every remaining tombstone.
        let retention = options.storeOptions.tombstoneRetention
        let remaining = must("statistics") { () throws(TokenStoreError) in try store.statistics() }.tombstones
        let start = monotonicNanoseconds()
        _ = must("sweep") { () throws(TokenStoreError) in try store.sweep(olderThan: 0, at: removedAt + retention + 1) }
        let purgeSeconds = Double(monotonicNanoseconds() - start) / 1e9
        let left = must("statistics") { () throws(TokenStoreError) in try store.statistics() }.tombstones
        if left != 0 { fail("tombstones: \(left) left after the sweep past their retention") }
        return TombstoneResult(
            tombstones: keys, heapBytesPerToken: heapBytesPerToken, heapBytesPerTombstone: heapBytesPerTombstone,
            indexBytesPerTombstone: Double(slots * 16) / Double(keys), rows: rows, dropped: remaining, purgeSeconds: purgeSeconds,
            purgedPerSecond: Double(remaining) / purgeSeconds)
    }

    /// The section of the printed report.
    static func lines(_ result: TombstoneResult) -> [String] {
        var lines = ["Tombstones (issue 14): \(Format.count(result.tombstones)) removals of anonymous keys, half uninstalls, half bounces; one thread, Swift API"]
        lines.append("  heap bytes: \(Format.fixed(result.heapBytesPerToken)) per token, \(Format.fixed(result.heapBytesPerTombstone)) per tombstone; index: \(Format.fixed(result.indexBytesPerTombstone)) per tombstone (16 a slot, before the load factor)")
        lines.append("  " + Format.pad("registration", 44, left: true) + Format.pad("ops", 8) + Format.pad("ops/s", 12) + Format.pad("outcome", 9))
        for row in result.rows {
            lines.append("  " + Format.pad(row.operation, 44, left: true) + Format.pad(Format.count(row.ops), 8)
                + Format.pad(Format.rate(row.opsPerSecond), 12) + Format.pad(row.outcome, 9))
        }
        lines.append("  a sweep past the retention dropped the other \(Format.count(result.dropped)) at \(Format.rate(result.purgedPerSecond)) tombstones/s")
        return lines
    }
}
