import Glibc

/// Unbuffered output and small file reads, straight on the file descriptors, so that nothing
/// is lost to a buffer when a child is killed and no Foundation I/O is needed.
enum IO {
    /// Writes all of `bytes` to `fd`.
    static func write(_ bytes: some Collection<UInt8>, to fd: Int32) {
        var remaining = Array(bytes)[...]
        while !remaining.isEmpty {
            let written = remaining.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            remaining = remaining.dropFirst(written)
        }
    }

    /// Writes `text` to stdout.
    static func printOut(_ text: String) { write(text.utf8, to: 1) }

    /// The whole content of a small file such as `/proc/self/status`; `nil` if unreadable.
    static func readText(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var content: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            content += chunk[..<count]
        }
        return String(decoding: content, as: UTF8.self)
    }
}

/// Writes a line to stderr (unbuffered).
func printError(_ line: String) {
    IO.write((line + "\n").utf8, to: 2)
}
