#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file descriptor in large chunks and hands out its lines without copying.
///
/// Lines end at `\n`; a trailing `\r` is dropped, and a last line without a newline counts.
/// A line longer than `maxLineBytes` is skipped and reported instead of filling memory.
struct LineReader {
    /// What a line callback receives.
    enum Line {
        /// The line's bytes, valid only during the call.
        case text(UnsafeBufferPointer<UInt8>)
        /// The line was longer than the limit; its bytes were discarded.
        case tooLong
    }

    let descriptor: Int32
    let maxLineBytes: Int
    /// Whether `close` closes the descriptor (not for standard input).
    let ownsDescriptor: Bool

    /// Opens `path` for reading, or `standardInput` for `-`.
    static func open(_ path: String, standardInput: Int32, maxLineBytes: Int = 1 << 20) throws(CommandFailure) -> LineReader {
        if path == "-" { return LineReader(descriptor: standardInput, maxLineBytes: maxLineBytes, ownsDescriptor: false) }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw .input("cannot read \(path): \(String(cString: strerror(errno)))") }
        return LineReader(descriptor: fd, maxLineBytes: maxLineBytes, ownsDescriptor: true)
    }

    func close() {
        if ownsDescriptor { _ = Glibc.close(descriptor) }
    }

    /// Calls `body` with each line and its 1-based number until it returns `false`.
    func forEachLine(_ body: (Int, Line) throws(CommandFailure) -> Bool) throws(CommandFailure) {
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk * 2)
        var start = 0  // first byte of the pending line
        var end = 0  // end of valid data
        var lineNumber = 0
        var discarding = false  // inside an over-long line
        var atEOF = false
        while !atEOF {
            // Make room for another chunk.
            if buffer.count - end < chunk {
                if start > 0 {
                    buffer.withUnsafeMutableBytes { raw in
                        _ = memmove(raw.baseAddress!, raw.baseAddress! + start, end - start)
                    }
                    end -= start
                    start = 0
                }
                if buffer.count - end < chunk { buffer.append(contentsOf: repeatElement(0, count: chunk)) }
            }
            let count = buffer.withUnsafeMutableBytes { raw -> Int in
                while true {
                    let got = read(descriptor, raw.baseAddress! + end, chunk)
                    if got < 0 && errno == EINTR { continue }
                    return got
                }
            }
            if count < 0 { throw .input("reading the input failed: \(String(cString: strerror(errno)))") }
            if count == 0 { atEOF = true }
            var scan = end
            end += count
            var keepGoing = true
            try buffer.withUnsafeBufferPointer { (bytes) throws(CommandFailure) in
                while keepGoing {
                    var newline = -1
                    if scan < end,
                        let found = memchr(bytes.baseAddress! + scan, 0x0A, end - scan)
                    {
                        newline = bytes.baseAddress!.distance(to: found.assumingMemoryBound(to: UInt8.self))
                    }
                    if newline < 0 {
                        if atEOF && (end > start || discarding) {
                            newline = end  // last line without a newline
                        } else {
                            if !discarding && end - start > maxLineBytes {
                                discarding = true
                            }
                            if discarding { start = end }
                            return
                        }
                    }
                    lineNumber += 1
                    if discarding || newline - start > maxLineBytes {
                        discarding = false
                        keepGoing = try body(lineNumber, .tooLong)
                    } else {
                        var lineEnd = newline
                        if lineEnd > start && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                        keepGoing = try body(lineNumber, .text(UnsafeBufferPointer(rebasing: bytes[start..<lineEnd])))
                    }
                    start = min(newline + 1, end)
                    scan = start
                }
            }
            if !keepGoing { return }
            if atEOF { return }
        }
    }
}
