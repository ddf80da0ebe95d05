import Foundation
import Testing
import TokenStore
@testable import TokenStoreCLI

/// `tokenstore load`: NDJSON events applied in order, bad lines reported by number.
@Suite struct CLILoadTests {
    private let t0 = CLI.t0

    @Test func loadAppliesEveryEventKindAndPrintsASummary() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let a = CLI.apnsToken(1), b = CLI.apnsToken(2)
            let lines = [
                CLI.register("phone", "app", a, user: "charlie", at: t0),
                CLI.register("tablet", "app", b, platform: "ios", authorization: "provisional", user: "kim", at: t0 + 1),
                #"{"event":"change_user","device_id":"phone","app_id":"app","user_id":"kim","at":\#(t0 + 2)}"#,
                #"{"event":"set_authorization","device_id":"phone","app_id":"app","authorization":"background","at":\#(t0 + 3)}"#,
                #"{"event":"set_subscription","user_id":"kim","subscription":"opted_in","at":\#(t0 + 4)}"#,
                #"{"event":"bounce","token":"\#(b)","error_code":"Unregistered","at":\#(t0 + 5)}"#,
                #"{"event":"uninstall","device_id":"phone","app_id":"app","at":\#(t0 + 6)}"#,
            ]
            let file = try CLI.write(lines.joined(separator: "\n") + "\n", to: "events.ndjson", in: dir)
            let run = try CLI.run(["load", dir + "/store", file])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.lines.first == "applied 7, stale 0, rejected 0 (7 lines)")
            #expect(run.stderr.isEmpty, "no progress or noise when stderr is not a terminal")
            #expect(run.stdout.contains("bounces: removed 1"))
            try CLI.withStore(dir + "/store") { store throws in
                #expect(try store.count() == 0)
                #expect(try store.user(userID: "kim")?.subscription == .optedIn)
                #expect(try store.user(userID: "charlie") != nil)
                let kinds = try store.changelog(userID: "kim").map(\.kind)
                #expect(kinds.contains(.movedIn))
            }
        }
    }

    @Test func aBadLineIsReportedWithItsLineNumberAndSkipped() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let lines = [
                CLI.register("d1", "app", CLI.apnsToken(1), user: "ann", at: t0),  // 1 ok
                #"{"event":"register","device_id":"d2""#,  // 2 truncated JSON
                #"{"event":"teleport","at":1}"#,  // 3 unknown event
                "",  // 4 blank: skipped, not counted
                CLI.register("d4", "app", CLI.apnsToken(4), user: "bob", at: t0),  // 5 ok
                #"{"event":"change_user","device_id":"nowhere","app_id":"app","user_id":"bob","at":\#(t0)}"#,  // 6 no such key
                #"{"event":"uninstall","device_id":"d1","app_id":"app"}"#,  // 7 missing at
            ]
            let file = try CLI.write(lines.joined(separator: "\n"), to: "events.ndjson", in: dir)
            let run = try CLI.run(["load", dir + "/store", file])
            #expect(run.status == 1, "a rejected line fails the load, though every other line is applied")
            #expect(run.lines.first == "applied 2, stale 0, rejected 4 (7 lines)")
            let errors = run.stderr.split(separator: "\n").map(String.init)
            #expect(errors.count == 5)
            #expect(errors.last == "tokenstore load: 4 of 7 lines rejected (lines 2, 3, 6, 7); the other lines were applied")
            #expect(errors[0].hasPrefix("tokenstore load: line 2: invalid JSON at column"))
            #expect(errors[1].hasPrefix("tokenstore load: line 3: unknown event"))
            #expect(errors[2] == "tokenstore load: line 6: change_user: no token for that key")
            #expect(errors[3] == #"tokenstore load: line 7: uninstall: missing field "at""#)
            try CLI.withStore(dir + "/store") { store throws in
                #expect(try store.count() == 2)
                #expect(try store.token(deviceID: "d1", appID: "app") != nil)
            }
        }
    }

    @Test func strictStopsAtTheFirstBadLineWithNothingAfterItApplied() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let lines = [
                CLI.register("d1", "app", CLI.apnsToken(1), user: "ann", at: t0),
                #"{"event":"register","device_id":"d2","app_id":"app","token":"t","platform":"ios","authorization":"foreground","at":"yesterday"}"#,
                CLI.register("d3", "app", CLI.apnsToken(3), user: "cat", at: t0),
            ]
            let file = try CLI.write(lines.joined(separator: "\n"), to: "events.ndjson", in: dir)
            let run = try CLI.run(["load", dir + "/store", file, "--strict"])
            #expect(run.status == 1)
            #expect(run.lines.first == "applied 1, stale 0, rejected 1 (2 lines)")
            #expect(run.stderr.contains("line 2: register: field \"at\" must be an integer"))
            #expect(run.stderr.contains("stopped at line 2 (--strict)"))
            try CLI.withStore(dir + "/store") { store throws in
                #expect(try store.token(deviceID: "d1", appID: "app") != nil)
                #expect(try store.token(deviceID: "d3", appID: "app") == nil)
                #expect(try store.user(userID: "cat") == nil)
            }
        }
    }

    @Test func strictAlsoStopsAtALineTheStoreRejects() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let lines = [
                #"{"event":"uninstall","device_id":"ghost","app_id":"app","at":\#(t0)}"#,
                CLI.register("d1", "app", CLI.apnsToken(1), at: t0),
            ]
            let file = try CLI.write(lines.joined(separator: "\n"), to: "events.ndjson", in: dir)
            let run = try CLI.run(["load", dir + "/store", file, "--strict"])
            #expect(run.status == 1)
            #expect(run.stderr.contains("line 1: uninstall: no token for that key"))
            try CLI.withStore(dir + "/store") { store throws in #expect(try store.count() == 0) }
        }
    }

    @Test func aWriteOlderThanTheStoredEventTimeIsCountedAsStale() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let lines = [
                CLI.register("d1", "app", CLI.apnsToken(1), user: "kim", at: t0 + 10),
                #"{"event":"change_user","device_id":"d1","app_id":"app","user_id":"charlie","at":\#(t0 + 5)}"#,
            ]
            let file = try CLI.write(lines.joined(separator: "\n"), to: "events.ndjson", in: dir)
            let run = try CLI.run(["load", dir + "/store", file])
            #expect(run.status == 0)
            #expect(run.lines.first == "applied 1, stale 1, rejected 0 (2 lines)")
            try CLI.withStore(dir + "/store") { store throws in
                #expect(try store.token(deviceID: "d1", appID: "app")?.userID == "kim")
            }
        }
    }

    @Test func errorMessagesNeverRepeatTokensOrIds() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let secretToken = "SECRET-TOKEN-0123456789"
            let lines = [
                #"{"event":"bounce","token":"\#(secretToken)","error_code":"410","at":\#(t0)}"#,  // no such token
                #"{"event":"change_user","device_id":"SECRET-DEVICE","app_id":"SECRET-APP","user_id":"SECRET-USER","at":\#(t0)}"#,
                #"{"event":"set_subscription","user_id":"SECRET-USER","subscription":"SECRET-STATE","at":1}"#,
                #"{"event":"register","device_id":"SECRET-DEVICE","app_id":"a","token":"\#(secretToken)","platform":"ios","authorization":"foreground","at":1,"SECRET-FIELD":1}"#,
                #"{"event":"SECRET-EVENT","token":"\#(secretToken)"}"#,
                #"{"token": "\#(secretToken)" "#,
            ]
            let file = try CLI.write(lines.joined(separator: "\n"), to: "events.ndjson", in: dir)
            let run = try CLI.run(["load", dir + "/store", file])
            #expect(run.lines.first == "applied 0, stale 0, rejected 6 (6 lines)")
            #expect(!run.stderr.contains("SECRET"), "\(run.stderr)")
        }
    }

    @Test func loadReadsStandardInputWhenTheFileIsADashOrOmitted() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let input = CLI.register("d1", "app", CLI.apnsToken(1), at: t0) + "\r\n"
                + CLI.register("d2", "app", CLI.apnsToken(2), at: t0) + "\r\n"
            let dashed = try CLI.run(["load", dir + "/a", "-"], stdin: input)
            let omitted = try CLI.run(["load", dir + "/b"], stdin: input)
            #expect(dashed.lines.first == "applied 2, stale 0, rejected 0 (2 lines)")
            #expect(omitted.lines.first == "applied 2, stale 0, rejected 0 (2 lines)")
        }
    }

    @Test func anUnreadableInputFileIsAnInputErrorAndCreatesNoStore() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let run = try CLI.run(["load", dir + "/store", dir + "/missing.ndjson"])
            #expect(run.status == 1)
            #expect(run.stderr.contains("cannot read"))
            #expect(!FileManager.default.fileExists(atPath: dir + "/store"))
        }
    }

    @Test func storeOptionsAreValidatedBeforeAnythingIsOpened() throws {
        try CLI.withTemporaryDirectory { dir throws in
            for options in [["--shards", "3"], ["--durability", "sometimes"], ["--changelog-limit", "0"]] {
                let run = try CLI.run(["load", dir + "/store", "-"] + options, stdin: "")
                #expect(run.status == 1, "\(options)")
            }
            #expect(!FileManager.default.fileExists(atPath: dir + "/store"))
        }
    }

    @Test func aNewStoreTakesTheShardCountGiven() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let run = try CLI.run(["load", dir + "/store", "--shards", "8", "--durability", "always"], stdin: "")
            #expect(run.status == 0, "\(run.stderr)")
            try CLI.withStore(dir + "/store") { store throws in #expect(store.options.shards == 8) }
        }
    }

    @Test func anOverlongLineIsRejectedWithoutStoppingTheLoad() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let huge = #"{"event":"bounce","token":""# + String(repeating: "x", count: 2 << 20) + #"","error_code":"410","at":1}"#
            let input = huge + "\n" + CLI.register("d1", "app", CLI.apnsToken(1), at: t0) + "\n"
            let run = try CLI.run(["load", dir + "/store"], stdin: input)
            #expect(run.lines.first == "applied 1, stale 0, rejected 1 (2 lines)")
            #expect(run.stderr.contains("line 1: line is longer than"))
        }
    }
}
