import Testing
@testable import TokenStoreCLI

/// The hand-written argument parser, durations and time formatting.
@Suite struct CLIArgumentParsingTests {
    private let spec = ArgumentSpec(
        positionals: ["PATH"], optionalPositionals: ["FILE"], flags: ["--strict"], options: ["--older-than"])

    @Test func optionsTakeValuesWithASpaceOrAnEqualsSign() throws {
        let spaced = try ArgumentParser.parse(["/s", "--older-than", "3d"], spec: spec)
        let joined = try ArgumentParser.parse(["--older-than=3d", "/s"], spec: spec)
        #expect(spaced["--older-than"] == "3d")
        #expect(joined["--older-than"] == "3d")
        #expect(joined.positionals == ["/s"])
    }

    @Test func aLoneDashIsAPositionalAndDoubleDashEndsOptions() throws {
        let parsed = try ArgumentParser.parse(["/s", "-"], spec: spec)
        #expect(parsed.positionals == ["/s", "-"])
        let ended = try ArgumentParser.parse(["--", "--strict"], spec: spec)
        #expect(ended.positionals == ["--strict"])
        #expect(!ended.has("--strict"))
    }

    @Test(arguments: [
        (["--bogus", "/s"], "unknown option"),
        (["/s", "--older-than"], "needs a value"),
        (["/s", "--strict=yes"], "takes no value"),
        (["/s", "--strict", "--strict"], "twice"),
        ([String](), "missing PATH"),
        (["/a", "/b", "/c"], "too many arguments"),
    ])
    func mistakesAreUsageErrors(arguments: [String], message: String) {
        do {
            _ = try ArgumentParser.parse(arguments, spec: spec)
            Issue.record("accepted \(arguments)")
        } catch {
            #expect(error.exitCode == .usage)
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test(arguments: [
        ("270d", Int64(270) * 86_400_000), ("12h", 43_200_000), ("30m", 1_800_000), ("45s", 45_000),
        ("500ms", 500), ("0s", 0),
    ])
    func durationsAcceptDaysHoursMinutesSecondsAndMilliseconds(text: String, milliseconds: Int64) {
        #expect(TimeFormat.parseDuration(text) == milliseconds)
    }

    @Test(arguments: ["", "d", "10", "10w", "-5d", "1.5d", "ms", "99999999999999999d", " 5d"])
    func malformedDurationsAreRefused(text: String) {
        #expect(TimeFormat.parseDuration(text) == nil)
    }

    @Test func timesFormatAsISO8601InUTC() {
        #expect(TimeFormat.iso8601(milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(TimeFormat.iso8601(milliseconds: 1_795_860_000_123) == "2026-11-28T10:00:00.123Z")
        #expect(TimeFormat.iso8601(milliseconds: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
        #expect(TimeFormat.iso8601(milliseconds: -1) == "1969-12-31T23:59:59.999Z")
    }
}
