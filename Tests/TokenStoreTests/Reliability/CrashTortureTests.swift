import Foundation
import Testing
@testable import TokenStore

#if canImport(Glibc)
import Glibc
#endif

/// Crash torture (issues 2 and 7): `tokenstore-torture-writer` runs every write operation on
/// several threads and reports each one; this test kills it with `SIGKILL` at random
/// moments (during open and recovery, explicit and automatic checkpoints, index and heap
/// growth), reopens the store, and checks that
/// - every acknowledged operation is there: each key and user is in the state its last
///   acknowledged operation left, or in the state of the one operation its thread had
///   announced but not finished (and such an operation is all there or not at all); a
///   removed key's tombstone is part of its state, and the writer follows removals with
///   late writes older than them, in the same run and after the crash, which must be stale;
/// - the indexes agree with the primary records: enumeration against lookups, each user's
///   tokens against the keys' owners, statistics and segment counts against a recount;
/// - `verify()` is clean.
///
/// `TOKENSTORE_TORTURE_KILLS` sets the total kills, split over the four campaigns (default
/// 26 each, 104 in all); `Tests/scripts/torture.sh N` runs any number and prints
/// `kills, lost, inconsistencies`. `TOKENSTORE_RELIABILITY_SEED` replays a printed seed (kill
/// timing still varies); `TOKENSTORE_TORTURE_CAMPAIGN` runs only the campaign of that name.
@Suite struct CrashTortureTests {
    struct Campaign: CustomStringConvertible, Sendable {
        var name: String
        var durability: String
        var shards: Int
        var threads: Int
        var keys: Int
        var users: Int
        var checkpointEveryMs: Int
        /// The writer uses a key range that widens every round, so the shards keep growing.
        var growing = false
        var description: String { name }
    }

    static let campaigns: [Campaign] = [
        Campaign(name: "interval-4-shards", durability: "interval:20", shards: 4, threads: 4, keys: 240, users: 40, checkpointEveryMs: 30),
        Campaign(name: "always-2-shards", durability: "always", shards: 2, threads: 3, keys: 160, users: 30, checkpointEveryMs: 50),
        Campaign(name: "none-8-shards-growth", durability: "none", shards: 8, threads: 4, keys: 3000, users: 90, checkpointEveryMs: 80,
            growing: true),
        Campaign(name: "interval-1-shard-growth", durability: "interval:5", shards: 1, threads: 2, keys: 3000, users: 60, checkpointEveryMs: 0,
            growing: true),
    ]

    static var killsPerCampaign: Int {
        let env = ProcessInfo.processInfo.environment
        let campaigns = env["TOKENSTORE_TORTURE_CAMPAIGN"] == nil ? 4 : 1
        return env["TOKENSTORE_TORTURE_KILLS"].flatMap(Int.init).map { max(1, ($0 + campaigns - 1) / campaigns) } ?? 26
    }

    @Test("Every acknowledged write survives SIGKILL and the store stays consistent", arguments: campaigns)
    func everyAcknowledgedWriteSurvivesSigkill(_ campaign: Campaign) throws {
        if let only = ProcessInfo.processInfo.environment["TOKENSTORE_TORTURE_CAMPAIGN"], only != campaign.name { return }
        let writer = try #require(TortureWriterBinary.path, "build tokenstore-torture-writer first (swift build)")
        let seed = reliabilitySeed()
        var torture = Torture(campaign: campaign, writer: writer, seed: seed)
        let started = monotonicNanos()
        for round in 0..<CrashTortureTests.killsPerCampaign {
            try torture.round(round)
            if !torture.failures.isEmpty {
                // Keep the evidence: the store as the failing round left it, and the writer's output.
                let kept = FileManager.default.temporaryDirectory.path + "/tokenstore-torture-failure-\(campaign.name)-\(seed)"
                try? FileManager.default.removeItem(atPath: kept)
                try? FileManager.default.copyItem(atPath: torture.directory.path, toPath: kept)
                torture.failures.append("store and writer output kept in \(kept)")
                break
            }
        }
        let t = torture.tally
        let seconds = Double(monotonicNanos() - started) / 1e9
        print("TORTURE \(campaign.name) seed=\(seed) kills=\(t.kills) lost=\(t.lost) inconsistencies=\(t.inconsistencies) "
            + "acked=\(t.acked) in-flight-applied=\(t.inFlightApplied) in-flight-absent=\(t.inFlightAbsent) "
            + "killed-during-open=\(t.killedDuringOpen) killed-during-checkpoint=\(t.killedDuringCheckpoint) "
            + "growth-rounds=\(t.growthRounds) seconds=\(String(format: "%.1f", seconds))")
        for failure in torture.failures.prefix(20) { Issue.record("\(campaign.name) seed \(seed): \(failure)") }
        #expect(t.lost == 0)
        #expect(t.inconsistencies == 0)
        #expect(t.kills == CrashTortureTests.killsPerCampaign || !torture.failures.isEmpty)
    }
}

/// Counts over one campaign.
struct TortureTally {
    var kills = 0
    var lost = 0
    var inconsistencies = 0
    var acked = 0
    var inFlightApplied = 0
    var inFlightAbsent = 0
    var killedDuringOpen = 0
    var killedDuringCheckpoint = 0
    var growthRounds = 0
}

/// One campaign: a store, the expected state of every entity, and the rounds of
/// spawn, write, kill, reopen and check.
struct Torture {
    let campaign: CrashTortureTests.Campaign
    let writer: String
    let seed: UInt64
    let directory = ScratchDirectory("torture")
    var rng: SeededGenerator
    var tally = TortureTally()
    var failures: [String] = []
    /// Entity ("t/K/k" or "t/U/j") → its encoded state, as the last check found it.
    var expected: [String: String] = [:]
    var shardBytes = 0

    init(campaign: CrashTortureTests.Campaign, writer: String, seed: UInt64) {
        self.campaign = campaign
        self.writer = writer
        self.seed = seed
        rng = SeededGenerator(seed: seed)
        for t in 0..<campaign.threads {
            for k in 0..<campaign.keys { expected["\(t)/K/\(k)"] = "K,\(k),-" }
            for j in 0..<campaign.users { expected["\(t)/U/\(j)"] = "U,\(j),-" }
        }
    }

    var store: String { directory.sub("store") }

    var options: StoreOptions {
        var o = reliabilityOptions(shards: campaign.shards, durability: .interval(milliseconds: 1000))
        switch campaign.durability {
        case "always": o.durability = .always
        case "none": o.durability = .none
        default: o.durability = .interval(milliseconds: Int(campaign.durability.dropFirst(9)) ?? 50)
        }
        return o
    }

    mutating func round(_ round: Int) throws {
        let rounds = CrashTortureTests.killsPerCampaign
        let keys = campaign.growing ? max(64, campaign.keys * (round + 1) / rounds) : campaign.keys
        let arguments = [
            "write", "--store", store, "--seed", String(seed &+ UInt64(round) &* 7919), "--threads", String(campaign.threads),
            "--keys", String(keys), "--users", String(campaign.users), "--durability", campaign.durability,
            "--shards", String(campaign.shards), "--checkpoint-bytes", String(1 << 20),
            "--checkpoint-every-ms", String(campaign.checkpointEveryMs), "--generation", String(round + 1),
            "--base", String(1_000_000_000_000 + Int64(round + 1) * 10_000_000),
        ]
        let child = try ChildProcess(writer, arguments, stderrPath: directory.sub("writer.stderr"))
        // One round in six kills the writer while it opens and recovers; the others once it
        // writes, at a random moment.
        if Int.random(in: 0..<6, using: &rng) == 0 {
            child.pump(milliseconds: Int.random(in: 0...200, using: &rng))
        } else {
            let deadline = monotonicNanos() + 10_000_000_000
            while child.output.first != UInt8(ascii: "R") && monotonicNanos() < deadline {
                if !child.pump(milliseconds: 5) { break }
            }
            child.pump(milliseconds: Int.random(in: 20...260, using: &rng))
        }
        child.killAndDrain()
        FileManager.default.createFile(atPath: directory.sub("writer.stdout"), contents: Data(child.output))
        tally.kills += 1
        if child.signal != SIGKILL {
            failures.append("round \(round): the writer ended before the kill (status \(child.status ?? -1)): \(child.stderr)")
            return
        }
        try check(child.lines, round: round)
    }

    /// Folds the writer's report into the expected state, then compares the reopened store.
    mutating func check(_ lines: [Substring], round: Int) throws {
        var acked = expected
        var pending: [Int: (op: Substring, states: [(String, String)])] = [:]
        var ready = false, inCheckpoint = false
        for line in lines {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            switch fields.first {
            case "R": ready = true
            case "C1": inCheckpoint = true
            case "C2": inCheckpoint = false
            case "X":
                failures.append("round \(round): the writer found a divergence: \(line)")
            case "B":
                guard fields.count >= 4, let t = Int(fields[1]) else { continue }
                var states: [(String, String)] = []
                for state in fields.dropFirst(4) {
                    let parts = state.split(separator: ",", maxSplits: 2)
                    guard parts.count >= 2 else { continue }
                    states.append(("\(t)/\(parts[0])/\(parts[1])", String(state)))
                }
                pending[t] = (fields[3], states)
            case "A":
                guard fields.count >= 2, let t = Int(fields[1]), let p = pending.removeValue(forKey: t) else { continue }
                for (entity, state) in p.states { acked[entity] = state }
                tally.acked += 1
            default: continue
            }
        }
        if !ready { tally.killedDuringOpen += 1 }
        if inCheckpoint { tally.killedDuringCheckpoint += 1 }

        let store = try TokenStore(path: self.store, options: options)
        defer { try? store.close() }
        let (actual, records) = try readState(store)

        // Every entity: its last acknowledged state, or its in-flight operation's.
        var inFlight: [String: String] = [:]
        for (_, p) in pending { for (e, s) in p.states { inFlight[e] = s } }
        for (entity, state) in actual where state != acked[entity] {
            if inFlight[entity] == state { continue }
            tally.lost += 1
            failures.append("round \(round): \(entity) is \(state), acknowledged \(acked[entity] ?? "?"), in flight \(inFlight[entity] ?? "none")")
        }
        // An in-flight operation is applied whole or not at all (a sweep is one operation per key).
        for (t, p) in pending where !p.states.isEmpty {
            var before = false, after = false
            for (e, s) in p.states {
                if actual[e] == s && acked[e] != s { after = true }
                if actual[e] == acked[e] && acked[e] != s { before = true }
            }
            if after { tally.inFlightApplied += 1 } else { tally.inFlightAbsent += 1 }
            if before && after && p.op != "sweep" {
                tally.inconsistencies += 1
                failures.append("round \(round): thread \(t)'s in-flight \(p.op) is only partly applied")
            }
        }
        expected = actual

        let problems = try store.verify()
        tally.inconsistencies += problems.count
        failures += problems.map { "round \(round): verify: \($0)" }
        let disagreements = try IndexAgreement.check(store, keys: records, campaign: campaign)
        tally.inconsistencies += disagreements.count
        failures += disagreements.map { "round \(round): \($0)" }

        let bytes = try store.storageReport().files.filter { $0.name.hasPrefix("shard-") }.reduce(0) { $0 + $1.bytes }
        if bytes > shardBytes && shardBytes > 0 { tally.growthRounds += 1 }
        shardBytes = bytes
    }

    /// The encoded state of every entity of the campaign, and the key records, read through
    /// lookups.
    func readState(_ store: TokenStore) throws -> ([String: String], [String: TokenRecord]) {
        var state: [String: String] = [:]
        var records: [String: TokenRecord] = [:]
        var tombstones: [String: Int64] = [:]
        try store.forEachBackupTombstone { tombstones[$0.deviceID + "|" + $0.appID] = $0.at; return true }
        for t in 0..<campaign.threads {
            for k in 0..<campaign.keys {
                let r = try store.token(deviceID: "t\(t)-d\(k >> 1)", appID: "com.app\(k & 1)")
                if let r { records[r.deviceID + "|" + r.appID] = r }
                state["\(t)/K/\(k)"] = r.map {
                    "K,\(k),\($0.token),\($0.userID ?? "-"),\($0.platform.rawValue),\($0.authorization.rawValue),\($0.createdAt),\($0.updatedAt)"
                } ?? tombstones["t\(t)-d\(k >> 1)|com.app\(k & 1)"].map { "K,\(k),-,\($0)" } ?? "K,\(k),-"
            }
            for j in 0..<campaign.users {
                state["\(t)/U/\(j)"] = try store.user(userID: "t\(t)-u\(j)").map { "U,\(j),\($0.subscription.rawValue)" } ?? "U,\(j),-"
            }
        }
        return (state, records)
    }
}

/// Checks that the secondary structures agree with the primary key records.
enum IndexAgreement {
    /// - Returns: one line per disagreement.
    /// - Parameter keys: every key record found by lookup, by `device|app`.
    static func check(_ store: TokenStore, keys: [String: TokenRecord], campaign: CrashTortureTests.Campaign) throws -> [String] {
        var problems: [String] = []
        // Enumeration agrees with lookups.
        var enumerated: [String: TokenRecord] = [:]
        try store.forEachRecord { view in
            let r = view.record
            if enumerated.updateValue(r, forKey: r.deviceID + "|" + r.appID) != nil { problems.append("forEachRecord lists a key twice") }
            return true
        }
        if enumerated != keys { problems.append("forEachRecord lists \(enumerated.count) keys, lookups find \(keys.count)") }
        if try store.count() != keys.count { problems.append("count() is \(try store.count()), records \(keys.count)") }
        var tokens = Set<String>()
        for r in keys.values where !tokens.insert(r.token).inserted { problems.append("a token is on two keys") }

        // Users from lookups agree with the user enumeration.
        var users: [String: UserState] = [:]
        for t in 0..<campaign.threads {
            for j in 0..<campaign.users {
                if let u = try store.user(userID: "t\(t)-u\(j)") { users["t\(t)-u\(j)"] = u }
            }
        }
        var listed: [String: Subscription] = [:]
        try store.forEachUserState { user, s in
            listed[String(decoding: user, as: UTF8.self)] = s.subscription
            return true
        }
        if listed != users.mapValues(\.subscription) { problems.append("forEachUserState lists \(listed.count) users, lookups find \(users.count)") }

        // Each user's tokens are exactly the keys it owns; owners exist.
        var owned: [String: Set<String>] = [:]
        for r in keys.values {
            guard let u = r.userID else { continue }
            owned[u, default: []].insert(r.deviceID + "|" + r.appID)
            if users[u] == nil { problems.append("a key's owner has no user record") }
        }
        for user in users.keys {
            let theirs = Set(try store.tokens(userID: user).map { $0.deviceID + "|" + $0.appID })
            if theirs != owned[user, default: []] { problems.append("tokens(userID:) lists \(theirs.count), keys owned \(owned[user, default: []].count)") }
            let changes = try store.changelog(userID: user)
            if changes.count > 8 { problems.append("a changelog holds \(changes.count) entries, limit 8") }
        }

        // Statistics and segments against a recount.
        let stats = try store.statistics()
        if stats.tokens != keys.count { problems.append("statistics.tokens \(stats.tokens), records \(keys.count)") }
        if stats.users != users.count { problems.append("statistics.users \(stats.users), users \(users.count)") }
        for p in Platform.allCases where (stats.byPlatform[p] ?? 0) != keys.values.filter({ $0.platform == p }).count {
            problems.append("statistics for \(p) disagree with the records")
        }
        for a in Authorization.allCases where (stats.byAuthorization[a] ?? 0) != keys.values.filter({ $0.authorization == a }).count {
            problems.append("statistics for \(a) disagree with the records")
        }
        var visibleApps: [String: Set<String>] = [:], anyToken = Set<String>()
        for r in keys.values where !r.isQuarantined {
            guard let u = r.userID else { continue }
            anyToken.insert(u)
            if r.authorization.allowsVisiblePush { visibleApps[u, default: []].insert(r.appID) }
        }
        func visible(_ u: String, app: String? = nil) -> Bool {
            guard let apps = visibleApps[u] else { return false }
            return app.map(apps.contains) ?? !apps.isEmpty
        }
        func any(_ u: String) -> Bool { anyToken.contains(u) }
        var segments: [(Segment, Int)] = Subscription.allCases.map { s in (.subscription(s), users.values.filter { $0.subscription == s }.count) }
        segments.append((.foregroundPushEnabled, users.filter { $0.value.subscription != .unsubscribed && visible($0.key) }.count))
        segments.append((.backgroundOrForegroundPushEnabled, users.filter { $0.value.subscription != .unsubscribed && any($0.key) }.count))
        for app in ["com.app0", "com.app1"] {
            segments.append((.foregroundPushEnabledForApp(app), users.keys.filter { visible($0, app: app) }.count))
        }
        for (segment, recount) in segments {
            let counted = try store.count(segment)
            let members = try store.users(in: segment)
            if counted != recount || members.count != recount || Set(members).count != members.count {
                problems.append("segment \(segment): count \(counted), members \(members.count), recount \(recount)")
            }
        }
        return problems
    }
}
