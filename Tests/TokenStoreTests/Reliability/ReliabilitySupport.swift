import Foundation
import Testing
@testable import TokenStore

#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory for one test, removed (with everything in it) when the value goes.
final class ScratchDirectory {
    let path: String

    init(_ label: String = "reliability") {
        path = FileManager.default.temporaryDirectory.path + "/tokenstore-\(label)-\(UUID().uuidString)"
        mkdir(path, 0o700)
    }

    /// A path inside the directory (not created).
    func sub(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Copies every regular file of `source` into `destination` (created, mode 0700).
func copyStore(_ source: String, to destination: String) throws {
    mkdir(destination, 0o700)
    for name in try FileManager.default.contentsOfDirectory(atPath: source) {
        let data = try Data(contentsOf: URL(fileURLWithPath: source + "/" + name))
        try writeFile(destination + "/" + name, data)
    }
}

/// Writes `data` to `path` with mode 0600, replacing any file there.
func writeFile(_ path: String, _ data: Data) throws {
    unlink(path)
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw TokenStoreError(.io, "open \(path)") }
    defer { close(fd) }
    // Sparse: whole pages of zeros are left as holes (a log segment is mostly zeros).
    guard ftruncate(fd, off_t(data.count)) == 0 else { throw TokenStoreError(.io, "ftruncate \(path)") }
    try data.withUnsafeBytes { raw in
        var page = 0
        while page < raw.count {
            let n = min(4096, raw.count - page)
            let chunk = UnsafeRawBufferPointer(rebasing: raw[page..<(page + n)])
            if memcmp(chunk.baseAddress!, zeroPage, n) != 0 {
                var done = 0
                while done < n {
                    let w = pwrite(fd, chunk.baseAddress! + done, n - done, off_t(page + done))
                    guard w > 0 else { throw TokenStoreError(.io, "write \(path)") }
                    done += w
                }
            }
            page += n
        }
    }
}

nonisolated(unsafe) private let zeroPage = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096).initializeMemory(as: UInt8.self, repeating: 0, count: 4096)

func readFile(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

/// The `tokenstore-torture-writer` executable that `swift build` puts next to the test
/// bundle; `TOKENSTORE_TORTURE_WRITER` overrides.
enum TortureWriterBinary {
    static let path: String? = {
        let manager = FileManager.default
        if let p = ProcessInfo.processInfo.environment["TOKENSTORE_TORTURE_WRITER"], manager.isExecutableFile(atPath: p) {
            return p
        }
        var candidates: [String] = []
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(dir.appendingPathComponent("tokenstore-torture-writer").path)
            dir.deleteLastPathComponent()
        }
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(package.appendingPathComponent(".build/debug/tokenstore-torture-writer").path)
        return candidates.first { manager.isExecutableFile(atPath: $0) }
    }()
}

/// A child process spawned with `posix_spawn`, its stdout on a pipe that the parent drains
/// as it goes (so the child never blocks on a full pipe), its stderr in a file.
final class ChildProcess {
    let pid: pid_t
    private let stdoutFD: Int32
    let stderrPath: String
    private(set) var output: [UInt8] = []
    private(set) var status: Int32?

    init(_ executable: String, _ arguments: [String], stderrPath: String) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw TokenStoreError(.io, "pipe") }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // Other tests in this process may hold descriptors without O_CLOEXEC.
        if let closeFrom = ChildProcess.addCloseFrom { _ = closeFrom(&actions, 3) }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw TokenStoreError(.io, "posix_spawn: \(rc)")
        }
        self.pid = pid
        self.stdoutFD = fds[0]
        self.stderrPath = stderrPath
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (a GNU extension Swift does not import).
    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    deinit {
        if status == nil {
            kill(pid, SIGKILL)
            _ = wait()
        }
        close(stdoutFD)
    }

    /// Reads whatever stdout has until `milliseconds` pass or the pipe reaches end of file.
    /// - Returns: false at end of file.
    @discardableResult
    func pump(milliseconds: Int) -> Bool {
        let deadline = monotonicNanos() + UInt64(milliseconds) * 1_000_000
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let now = monotonicNanos()
            let left = now >= deadline ? 0 : Int32((deadline - now) / 1_000_000)
            var p = pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, left)
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { return true }
            let n = buffer.withUnsafeMutableBytes { read(stdoutFD, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            output.append(contentsOf: buffer[0..<n])
            if left == 0 && n < buffer.count { return true }
        }
    }

    /// Kills the child with `SIGKILL`, reaps it, and drains what it wrote before dying.
    func killAndDrain() {
        kill(pid, SIGKILL)
        _ = wait()
        while pump(milliseconds: 0) {
            // Stop once a read finds nothing more: the child is dead, so nothing else comes
            // (a grandchild holding the pipe would not keep us here).
            var p = pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 0) <= 0 { break }
        }
    }

    /// Waits for the child to exit, draining stdout; returns the raw wait status.
    func wait() -> Int32 {
        if let status { return status }
        var s: Int32 = 0
        while waitpid(pid, &s, 0) < 0 && errno == EINTR {}
        status = s
        return s
    }

    /// Runs until the child exits on its own or `timeout` ms pass (then kills it).
    /// - Returns: true when it exited by itself.
    func runToCompletion(timeout: Int) -> Bool {
        let deadline = monotonicNanos() + UInt64(timeout) * 1_000_000
        while monotonicNanos() < deadline {
            if !pump(milliseconds: 50) {
                _ = wait()
                return true
            }
            var s: Int32 = 0
            if waitpid(pid, &s, WNOHANG) == pid {
                status = s
                while pump(milliseconds: 0) {
                    var p = pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)
                    if poll(&p, 1, 0) <= 0 { break }
                }
                return true
            }
        }
        killAndDrain()
        return false
    }

    /// Complete lines of stdout (a line cut off by the kill is dropped).
    var lines: [Substring] {
        let text = String(decoding: output, as: UTF8.self)
        var all = text.split(separator: "\n", omittingEmptySubsequences: false)
        all.removeLast()  // after the last newline: empty, or a cut-off line
        return all
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Exit code when it exited, or nil when a signal ended it.
    var exitCode: Int32? {
        guard let s = status, s & 0x7F == 0 else { return nil }
        return (s >> 8) & 0xFF
    }

    /// The signal that ended it, if any.
    var signal: Int32? {
        guard let s = status, s & 0x7F != 0, s & 0x7F != 0x7F else { return nil }
        return s & 0x7F
    }
}

func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// SplitMix64, seedable so that a failing run can be replayed from its printed seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A seed from `TOKENSTORE_RELIABILITY_SEED`, or a fresh one; tests print it.
func reliabilitySeed() -> UInt64 {
    if let s = ProcessInfo.processInfo.environment["TOKENSTORE_RELIABILITY_SEED"], let n = UInt64(s) { return n }
    return UInt64.random(in: 1...UInt64(UInt32.max))
}

/// Store options for reliability tests: few shards, small checkpoints.
func reliabilityOptions(
    shards: Int = 2, durability: Durability = .interval(milliseconds: 50), checkpointLogBytes: Int = 1 << 20
) -> StoreOptions {
    var o = StoreOptions()
    o.shards = shards
    o.durability = durability
    o.checkpointLogBytes = checkpointLogBytes
    o.changelogLimit = 8
    return o
}
