import Foundation
import Testing

/// A store on a filesystem that fills up gets `noSpace` from the call that needed the room,
/// and its host process lives on: mapped files reserve their blocks before use, so no page
/// of a mapping can be left without backing (which the kernel reports with `SIGBUS`).
///
/// The filesystem is a 40 MiB tmpfs mounted in a private mount namespace, so the test needs
/// the right to create one (root, or a user namespace); it is skipped elsewhere.
@Suite struct FullFilesystemTests {
    /// Whether `unshare -m` may mount a tmpfs here.
    static let canMountPrivately: Bool = {
        guard let run = try? FullFilesystemTests.shell("mkdir -p \"$1\" && mount -t tmpfs -o size=1m tmpfs \"$1\"", [
            FileManager.default.temporaryDirectory.appendingPathComponent("tokenstore-mount-probe-\(UUID().uuidString)").path
        ]) else { return false }
        return run.status == 0 && !run.signaled
    }()

    @Test(.enabled(if: CLI.binary != nil && canMountPrivately, "needs the built tokenstore executable and a private tmpfs mount"))
    func registeringUntilATmpfsIsFullFailsWithNoSpaceAndNeverKillsTheProcess() throws {
        try CLI.withTemporaryDirectory { dir in
            // 60,000 registrations of 400-byte web tokens: far more than 40 MiB holds.
            var events = ""
            for i in 0..<60_000 {
                events += """
                    {"event":"register","device_id":"dev-\(i)","app_id":"app","token":"t\(i)-\(String(repeating: "x", count: 400))",\
                    "platform":"web","authorization":"foreground","user_id":"user-\(i % 5000)","at":\(1000 + i)}

                    """
            }
            let input = dir + "/events.ndjson"
            try events.write(toFile: input, atomically: false, encoding: .utf8)
            let mount = dir + "/full"
            let binary = try #require(CLI.binary)
            let run = try FullFilesystemTests.shell(
                "mkdir -p \"$1\" && mount -t tmpfs -o size=40m tmpfs \"$1\" && exec \"$2\" load \"$1/store\" \"$3\"",
                [mount, binary, input])
            #expect(!run.signaled, "the process was killed by signal \(run.status): \(run.stderr)")
            #expect(run.status == 2, "load should stop with a store error: \(run.stderr)")
            #expect(run.stderr.contains("no space left on device"), "\(run.stderr)")
            #expect(run.stdout.contains("applied"), "the lines before the full disk stay applied: \(run.stdout)")
        }
    }

    struct ShellRun {
        var status: Int32
        var signaled: Bool
        var stdout: String
        var stderr: String
    }

    /// Runs `script` with `arguments` as `$1…` in a private mount namespace.
    static func shell(_ script: String, _ arguments: [String]) throws -> ShellRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = ["-m", "/bin/sh", "-c", script, "sh"] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ShellRun(
            status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
            stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }
}
