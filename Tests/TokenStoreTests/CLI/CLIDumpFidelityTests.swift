import Foundation
import Testing
@testable import TokenStore
@testable import TokenStoreCLI

/// `dump` is a full backup and `load` restores it: every field survives, and
/// `dump | load | dump` gives the same bytes, on stores made by random workloads of every
/// operation (the model-based suite's generator).
@Suite struct CLIDumpFidelityTests {
    /// Everything a store keeps, read through the ordinary API (not the backup reads that
    /// `dump` uses), so that a field both dumps left out would still show.
    struct FullState: Equatable {
        var shards: Int
        var quarantineMisconfigured: Bool
        var changelogLimit: Int
        /// Every record with its event time and kept-bounce count, by key.
        var records: [String]
        var users: [String: UserState]
        var changelogs: [String: [ChangeEntry]]
        var statistics: StoreStatistics
        var segments: [Int]
        var tombstoneRetention: Int64
        /// Tombstones have no read but the backup's, so this one field comes from it.
        var tombstones: [Tombstone]

        static func take(_ store: TokenStore) throws -> FullState {
            var records: [String] = []
            try store.forEachRecord { view in
                records.append("\(view.record) event \(view.eventAt) kept \(view.keptBounces)")
                return true
            }
            var users: [String: UserState] = [:]
            try store.forEachUserState { id, state in
                users[String(decoding: id, as: UTF8.self)] = state
                return true
            }
            var changelogs: [String: [ChangeEntry]] = [:]
            for user in users.keys { changelogs[user] = try store.changelog(userID: user) }
            let segments: [Segment] = [
                .foregroundPushEnabled, .backgroundOrForegroundPushEnabled, .subscription(.subscribed),
                .subscription(.optedIn), .subscription(.unsubscribed),
            ] + ModelBasedTests.apps.map { .foregroundPushEnabledForApp($0) }
            var tombstones: [Tombstone] = []
            try store.forEachBackupTombstone { tombstones.append($0); return true }
            return FullState(
                shards: store.options.shards, quarantineMisconfigured: store.options.quarantineMisconfigured,
                changelogLimit: store.options.changelogLimit, records: records.sorted(), users: users,
                changelogs: changelogs, statistics: try store.statistics(), segments: try segments.map { try store.count($0) },
                tombstoneRetention: store.options.tombstoneRetention, tombstones: tombstones)
        }
    }

    /// Runs `steps` random operations of every kind (register, change_user, set_authorization,
    /// set_subscription, bounces of every outcome, uninstall, sweeps) on a new store.
    private func randomWorkload(at path: String, options: StoreOptions, seed: UInt64, steps: Int = 1500) throws {
        var rng = DomainRNG(seed: seed &* 0x2545_F491_4F6C_DD1D)
        let model = ModelStore(changelogLimit: options.changelogLimit, quarantineMisconfigured: options.quarantineMisconfigured)
        var generator = ModelBasedTests.Generator(model: model)
        try CLI.withStore(path, options: options) { store in
            for _ in 0..<steps {
                let op = generator.next(&rng)
                if case .reopen = op { continue }
                _ = ModelBasedTests.apply(op, to: model)
                _ = ModelBasedTests.apply(op, to: store)
            }
            // Random churn may end with no token holding a kept bounce or a quarantine; make
            // sure the final state has both, so that the dump must carry them.
            let token = "tail-\(seed)"
            try store.register(Registration(deviceID: "tail-device", appID: "tail-app", token: token, platform: .android,
                                            authorization: .foreground, userID: "tail-user", at: generator.clock + 1))
            _ = try store.bounce(token: token, errorCode: "Unavailable", at: generator.clock + 2)
            if options.quarantineMisconfigured {
                _ = try store.bounce(token: token, errorCode: "MismatchSenderId", at: generator.clock + 3)
            }
        }
    }

    static let workloads: [(seed: UInt64, shards: Int, quarantine: Bool, changelogLimit: Int)] = [
        (1, 4, true, 5), (2, 1, false, 64), (3, 64, true, 12),
    ]

    @Test(arguments: 0..<workloads.count)
    func dumpLoadDumpGivesTheSameBytesAfterARandomWorkload(workload: Int) throws {
        let (seed, shards, quarantine, limit) = Self.workloads[workload]
        var options = StoreOptions()
        (options.shards, options.quarantineMisconfigured, options.changelogLimit) = (shards, quarantine, limit)
        // One workload's store keeps tombstones a day instead of 30: the header carries it.
        if workload == 1 { options.tombstoneRetention = 86_400_000 }
        try CLI.withTemporaryDirectory { dir throws in
            try randomWorkload(at: dir + "/original", options: options, seed: seed)
            let first = try CLI.run(["dump", dir + "/original"])
            #expect(first.status == 0, "\(first.stderr)")
            // Plain load: the header alone must recreate the creation options.
            let load = try CLI.run(["load", dir + "/copy", "-", "--strict"], stdin: first.stdout)
            #expect(load.status == 0, "\(load.stderr)")
            #expect(load.stderr.isEmpty, "\(load.stderr)")
            let second = try CLI.run(["dump", dir + "/copy"])
            #expect(second.status == 0)
            #expect(second.stdout == first.stdout, "dump | load | dump must give the same bytes")

            let original = try CLI.withStore(dir + "/original") { try FullState.take($0) }
            let copy = try CLI.withStore(dir + "/copy") { try FullState.take($0) }
            #expect(copy == original)
            // The workload reached the fields that used to be lost.
            #expect(original.statistics.bouncesByOutcome.values.reduce(0, +) > 0)
            #expect(original.statistics.bouncesByOutcome[.kept, default: 0] > 0)
            #expect(original.records.contains { !$0.hasSuffix("kept 0") })
            #expect(original.changelogs.values.contains { !$0.isEmpty })
            #expect(!original.tombstones.isEmpty)
            #expect(original.tombstoneRetention == options.tombstoneRetention)
            if quarantine { #expect(original.statistics.quarantined > 0) }
        }
    }

    @Test func theReloadedChangelogIsOldestFirstAndKeyEventTimesStillOrderWrites() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let t0 = CLI.t0
            try CLI.withStore(dir + "/original") { store throws in
                for n in 0..<12 {
                    try store.register(Registration(deviceID: "dev-\(n)", appID: "news", token: CLI.apnsToken(n), platform: .ios,
                                                    authorization: .foreground, userID: "user-3", at: t0 + Int64(n) * 1000))
                }
                // The key's event time moves past its updated_at.
                try store.setAuthorization(deviceID: "dev-0", appID: "news", authorization: .background, at: t0 + 50_000)
            }
            let dump = try CLI.run(["dump", dir + "/original"])
            #expect(try CLI.run(["load", dir + "/copy", "-"], stdin: dump.stdout).status == 0)
            try CLI.withStore(dir + "/copy") { store throws in
                let times = try store.changelog(userID: "user-3").map(\.at)
                #expect(times == times.sorted())
                #expect(times.count == 13)
                // A write older than the key's event time (but newer than updated_at) stays stale.
                let outcome = try store.changeUser(deviceID: "dev-0", appID: "news", userID: "kim", at: t0 + 40_000)
                #expect(outcome == .stale)
            }
        }
    }
}
