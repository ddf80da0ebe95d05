import Glibc

/// This program run again as a child with other arguments, its stdout on a pipe.
///
/// The benchmark uses children for what must not share its process: the baseline (so each
/// side's resident memory is its own), the writer killed with SIGKILL, and each reopen (so
/// the memory right after open is the store's, not the benchmark's).
final class ChildProcess {
    /// The child's process id.
    let pid: pid_t
    private let output: Int32
    private var pending: [UInt8] = []

    /// Starts `tokenstore-bench <arguments>`; stdin and stderr are inherited.
    init(arguments: [String]) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { fail("pipe failed: errno \(errno)") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        defer { posix_spawn_file_actions_destroy(&actions) }

        let executable = ChildProcess.executablePath
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        close(fds[1])
        guard status == 0 else { fail("cannot start \(executable): errno \(status)") }
        self.pid = pid
        output = fds[0]
    }

    deinit { close(output) }

    /// The next line the child printed, without its newline; `nil` at end of output.
    func readLine() -> String? {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            guard fill() else { return nil }
        }
    }

    /// Everything the child prints until it exits.
    func readToEnd() -> [UInt8] {
        while fill() {}
        defer { pending = [] }
        return pending
    }

    /// Sends SIGKILL.
    func kill() { _ = Glibc.kill(pid, SIGKILL) }

    /// Waits for the child; fails the run unless it exited with status 0 or `allowKill` and
    /// it died of SIGKILL.
    func wait(allowKill: Bool = false) {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitCode = (status >> 8) & 0xFF, signal = status & 0x7F
        if signal == SIGKILL && allowKill { return }
        guard signal == 0, exitCode == 0 else { fail("child \(pid) failed (exit \(exitCode), signal \(signal))") }
    }

    /// Reads one chunk into `pending`; false at end of output.
    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(output, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            pending += chunk[..<count]
            return true
        }
    }

    /// The running executable, from `/proc/self/exe`.
    private static var executablePath: String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, Int(PATH_MAX))
        guard length > 0 else { fail("cannot read /proc/self/exe") }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
