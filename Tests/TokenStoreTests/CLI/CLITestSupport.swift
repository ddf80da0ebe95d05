import Foundation
import Testing
import TokenStore
@testable import TokenStoreCLI

/// What one `tokenstore` run produced.
struct ToolRun {
    var status: Int32
    var stdout: String
    var stderr: String

    /// stdout split into lines, without the trailing empty one.
    var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
}

/// Helpers for CLI tests: temporary stores, in-process runs, and the built binary.
enum CLI {
    /// A fixed event time (2026-11-28T10:00:00Z) so outputs are stable.
    static let t0: Int64 = 1_795_860_000_000

    /// Runs the tool in this process with `arguments`; `stdin` is fed through a temporary file.
    static func run(_ arguments: [String], stdin: String? = nil) throws -> ToolRun {
        var descriptor: Int32 = 0
        var inputURL: URL?
        if let stdin {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("tokenstore-stdin-\(UUID().uuidString)")
            try Data(stdin.utf8).write(to: url)
            descriptor = open(url.path, O_RDONLY)
            inputURL = url
        }
        defer {
            if let inputURL {
                close(descriptor)
                try? FileManager.default.removeItem(at: inputURL)
            }
        }
        let io = ToolIO.capturing(stdinDescriptor: stdin == nil ? -1 : descriptor)
        let status = TokenstoreTool.run(arguments, io: io)
        return ToolRun(status: status, stdout: io.stdout.text, stderr: io.stderr.text)
    }

    /// Calls `body` with a fresh directory path that is removed afterwards.
    static func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tokenstore-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url.path)
    }

    /// Opens (creating) a store at `path`, runs `body`, and closes it so the tool can open it.
    static func withStore<R>(_ path: String, options: StoreOptions = StoreOptions(), _ body: (TokenStore) throws -> R) throws -> R {
        var options = options
        options.durability = .none
        let store = try TokenStore(path: path, options: options)
        do {
            let result = try body(store)
            try store.close()
            return result
        } catch {
            try? store.close()
            throw error
        }
    }

    /// kim: an iOS foreground token on "shop" and a background Android token on "news";
    /// lee: unsubscribed with a web token; an anonymous token; 3 users, 4 tokens.
    static func withSampleStore<R>(_ body: (String) throws -> R) throws -> R {
        try CLI.withTemporaryDirectory { dir throws in
            let path = dir + "/store"
            try CLI.withStore(path) { store throws in
                try store.register(Registration(deviceID: "iphone", appID: "shop", token: CLI.apnsToken(1), platform: .ios,
                                                authorization: .foreground, userID: "kim", at: CLI.t0))
                try store.register(Registration(deviceID: "pixel", appID: "news", token: "fcm-2", platform: .android,
                                                authorization: .background, userID: "kim", at: CLI.t0 + 1))
                try store.register(Registration(deviceID: "browser", appID: "shop", token: "https://push.example/3",
                                                platform: .web, authorization: .foreground, userID: "lee", at: CLI.t0 + 2))
                try store.register(Registration(deviceID: "kiosk", appID: "shop", token: CLI.apnsToken(4), platform: .ios,
                                                authorization: .provisional, at: CLI.t0 + 3))
                try store.setSubscription(userID: "kim", subscription: .optedIn, at: CLI.t0 + 4)
                try store.setSubscription(userID: "lee", subscription: .unsubscribed, at: CLI.t0 + 5)
                try store.setSubscription(userID: "max", subscription: .subscribed, at: CLI.t0 + 6)
            }
            return try body(path)
        }
    }

    /// Writes `text` to `name` inside `directory` and returns its path.
    static func write(_ text: String, to name: String, in directory: String) throws -> String {
        let path = directory + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// An APNs-shaped token (64 hex characters) that differs per `n`.
    static func apnsToken(_ n: Int) -> String {
        let hex = String(n, radix: 16)
        return String(repeating: "a", count: 64 - hex.count) + hex
    }

    /// One register event line.
    static func register(
        _ device: String, _ app: String, _ token: String, platform: String = "ios",
        authorization: String = "foreground", user: String? = nil, at: Int64
    ) -> String {
        let userPart = user.map { ",\"user_id\":\"\($0)\"" } ?? ""
        return "{\"event\":\"register\",\"device_id\":\"\(device)\",\"app_id\":\"\(app)\",\"token\":\"\(token)\","
            + "\"platform\":\"\(platform)\",\"authorization\":\"\(authorization)\"\(userPart),\"at\":\(at)}"
    }

    /// The built `tokenstore` executable, when `swift build` produced one.
    ///
    /// Looks next to the test bundle (`.build/<triple>/debug`), then in `.build/debug` of the
    /// package that holds this file; `TOKENSTORE_CLI` overrides both.
    static let binary: String? = {
        let manager = FileManager.default
        if let path = ProcessInfo.processInfo.environment["TOKENSTORE_CLI"], manager.isExecutableFile(atPath: path) {
            return path
        }
        var candidates: [String] = []
        var bundle = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(bundle.appendingPathComponent("tokenstore").path)
            bundle.deleteLastPathComponent()
        }
        let package = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(package.appendingPathComponent(".build/debug/tokenstore").path)
        var isDirectory: ObjCBool = false
        return candidates.first {
            manager.fileExists(atPath: $0, isDirectory: &isDirectory) && !isDirectory.boolValue
                && manager.isExecutableFile(atPath: $0) && isCurrentTool($0)
        }
    }()

    /// Whether the executable at `path` is this tool (not a stale build): `--version` answers.
    private static func isCurrentTool(_ path: String) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["--version"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self) == "tokenstore \(TokenStore.libraryVersion) (store format \(TokenStore.formatVersion))\n"
    }

    /// Runs the built binary as a child process.
    static func spawn(_ arguments: [String], stdin: FileHandle? = nil) throws -> ToolRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(binary))
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        if let stdin { process.standardInput = stdin }
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ToolRun(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}
