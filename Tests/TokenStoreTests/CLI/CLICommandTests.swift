import Foundation
import Testing
import TokenStore
@testable import TokenStoreCLI

/// Each subcommand's happy path, its help, and the exit statuses.
@Suite struct CLICommandTests {
    private let t0 = CLI.t0

    private func withSampleStore<R>(_ body: (String) throws -> R) throws -> R { try CLI.withSampleStore(body) }

    // MARK: version

    /// The release as well as the store format, so an installed binary says which it is.
    @Test func versionPrintsTheReleaseAndTheStoreFormat() throws {
        let run = try CLI.run(["--version"])
        #expect(run.status == 0)
        #expect(run.stdout == "tokenstore \(TokenStore.libraryVersion) (store format \(TokenStore.formatVersion))\n", "\(run.stdout)")
    }

    // MARK: stat

    @Test func statReportsFormatShardsCountsSegmentsAndFiles() throws {
        try withSampleStore { path throws in
            let run = try CLI.run(["stat", path])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.contains("format version:   \(TokenStore.formatVersion)"))
            #expect(run.stdout.contains("shards:           64"))
            #expect(run.stdout.contains("tokens:           4"))
            #expect(run.stdout.contains("users:            3"))
            #expect(run.stdout.contains("by platform:      ios 2, android 1, web 1"))
            #expect(run.stdout.contains("by authorization: foreground 2, provisional 1, background 1"))
            #expect(run.stdout.contains("  foreground_push_enabled: 1"))
            #expect(run.stdout.contains("  background_or_foreground_push_enabled: 1"))
            #expect(run.stdout.contains("  unsubscribed: 1"))
            #expect(run.stdout.contains("files:"))
            #expect(run.stdout.contains("live bytes:"))
            #expect(run.stdout.contains("dead bytes:"))
            #expect(run.stdout.contains("last checkpoint:"))
        }
    }

    @Test func statJSONIsOneParsableObject() throws {
        try withSampleStore { path throws in
            let run = try CLI.run(["stat", path, "--json"])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            #expect(object["tokens"] as? Int == 4)
            #expect((object["segments"] as? [String: Any])?["opted_in"] as? Int == 1)
            #expect((object["files"] as? [Any])?.isEmpty == false)
            let heaps = (object["files"] as? [[String: Any]])?.filter { ($0["name"] as? String)?.hasSuffix(".heap") == true }
            #expect(object["shards_with_files"] as? Int == heaps?.count)
        }
    }

    /// A small store stays small, and `stat` says so: few shards with files, few bytes.
    @Test func statOfAOneRecordStoreShowsFewShardsWithFilesAndUnderAMegabyte() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let path = dir + "/store"
            try CLI.withStore(path) { store throws in
                try store.register(Registration(deviceID: "iphone", appID: "shop", token: CLI.apnsToken(1), platform: .ios,
                                                authorization: .foreground, userID: "kim", at: CLI.t0))
            }
            let run = try CLI.run(["stat", path, "--json"])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            let withFiles = try #require(object["shards_with_files"] as? Int)
            #expect(withFiles >= 1 && withFiles <= 3)
            let files = try #require(object["files"] as? [[String: Any]])
            #expect(files.count <= 12)
            #expect(files.reduce(0) { $0 + ($1["allocated_bytes"] as? Int ?? 0) } < 1 << 20)
            let text = try CLI.run(["stat", path])
            #expect(text.stdout.contains("shards:           64 (\(withFiles) with files)"), "\(text.stdout)")
        }
    }

    // MARK: get, user, changelog

    @Test func getPrintsTheKeysRecord() throws {
        try withSampleStore { path throws in
            let run = try CLI.run(["get", path, "iphone", "shop"])
            #expect(run.status == 0)
            #expect(run.lines.contains("token:         \(CLI.apnsToken(1))"))
            #expect(run.lines.contains("authorization: foreground"))
            #expect(run.lines.contains("user_id:       kim"))
            #expect(run.lines.contains("created_at:    2026-11-28T10:00:00.000Z (\(t0))"))
            let json = try CLI.run(["get", path, "kiosk", "shop", "--json"])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            #expect(object["authorization"] as? String == "provisional")
            #expect(object["user_id"] is NSNull)
            #expect(object["updated_at"] as? Int64 == t0 + 3)
        }
    }

    @Test func getOnAnEmptyKeyPrintsNothingAndSucceeds() throws {
        try withSampleStore { path throws in
            let run = try CLI.run(["get", path, "nobody", "shop"])
            #expect(run.status == 0)
            #expect(run.stdout.isEmpty)
            #expect(run.stderr.contains("no token for that key"))
            #expect(!run.stderr.contains("nobody"))
        }
    }

    @Test func userShowsSubscriptionAndPushRegisteredFor() throws {
        try withSampleStore { path throws in
            let run = try CLI.run(["user", path, "kim"])
            #expect(run.status == 0)
            #expect(run.lines.contains("subscription:    opted_in"))
            #expect(run.lines.contains("  Foreground: shop"))
            #expect(run.lines.contains("  Background: news"))
        }
    }

    @Test func userJSONIsTheStoresExport() throws {
        try withSampleStore { path throws in
            let expected = try CLI.withStore(path) { try $0.exportJSON(userID: "kim") }
            let run = try CLI.run(["user", path, "kim", "--json"])
            #expect(run.stdout == (try #require(expected)) + "\n")
        }
    }

    @Test func anUnknownUserAnswersWithNothing() throws {
        try withSampleStore { path throws in
            for arguments in [["user", path, "ghost"], ["changelog", path, "ghost"], ["changelog", path, "ghost", "--json"]] {
                let run = try CLI.run(arguments)
                #expect(run.status == 0)
                #expect(run.stdout.isEmpty)
            }
        }
    }

    @Test func anUnknownUserOrKeyIsNullInJSON() throws {
        try withSampleStore { path throws in
            for arguments in [["user", path, "ghost", "--json"], ["get", path, "nowhere", "shop", "--json"]] {
                let run = try CLI.run(arguments)
                #expect(run.status == 0)
                #expect(run.stdout == "null\n")
            }
        }
    }

    @Test func changelogListsEntriesOldestFirst() throws {
        try withSampleStore { path throws in
            let run = try CLI.run(["changelog", path, "kim"])
            #expect(run.status == 0)
            #expect(run.lines.count >= 2)
            #expect(run.lines.first?.hasPrefix("2026-11-28T10:00:00.000Z  registered  shop  iphone") == true)
            let json = try CLI.run(["changelog", path, "kim", "--json"])
            let times = try json.lines.map { line -> Int64 in
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                return try #require(object["at"] as? Int64)
            }
            #expect(times == times.sorted())
            #expect(times.count == run.lines.count)
        }
    }

    // MARK: segment

    @Test func segmentCountsAndListsUsers() throws {
        try withSampleStore { path throws in
            #expect(try CLI.run(["segment", path, "foreground_push_enabled"]).stdout == "1\n")
            #expect(try CLI.run(["segment", path, "foreground_push_enabled", "--list"]).lines == ["kim"])
            #expect(try CLI.run(["segment", path, "opted_in", "--count"]).stdout == "1\n")
            #expect(try CLI.run(["segment", path, "subscribed", "--list"]).lines == ["max"])
            #expect(try CLI.run(["segment", path, "unsubscribed", "--list"]).lines == ["lee"])
            #expect(try CLI.run(["segment", path, "background_or_foreground_push_enabled", "--list"]).lines == ["kim"])
            // Subscription is not considered for the per-app segment: lee is unsubscribed but has a web token.
            let forShop = try CLI.run(["segment", path, "foreground_push_enabled_for_app", "--app", "shop", "--list"])
            #expect(Set(forShop.lines) == ["kim", "lee"])
            #expect(try CLI.run(["segment", path, "foreground_push_enabled_for_app", "--app", "news"]).stdout == "0\n")
        }
    }

    @Test(arguments: [
        ["foreground_push_enabled_for_app"], ["opted_in", "--app", "shop"], ["everyone"],
        ["opted_in", "--count", "--list"],
    ])
    func segmentMistakesAreUsageErrors(arguments: [String]) throws {
        try withSampleStore { path throws in
            let run = try CLI.run(["segment", path] + arguments)
            #expect(run.status == 1)
            #expect(run.stderr.contains("tokenstore segment --help"))
        }
    }

    // MARK: campaign

    @Test func campaignStreamsTheSendableTokensOfTheSegmentAndReportsTheCountOnStderr() throws {
        try withSampleStore { path throws in
            let visible = try CLI.run(["campaign", path, "--segment", "background_or_foreground_push_enabled", "--app", "shop",
                                       "--kind", "visible"])
            #expect(visible.status == 0, "\(visible.stderr)")
            #expect(visible.lines == ["ios\t\(CLI.apnsToken(1))\tiphone\tkim"])
            #expect(visible.stderr.hasPrefix("tokenstore campaign: 1 tokens in "))
            #expect(!visible.stderr.contains(CLI.apnsToken(1)), "stderr never shows a token")
            // The per-app segment takes its app from --app: kim and lee, but lee is unsubscribed.
            let forShop = try CLI.run(["campaign", path, "--segment", "foreground_push_enabled_for_app", "--app", "shop",
                                       "--kind", "visible"])
            #expect(forShop.lines == visible.lines)
            // max is subscribed but owns no token; kim is opted in, not "subscribed".
            let subscribed = try CLI.run(["campaign", path, "--segment", "subscribed", "--app", "shop", "--kind", "silent"])
            #expect(subscribed.status == 0 && subscribed.stdout.isEmpty)
            #expect(subscribed.stderr.hasPrefix("tokenstore campaign: 0 tokens in "))
        }
    }

    @Test func campaignJSONIsOneObjectPerToken() throws {
        try withSampleStore { path throws in
            // Silent pushes ignore the subscription: unsubscribed lee still gets one.
            let run = try CLI.run(["campaign", path, "--segment", "unsubscribed", "--app", "shop", "--kind", "silent", "--json"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.lines.count == 1)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(run.lines[0].utf8)) as? [String: Any])
            #expect(object["device_id"] as? String == "browser")
            #expect(object["app_id"] as? String == "shop")
            #expect(object["token"] as? String == "https://push.example/3")
            #expect(object["platform"] as? String == "web")
            #expect(object["authorization"] as? String == "foreground")
            #expect(object["user_id"] as? String == "lee")
        }
    }

    @Test(arguments: [
        ["--app", "shop", "--kind", "visible"], ["--segment", "opted_in", "--kind", "visible"],
        ["--segment", "opted_in", "--app", "shop"], ["--segment", "opted_in", "--app", "shop", "--kind", "loud"],
        ["--segment", "everyone", "--app", "shop", "--kind", "silent"],
        ["--segment", "opted_in", "--segment-app", "news", "--app", "shop", "--kind", "silent"],
        ["--segment", "opted_in", "--app", "", "--kind", "silent"],
    ])
    func campaignMistakesAreUsageErrors(arguments: [String]) throws {
        try withSampleStore { path throws in
            let run = try CLI.run(["campaign", path] + arguments)
            #expect(run.status == 1)
            #expect(run.stderr.contains("tokenstore campaign --help"))
        }
    }

    // MARK: verify and sweep

    @Test func verifyPassesOnASoundStore() throws {
        try withSampleStore { path throws in
            let run = try CLI.run(["verify", path])
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            #expect(run.stdout.hasPrefix("ok: 4 tokens, 3 users"))
        }
    }

    @Test func sweepRemovesTokensOlderThanTheBound() throws {
        try withSampleStore { path throws in
            // now = t0 + 2 days + 2 ms; bound = now - 2d = t0 + 2: strictly older are t0 and t0 + 1.
            let now = String(t0 + 2 * 86_400_000 + 2)
            let dry = try CLI.run(["sweep", path, "--older-than", "2d", "--now", now, "--dry-run"])
            #expect(dry.stdout == "would expire 2 tokens last updated before 2026-11-28T10:00:00.002Z\n")
            let ios = try CLI.run(["sweep", path, "--older-than", "2d", "--now", now, "--platform", "ios"])
            #expect(ios.status == 0)
            #expect(ios.stdout.hasPrefix("expired 1 ios token "))
            let all = try CLI.run(["sweep", path, "--older-than", "48h", "--now", now])
            #expect(all.stdout.hasPrefix("expired 1 token "))
            try CLI.withStore(path) { store throws in
                #expect(try store.count() == 2)
                #expect(try store.changelog(userID: "kim").last?.kind == .expired)
            }
        }
    }

    @Test(arguments: [
        [String](), ["--older-than", "soon"], ["--older-than", "1d", "--platform", "symbian"], ["--older-than", "1d", "--now", "x"],
    ])
    func sweepNeedsAValidDuration(arguments: [String]) throws {
        try withSampleStore { path throws in
            let run = try CLI.run(["sweep", path] + arguments)
            #expect(run.status == 1)
            try CLI.withStore(path) { store throws in #expect(try store.count() == 4) }
        }
    }

    // MARK: help, usage and store errors

    @Test func everySubcommandHasHelp() throws {
        for command in commands.map { $0.name } {
            let run = try CLI.run([command, "--help"])
            #expect(run.status == 0, "\(command)")
            #expect(run.stdout.hasPrefix("Usage: tokenstore \(command)"), "\(command)")
        }
        let top = try CLI.run(["--help"])
        #expect(top.status == 0)
        #expect(top.stdout.contains(ExitCode.helpTable))
    }

    @Test func usageMistakesExitWithOne() throws {
        #expect(try CLI.run([]).status == 1)
        #expect(try CLI.run(["frobnicate"]).status == 1)
        #expect(try CLI.run(["get", "/tmp/x"]).status == 1)
        #expect(try CLI.run(["stat", "/tmp/x", "--colour"]).status == 1)
    }

    @Test func aMissingStoreIsAStoreErrorAndIsNotCreated() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let path = dir + "/absent"
            for arguments in [
                ["stat", path], ["get", path, "d", "a"], ["user", path, "u"], ["changelog", path, "u"],
                ["segment", path, "opted_in"], ["dump", path], ["verify", path], ["sweep", path, "--older-than", "1d"],
            ] {
                let run = try CLI.run(arguments)
                #expect(run.status == 2, "\(arguments)")
                #expect(run.stderr.contains("no store at"), "\(arguments): \(run.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test func benchExplainsWhenTheBenchmarkIsNotInstalled() throws {
        let run = try CLI.run(["bench", "--quick"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("tokenstore-bench"))
    }

    @Test(.enabled(if: CLI.binary != nil, "needs the built tokenstore executable"))
    func theBuiltBinaryExitsWithTheDocumentedStatuses() throws {
        try withSampleStore { path throws in
            #expect(try CLI.spawn(["stat", path]).status == 0)
            #expect(try CLI.spawn(["segment", path]).status == 1)
            #expect(try CLI.spawn(["stat", path + "-missing"]).status == 2)
        }
    }
}
