import Foundation
import Testing
import TokenStore
@testable import TokenStoreCLI

/// `tokenstore dump PATH | tokenstore load NEW` yields an identical store, with its creation options.
@Suite struct CLIDumpLoadRoundTripTests {
    private let t0 = CLI.t0

    /// Everything observable about a store's current state (not its history).
    struct Snapshot: Equatable, CustomStringConvertible {
        var records: [TokenRecord]
        var users: [String: UserState]
        var segmentCounts: [String: Int]
        var segmentMembers: [String: [String]]
        var registeredFor: [String: [String]]
        var exports: [String: String]
        var tokens: Int
        var userCount: Int
        var quarantined: Int
        var byPlatform: [Platform: Int]
        var byAuthorization: [Authorization: Int]

        var description: String { "\(records.count) records, \(users.count) users, segments \(segmentCounts)" }

        static func take(_ store: TokenStore) throws -> Snapshot {
            var records: [TokenRecord] = []
            try store.forEachRecord { records.append($0.record); return true }
            records.sort { ($0.deviceID, $0.appID) < ($1.deviceID, $1.appID) }
            var users: [String: UserState] = [:]
            try store.forEachUserState { id, state in
                users[String(decoding: id, as: UTF8.self)] = state
                return true
            }
            var segments: [(String, Segment)] = [
                ("fg", .foregroundPushEnabled), ("any", .backgroundOrForegroundPushEnabled),
                ("subscribed", .subscription(.subscribed)), ("opted_in", .subscription(.optedIn)),
                ("unsubscribed", .subscription(.unsubscribed)),
            ]
            for app in Set(records.map(\.appID)).sorted() { segments.append(("fg:\(app)", .foregroundPushEnabledForApp(app))) }
            var counts: [String: Int] = [:]
            var members: [String: [String]] = [:]
            for (name, segment) in segments {
                counts[name] = try store.count(segment)
                members[name] = try store.users(in: segment).sorted()
            }
            var registeredFor: [String: [String]] = [:]
            var exports: [String: String] = [:]
            for user in users.keys {
                registeredFor[user] = try store.registeredFor(userID: user).sorted()
                exports[user] = try store.exportJSON(userID: user).map(Self.canonicalJSON)
            }
            let statistics = try store.statistics()
            return Snapshot(
                records: records, users: users, segmentCounts: counts, segmentMembers: members,
                registeredFor: registeredFor, exports: exports, tokens: statistics.tokens, userCount: statistics.users,
                quarantined: statistics.quarantined, byPlatform: statistics.byPlatform.filter { $0.value != 0 },
                byAuthorization: statistics.byAuthorization.filter { $0.value != 0 })
        }

        /// The export with its token list in a fixed order, so shard order does not matter.
        static func canonicalJSON(_ text: String) -> String {
            guard var object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return text }
            if let tokens = object["push_tokens"] as? [[String: Any]] {
                object["push_tokens"] = tokens.sorted { "\($0["device_id"] ?? "")\($0["app"] ?? "")" < "\($1["device_id"] ?? "")\($1["app"] ?? "")" }
            }
            let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            return data.map { String(decoding: $0, as: UTF8.self) } ?? text
        }
    }

    /// A store that exercises every state a record or user can be in.
    private func populate(_ store: TokenStore) throws {
        func reg(_ device: String, _ app: String, _ n: Int, _ platform: Platform = .ios,
                 _ authorization: Authorization = .foreground, user: String? = nil, at: Int64) throws {
            let token = platform == .ios ? CLI.apnsToken(n) : "fcm:\(String(repeating: "Q", count: 140))-\(n)"
            try store.register(Registration(deviceID: device, appID: app, token: token, platform: platform,
                                            authorization: authorization, userID: user, at: at))
        }
        // Re-registered tokens: created_at earlier than updated_at.
        try reg("phone-1", "shop", 1, user: "kim", at: t0)
        try reg("phone-1", "shop", 1, user: "kim", at: t0 + 86_400_000)
        try reg("phone-1", "news", 2, .ios, .provisional, user: "kim", at: t0 + 1)
        // A token replaced on its key keeps the key's creation time semantics of the engine.
        try reg("pixel-1", "shop", 3, .android, .background, user: "lee", at: t0 + 2)
        try reg("pixel-1", "shop", 4, .android, .foreground, user: "lee", at: t0 + 3)
        // Anonymous tokens, one of them web.
        try reg("browser-1", "shop", 5, .web, .foreground, at: t0 + 4)
        try reg("pixel-2", "news", 6, .android, .background, at: t0 + 5)
        // Login on a shared device: charlie's token moves to kim, then back.
        try reg("shared", "shop", 7, user: "charlie", at: t0 + 6)
        try store.changeUser(deviceID: "shared", appID: "shop", userID: "kim", at: t0 + 7)
        try store.changeUser(deviceID: "shared", appID: "shop", userID: "charlie", at: t0 + 8)
        // Notifications turned off.
        try reg("ipad", "shop", 8, user: "dana", at: t0 + 9)
        try store.setAuthorization(deviceID: "ipad", appID: "shop", authorization: .background, at: t0 + 10)
        // Subscription histories.
        try store.setSubscription(userID: "kim", subscription: .optedIn, at: t0 + 11)
        try store.setSubscription(userID: "lee", subscription: .optedIn, at: t0 + 12)
        try store.setSubscription(userID: "lee", subscription: .unsubscribed, at: t0 + 13)
        try store.setSubscription(userID: "dana", subscription: .unsubscribed, at: t0 + 14)
        try store.setSubscription(userID: "dana", subscription: .optedIn, at: t0 + 15)
        try store.setSubscription(userID: "eve", subscription: .unsubscribed, at: t0 + 16)
        try store.setSubscription(userID: "eve", subscription: .subscribed, at: t0 + 17)
        // Users with no token left: one created by set_subscription, one whose token was removed.
        try store.setSubscription(userID: "frank", subscription: .subscribed, at: t0 + 18)
        try reg("old-phone", "shop", 9, user: "gina", at: t0 + 19)
        try store.uninstall(deviceID: "old-phone", appID: "shop", at: t0 + 20)
        try reg("dead-phone", "shop", 10, user: "hank", at: t0 + 21)
        _ = try store.bounce(token: CLI.apnsToken(10), errorCode: "BadDeviceToken", at: t0 + 22)
        // Ids that need JSON escaping.
        try reg("dev \"quoted\"\\", "app/ü", 11, user: "名前 \n newline", at: t0 + 23)
    }

    private func dumpAndLoad(from source: String, into target: String, loadArguments: [String] = []) throws -> (ToolRun, ToolRun) {
        let dump = try CLI.run(["dump", source])
        #expect(dump.status == 0, "\(dump.stderr)")
        let load = try CLI.run(["load", target, "-", "--strict"] + loadArguments, stdin: dump.stdout)
        #expect(load.status == 0, "\(load.stderr)")
        return (dump, load)
    }

    @Test func dumpThenLoadIntoAnEmptyStoreYieldsAnIdenticalStore() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let original = try CLI.withStore(dir + "/original") { store throws in
                try populate(store)
                return try Snapshot.take(store)
            }
            #expect(original.records.count == 8)
            #expect(original.users.count >= 8)
            let (dump, load) = try dumpAndLoad(from: dir + "/original", into: dir + "/copy")
            #expect(load.stdout.contains("rejected 0"))
            let copy = try CLI.withStore(dir + "/copy") { try Snapshot.take($0) }
            #expect(copy.records == original.records)
            #expect(copy.users == original.users)
            #expect(copy.segmentCounts == original.segmentCounts)
            #expect(copy.segmentMembers == original.segmentMembers)
            #expect(copy.registeredFor == original.registeredFor)
            #expect(copy.exports == original.exports)
            #expect(copy == original)
            // A second dump of the copy has the same bytes.
            let again = try CLI.run(["dump", dir + "/copy"])
            #expect(again.stdout == dump.stdout)
        }
    }

    @Test func theRoundTripKeepsRecordsAcrossDifferentShardCounts() throws {
        try CLI.withTemporaryDirectory { dir throws in
            var options = StoreOptions()
            options.shards = 1
            let original = try CLI.withStore(dir + "/original", options: options) { store throws in
                try populate(store)
                return try Snapshot.take(store)
            }
            _ = try dumpAndLoad(from: dir + "/original", into: dir + "/copy", loadArguments: ["--shards", "256"])
            let copy = try CLI.withStore(dir + "/copy") { try Snapshot.take($0) }
            #expect(copy == original)
        }
    }

    @Test func aDumpRestoresTheCreationOptionsAndQuarantinedTokensWithoutAnyFlag() throws {
        try CLI.withTemporaryDirectory { dir throws in
            var options = StoreOptions()
            (options.quarantineMisconfigured, options.shards, options.changelogLimit) = (true, 4, 7)
            let original = try CLI.withStore(dir + "/original", options: options) { store throws in
                try populate(store)
                let result = try store.bounce(token: CLI.apnsToken(1), errorCode: "MismatchSenderId", at: t0 + 86_400_000)
                #expect(result.outcome == .quarantined)
                return try Snapshot.take(store)
            }
            #expect(original.quarantined == 1)
            let (dump, load) = try dumpAndLoad(from: dir + "/original", into: dir + "/copy")
            #expect(dump.lines.first == #"{"tokenstore_dump":3,"shards":4,"quarantine_misconfigured":true,"changelog_limit":7,"tombstone_retention_ms":2592000000}"#)
            #expect(load.stderr.isEmpty)
            let copy = try CLI.withStore(dir + "/copy") { store throws in
                #expect(store.options.shards == 4)
                #expect(store.options.quarantineMisconfigured)
                #expect(store.options.changelogLimit == 7)
                return try Snapshot.take(store)
            }
            #expect(copy == original)
        }
    }

    @Test func commandLineCreationOptionsWinOverTheHeaderForANewStore() throws {
        try CLI.withTemporaryDirectory { dir throws in
            try CLI.withStore(dir + "/original") { try populate($0) }
            _ = try dumpAndLoad(from: dir + "/original", into: dir + "/copy", loadArguments: ["--shards", "2", "--changelog-limit", "9"])
            try CLI.withStore(dir + "/copy") { store throws in
                #expect(store.options.shards == 2)
                #expect(store.options.changelogLimit == 9)
            }
        }
    }

    @Test func loadingADumpIntoAStoreWithOtherOptionsKeepsThemAndSaysSo() throws {
        try CLI.withTemporaryDirectory { dir throws in
            var options = StoreOptions()
            options.shards = 4
            try CLI.withStore(dir + "/original", options: options) { try populate($0) }
            try CLI.withStore(dir + "/existing") { _ in }
            let dump = try CLI.run(["dump", dir + "/original"])
            let load = try CLI.run(["load", dir + "/existing", "-"], stdin: dump.stdout)
            #expect(load.status == 0)
            #expect(load.stderr.contains("already exists and keeps its options (shards 64,"))
            #expect(load.stderr.contains("the input asked for shards 4,"))
            try CLI.withStore(dir + "/existing") { store throws in #expect(store.options.shards == 64) }
        }
    }

    @Test func aFormatOneDumpOfEventsStillLoadsAndSaysWhenQuarantineIsNotRestored() throws {
        try CLI.withTemporaryDirectory { dir throws in
            // What `dump` wrote before it had a header: events only.
            let formatOne = [
                #"{"event":"set_subscription","user_id":"kim","subscription":"opted_in","at":\#(t0)}"#,
                #"{"event":"register","device_id":"d","app_id":"a","token":"\#(CLI.apnsToken(1))","platform":"ios","#
                    + #""authorization":"foreground","user_id":"kim","created_at":\#(t0),"at":\#(t0 + 5),"quarantined":true}"#,
            ].joined(separator: "\n") + "\n"
            let load = try CLI.run(["load", dir + "/copy", "-"], stdin: formatOne)
            #expect(load.status == 0, "\(load.stderr)")
            #expect(load.stdout.contains("1 quarantined records were loaded as ordinary tokens"))
            try CLI.withStore(dir + "/copy") { store throws in
                let record = try #require(try store.token(deviceID: "d", appID: "a"))
                #expect(record.createdAt == t0)
                #expect(record.updatedAt == t0 + 5)
                #expect(try store.user(userID: "kim")?.subscription == .optedIn)
            }
        }
    }

    @Test func dumpWritesTheHeaderThenUsersWithTheirChangesThenTokensThenTombstonesThenStatistics() throws {
        try CLI.withTemporaryDirectory { dir throws in
            try CLI.withStore(dir + "/s") { try populate($0) }
            let dump = try CLI.run(["dump", dir + "/s"])
            let kinds = try dump.lines.map { line -> String in
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                if object["tokenstore_dump"] != nil { return "header" }
                return try #require(object["record"] as? String)
            }
            #expect(kinds.first == "header")
            #expect(kinds.last == "bounce_statistics")
            let firstToken = try #require(kinds.firstIndex(of: "token"))
            #expect(kinds[1..<firstToken].allSatisfy { $0 == "user" || $0 == "change" })
            let firstTombstone = kinds.firstIndex(of: "tombstone") ?? (kinds.count - 1)
            #expect(kinds[firstToken..<firstTombstone].allSatisfy { $0 == "token" })
            #expect(kinds[firstTombstone..<(kinds.count - 1)].allSatisfy { $0 == "tombstone" })
            #expect(kinds.count(where: { $0 == "token" }) == 8)
            #expect(kinds[1] == "user")
        }
    }

    @Test func anEmptyStoreDumpsToItsHeaderAndZeroStatistics() throws {
        try CLI.withTemporaryDirectory { dir throws in
            try CLI.withStore(dir + "/s") { _ in }
            let dump = try CLI.run(["dump", dir + "/s"])
            #expect(dump.status == 0)
            #expect(dump.lines.count == 2)
            #expect(dump.lines.last?.hasPrefix(#"{"record":"bounce_statistics","by_outcome":{"removed":0,"#) == true)
        }
    }

    @Test(.enabled(if: CLI.binary != nil, "needs the built tokenstore executable"))
    func theBuiltBinaryRoundTripsThroughAPipe() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let original = try CLI.withStore(dir + "/original") { store throws in
                try populate(store)
                return try Snapshot.take(store)
            }
            let binary = try #require(CLI.binary)
            let dump = Process(), load = Process()
            dump.executableURL = URL(fileURLWithPath: binary)
            dump.arguments = ["dump", dir + "/original"]
            load.executableURL = URL(fileURLWithPath: binary)
            load.arguments = ["load", dir + "/copy", "-", "--strict"]
            let pipe = Pipe()
            dump.standardOutput = pipe
            load.standardInput = pipe
            let out = Pipe()
            load.standardOutput = out
            try dump.run()
            try load.run()
            let summary = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            dump.waitUntilExit()
            load.waitUntilExit()
            #expect(dump.terminationStatus == 0)
            #expect(load.terminationStatus == 0)
            #expect(summary.contains("rejected 0"))
            let copy = try CLI.withStore(dir + "/copy") { try Snapshot.take($0) }
            #expect(copy == original)
            #expect(try CLI.run(["dump", dir + "/copy"]).stdout == (try CLI.run(["dump", dir + "/original"])).stdout)
        }
    }
}

/// Issue 14 in the dump format: the header's tombstone retention and the tombstone records.
@Suite struct CLITombstoneDumpTests {
    private static let t0: Int64 = 1_795_860_000_000

    @Test func aFormatTwoHeaderLoadsWithTheDefaultTombstoneRetention() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let header = #"{"tokenstore_dump":2,"shards":4,"quarantine_misconfigured":false,"changelog_limit":64}"#
            let load = try CLI.run(["load", dir + "/s", "-", "--strict"], stdin: header + "\n")
            #expect(load.status == 0, "\(load.stderr)")
            try CLI.withStore(dir + "/s") { store throws in
                #expect(store.options.tombstoneRetention == StoreOptions.defaultTombstoneRetention)
            }
        }
    }

    @Test func theRetentionFlagOverridesTheHeadersForANewStore() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let header = #"{"tokenstore_dump":3,"shards":4,"quarantine_misconfigured":false,"changelog_limit":64,"tombstone_retention_ms":604800000}"#
            #expect(try CLI.run(["load", dir + "/header", "-"], stdin: header + "\n").status == 0)
            #expect(try CLI.run(["load", dir + "/flag", "-", "--tombstone-retention-days", "3"], stdin: header + "\n").status == 0)
            try CLI.withStore(dir + "/header") { store throws in #expect(store.options.tombstoneRetention == 7 * 86_400_000) }
            try CLI.withStore(dir + "/flag") { store throws in #expect(store.options.tombstoneRetention == 3 * 86_400_000) }
            let stat = try CLI.run(["stat", dir + "/flag"])
            #expect(stat.stdout.contains("tombstones kept:  3 days"))
        }
    }

    @Test func aRetentionFlagOutOfRangeIsAUsageError() throws {
        try CLI.withTemporaryDirectory { dir throws in
            for bad in ["0", "-1", "49711", "2.5", "x", "99999999999999999"] {
                let run = try CLI.run(["load", dir + "/s", "-", "--tombstone-retention-days", bad], stdin: "")
                #expect(run.status == 1, "\(bad)")
                #expect(run.stderr.contains("--tombstone-retention-days must be a number from 1 to 49710"), "\(bad)")
            }
        }
    }

    @Test func aLoadedTombstoneRefusesALateRegistrationOfItsKey() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let tokenHash = String(ModelStore.hash(CLI.apnsToken(1)), radix: 16)
            let padded = String(repeating: "0", count: 16 - tokenHash.count) + tokenHash
            let lines = [
                #"{"tokenstore_dump":3,"shards":4,"quarantine_misconfigured":false,"changelog_limit":64,"tombstone_retention_ms":2592000000}"#,
                #"{"record":"tombstone","device_id":"d","app_id":"a","token_hash":"\#(padded)","at":\#(Self.t0 + 100),"bounced":true}"#,
                CLI.register("d", "a", CLI.apnsToken(1), at: Self.t0 + 50),
                CLI.register("other", "a", CLI.apnsToken(1), at: Self.t0 + 60),
            ]
            let load = try CLI.run(["load", dir + "/s", "-", "--strict"], stdin: lines.joined(separator: "\n") + "\n")
            #expect(load.status == 0, "\(load.stderr)")
            #expect(load.stdout.contains("applied 1, stale 2"), "\(load.stdout)")
            let dump = try CLI.run(["dump", dir + "/s"])
            #expect(dump.lines.contains(#"{"record":"tombstone","device_id":"d","app_id":"a","token_hash":"\#(padded)","at":\#(Self.t0 + 100),"bounced":true}"#))
        }
    }

    @Test func aTombstoneRecordWithABadHashIsRejected() throws {
        try CLI.withTemporaryDirectory { dir throws in
            for hash in ["", "123", "ABCDEF0123456789", "0123456789abcdeg", "0123456789abcdef0"] {
                let line = #"{"record":"tombstone","device_id":"d","app_id":"a","token_hash":"\#(hash)","at":1}"#
                let load = try CLI.run(["load", dir + "/s", "-"], stdin: line + "\n")
                #expect(load.status == 1, "\(hash)")
                #expect(load.stderr.contains("token_hash"), "\(hash): \(load.stderr)")
            }
        }
    }
}
