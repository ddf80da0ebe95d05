import Foundation
import Testing
@testable import TokenStore
@testable import TokenStoreCLI

/// `tokenstore recover`: salvage only when asked, and a report of what was dropped.
@Suite struct CLIRecoverTests {
    /// A store killed after 200 acknowledged, never-synced writes at `CLI.t0 + i`, with one
    /// bit flipped in the middle of its log; `body` gets its path.
    private func withDamagedLog<R>(_ body: (String, _ firstDropped: Int) throws -> R) throws -> R {
        try CLI.withTemporaryDirectory { dir throws in
            let live = dir + "/live", path = dir + "/store"
            var options = StoreOptions()
            options.durability = .none
            options.shards = 2
            let store = try TokenStore(path: live, options: options)
            for i in 0..<200 {
                try store.register(Registration(deviceID: "device-\(i)", appID: "shop", token: CLI.apnsToken(i), platform: .ios,
                                                authorization: .foreground, userID: "user-\(i % 7)", at: CLI.t0 + Int64(i)))
            }
            try copyStore(live, to: path)
            try store.close()
            let name = try #require(try FileManager.default.contentsOfDirectory(atPath: path).first { $0.hasPrefix("wal-") })
            var data = try readFile(path + "/" + name)
            let records = LogDamageTests.walk(data)
            try #require(records.count == 200)
            data[records[100].offset + WriteAheadLog.recordHeaderSize + 9] ^= 0x04
            try writeFile(path + "/" + name, data)
            return try body(path, 100)
        }
    }

    @Test func aStoreWithADamagedLogIsRefusedNamingTheSegmentAndTheWayOut() throws {
        try withDamagedLog { path, _ throws in
            let run = try CLI.run(["stat", path])
            #expect(run.status == 2)
            #expect(run.stderr.contains("wal-0000000000000000.log: damaged record at position"), "\(run.stderr)")
            #expect(run.stderr.contains("tokenstore recover PATH --drop-damaged-log"), "\(run.stderr)")
        }
    }

    @Test func recoverWithoutTheFlagDropsNothingAndExitsWithAUsageError() throws {
        try withDamagedLog { path, _ throws in
            let run = try CLI.run(["recover", path])
            #expect(run.status == 1)
            #expect(run.stderr.contains("--drop-damaged-log is required"))
            #expect(try CLI.run(["stat", path]).status == 2, "the store was changed")
        }
    }

    @Test func recoverDropsTheLogFromTheDamageReportsItAndTheStoreOpens() throws {
        try withDamagedLog { path, first throws in
            let run = try CLI.run(["recover", path, "--drop-damaged-log"])
            #expect(run.status == 0, "\(run.stderr)")
            let lines = run.lines
            #expect(lines.first == "dropped the log from its damage on; the store opens again")
            #expect(lines.contains { $0.hasPrefix("damage:    wal-0000000000000000.log: damaged record at position ") })
            #expect(lines.contains { $0.hasPrefix("positions: ") })
            #expect(lines.contains("writes:    \(199 - first) readable writes"), "\(lines)")
            let from = TimeFormat.iso8601(milliseconds: CLI.t0 + Int64(first + 1))
            let to = TimeFormat.iso8601(milliseconds: CLI.t0 + 199)
            #expect(lines.contains("times:     \(from) to \(to)"), "\(lines)")
            #expect(lines.contains("files:     wal-0000000000000000.log"))

            let stat = try CLI.run(["stat", path])
            #expect(stat.status == 0, "\(stat.stderr)")
            #expect(stat.stdout.contains("tokens:           \(first)"), "\(stat.stdout)")
            #expect(try CLI.run(["verify", path]).status == 0)
            // Once salvaged, there is nothing left to drop.
            #expect(try CLI.run(["recover", path, "--drop-damaged-log"]).lines == ["nothing dropped: the log is sound"])
        }
    }

    @Test func recoverOfNoStoreIsAStoreError() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let run = try CLI.run(["recover", dir + "/absent", "--drop-damaged-log"])
            #expect(run.status == 2)
            #expect(run.stderr.contains("no store at"))
            #expect(!FileManager.default.fileExists(atPath: dir + "/absent"))
        }
    }

    @Test func recoverIsListedAndHasHelp() throws {
        #expect(try CLI.run(["--help"]).stdout.contains("  recover    salvage a store whose log is damaged"))
        let help = try CLI.run(["recover", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.hasPrefix("Usage: tokenstore recover PATH --drop-damaged-log"))
    }
}
