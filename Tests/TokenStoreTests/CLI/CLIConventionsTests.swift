import Foundation
import Testing
import TokenStore
@testable import TokenStoreCLI

/// What every command shares: --json, what a failed write to stdout does, the exit-status
/// table, and help that points only at what ships.
@Suite struct CLIConventionsTests {
    /// Commands that write data rather than a report: `dump` (NDJSON already) and `bench`
    /// (the benchmark's own output).
    static let nonReporting: Set<String> = ["dump", "bench"]

    /// One run of each reporting command with --json, on the sample store.
    static func jsonRuns(_ path: String, scratch: String) throws -> [String: [String]] {
        let events = try CLI.write(CLI.register("d", "shop", CLI.apnsToken(9), user: "kim", at: CLI.t0 + 10) + "\n", to: "e.ndjson", in: scratch)
        return [
            "stat": ["stat", path, "--json"], "get": ["get", path, "iphone", "shop", "--json"],
            "user": ["user", path, "kim", "--json"], "changelog": ["changelog", path, "kim", "--json"],
            "segment": ["segment", path, "subscribed", "--list", "--json"], "load": ["load", path, events, "--json"],
            "verify": ["verify", path, "--json"], "sweep": ["sweep", path, "--older-than", "1d", "--dry-run", "--json"],
            "recover": ["recover", path, "--drop-damaged-log", "--json"],
            "campaign": ["campaign", path, "--segment", "background_or_foreground_push_enabled", "--app", "shop", "--kind", "silent", "--json"],
        ]
    }

    @Test func everyReportingCommandTakesJSONAndPrintsOnlyJSONLines() throws {
        try CLI.withSampleStore { path throws in
            let runs = try Self.jsonRuns(path, scratch: URL(fileURLWithPath: path).deletingLastPathComponent().path)
            for command in commands where !Self.nonReporting.contains(command.name) {
                #expect(command.spec.flags.contains("--json"), "\(command.name) has no --json")
                #expect(command.help.contains("--json"), "\(command.name)'s help does not describe --json")
                let arguments = try #require(runs[command.name], "no JSON run for \(command.name)")
                let run = try CLI.run(arguments)
                #expect(run.status == 0, "\(command.name): \(run.stderr)")
                #expect(!run.lines.isEmpty, "\(command.name) printed nothing")
                for line in run.lines {
                    #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])) != nil,
                            "\(command.name) printed a line that is not JSON: \(line)")
                }
            }
        }
    }

    @Test func segmentCountInJSONNamesTheSegmentAndTheApp() throws {
        try CLI.withSampleStore { path throws in
            let run = try CLI.run(["segment", path, "foreground_push_enabled_for_app", "--app", "shop", "--json"])
            #expect(run.stdout == #"{"segment":"foreground_push_enabled_for_app","app":"shop","count":2}"# + "\n")
        }
    }

    @Test func verifyInJSONListsNoProblemsOnASoundStore() throws {
        try CLI.withSampleStore { path throws in
            let run = try CLI.run(["verify", path, "--json"])
            #expect(run.stdout == #"{"ok":true,"tokens":4,"users":3,"problems":[]}"# + "\n")
        }
    }

    // MARK: failed writes to stdout

    /// Runs the tool in this process with stdout on `/dev/full`, where every write fails.
    private func runIntoAFullDevice(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let descriptor = open("/dev/full", O_WRONLY)
        try #require(descriptor >= 0, "no /dev/full")
        defer { close(descriptor) }
        let io = ToolIO(stdout: OutputStream(descriptor: descriptor), stderr: OutputStream(capturing: ()))
        let status = TokenstoreTool.run(arguments, io: io)
        return (status, io.stderr.text)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/full"), "needs /dev/full"))
    func everyCommandExitsOneWhenStandardOutputCannotBeWritten() throws {
        try CLI.withSampleStore { path throws in
            let scratch = URL(fileURLWithPath: path).deletingLastPathComponent().path
            var runs = try Self.jsonRuns(path, scratch: scratch)
            runs["dump"] = ["dump", path]
            runs["stat (text)"] = ["stat", path]
            runs["help"] = ["--help"]
            for (name, arguments) in runs.sorted(by: { $0.key < $1.key }) {
                let (status, stderr) = try runIntoAFullDevice(arguments)
                #expect(status == 1, "\(name)")
                #expect(stderr.contains("writing to standard output failed: No space left on device"), "\(name): \(stderr)")
            }
        }
    }

    @Test(.enabled(if: CLI.binary != nil, "needs the built tokenstore executable"))
    func theBuiltBinaryExitsOneOnAClosedPipeInsteadOfDyingOfSIGPIPE() throws {
        try CLI.withTemporaryDirectory { dir throws in
            // More than a pipe buffer of dump, so that the writer meets the closed pipe.
            try CLI.withStore(dir + "/s") { store throws in
                for n in 0..<3000 {
                    try store.register(Registration(deviceID: "device-\(n)", appID: "shop", token: CLI.apnsToken(n), platform: .ios,
                                                    authorization: .foreground, userID: "user-\(n % 50)", at: CLI.t0 + Int64(n)))
                }
            }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try #require(CLI.binary))
            process.arguments = ["dump", dir + "/s"]
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            try out.fileHandleForReading.close()
            let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationReason == .exit, "killed by a signal")
            #expect(process.terminationStatus == 1)
            #expect(message.contains("tokenstore dump: writing to standard output failed: the reader closed the pipe"))
        }
    }

    // MARK: exit statuses and help

    static let readme: String? = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return try? String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    }()

    @Test(.enabled(if: readme != nil, "needs the README next to the package"))
    func theREADMEShowsTheExitStatusTableThatHelpPrints() throws {
        let readme = try #require(Self.readme)
        let help = try CLI.run(["--help"]).stdout
        for code in ExitCode.allCases {
            #expect(readme.contains("| \(code.rawValue) | \(code.meaning) |"), "README lacks status \(code.rawValue)")
            #expect(help.contains("  \(code.rawValue)  \(code.meaning)"))
        }
    }

    @Test(.enabled(if: readme != nil, "needs the README next to the package"))
    func helpPointsOnlyAtDocumentsAndSectionsThatShip() throws {
        let readme = try #require(Self.readme)
        let headings = Set(readme.split(separator: "\n").filter { $0.hasPrefix("#") }.map {
            $0.drop(while: { $0 == "#" }).trimmingCharacters(in: .whitespaces)
        })
        let texts = [try CLI.run(["--help"]).stdout] + commands.map { $0.help }
        for text in texts {
            #expect(!text.contains(".md"), "help names a document file: \(text.prefix(60))")
            // "the README's "Section"": the section must be a heading of the README.
            var rest = Substring(text)
            while let start = rest.range(of: "README's \"") {
                rest = rest[start.upperBound...]
                let end = try #require(rest.firstIndex(of: "\""))
                let section = String(rest[..<end])
                #expect(headings.contains(section), "help points at a README section that does not exist: \(section)")
                rest = rest[end...]
            }
        }
    }

    // MARK: load's partial failures

    @Test func loadInJSONListsTheFirstRejectedLinesAndStillExitsOne() throws {
        try CLI.withTemporaryDirectory { dir throws in
            var lines = (0..<14).map { _ in #"{"event":"teleport"}"# }
            lines.insert(CLI.register("d1", "app", CLI.apnsToken(1), at: CLI.t0), at: 0)
            lines.append(CLI.register("d2", "app", CLI.apnsToken(2), at: CLI.t0))
            let run = try CLI.run(["load", dir + "/s", "-", "--json"], stdin: lines.joined(separator: "\n"))
            #expect(run.status == 1)
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            #expect(summary["applied"] as? Int == 2)
            #expect(summary["rejected"] as? Int == 14)
            #expect(summary["rejected_lines"] as? [Int] == Array(2...11))
            #expect(run.stderr.contains("14 of 16 lines rejected (lines 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, …)"))
            try CLI.withStore(dir + "/s") { store throws in #expect(try store.count() == 2) }
        }
    }

    @Test func strictLoadInJSONSaysWhereItStoppedAndAppliesNothingAfter() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let lines = [
                CLI.register("d1", "app", CLI.apnsToken(1), at: CLI.t0), #"{"event":"teleport"}"#,
                CLI.register("d3", "app", CLI.apnsToken(3), at: CLI.t0),
            ]
            let run = try CLI.run(["load", dir + "/s", "-", "--strict", "--json"], stdin: lines.joined(separator: "\n"))
            #expect(run.status == 1)
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            #expect(summary["stopped_at"] as? Int == 2)
            #expect(summary["applied"] as? Int == 1)
            try CLI.withStore(dir + "/s") { store throws in
                #expect(try store.token(deviceID: "d1", appID: "app") != nil)
                #expect(try store.token(deviceID: "d3", appID: "app") == nil)
            }
        }
    }

    @Test func aDumpHeaderAfterTheFirstLineOrOfAFutureVersionIsRejected() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let header = #"{"tokenstore_dump":2,"shards":4,"quarantine_misconfigured":false,"changelog_limit":64}"#
            let late = try CLI.run(["load", dir + "/a", "-"], stdin: CLI.register("d", "a", "t", at: CLI.t0) + "\n" + header + "\n")
            #expect(late.status == 1)
            #expect(late.stderr.contains("line 2: a dump header belongs on the first line only"))
            let future = #"{"tokenstore_dump":4,"shards":4,"quarantine_misconfigured":false,"changelog_limit":64}"#
            let newer = try CLI.run(["load", dir + "/b", "-", "--strict"], stdin: future + "\n")
            #expect(newer.status == 1)
            #expect(newer.stderr.contains("line 1: dump header: format version 4 is newer than this tool reads (3)"))
            #expect(!FileManager.default.fileExists(atPath: dir + "/b"), "a strict stop at line 1 creates no store")
        }
    }

    @Test func aLoadWhoseStoreCannotOpenPrintsNoSummary() throws {
        try CLI.withTemporaryDirectory { dir throws in
            let file = try CLI.write("", to: "afile", in: dir)
            let run = try CLI.run(["load", file, "-"], stdin: CLI.register("d", "a", "t", at: CLI.t0) + "\n")
            #expect(run.status == 2)
            #expect(run.stdout.isEmpty)
        }
    }
}
