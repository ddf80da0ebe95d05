#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a tool run reads and writes: the process's standard streams, or memory for tests.
public final class ToolIO {
    /// Results.
    public let stdout: OutputStream
    /// Diagnostics and progress.
    public let stderr: OutputStream
    /// Standard input, read by `load` when FILE is `-`.
    public let stdinDescriptor: Int32
    /// Whether progress may be drawn on stderr.
    public let showsProgress: Bool
    /// Whether standard input is a terminal (then `load -` says it is waiting).
    public let stdinIsTerminal: Bool
    /// The directory searched for `tokenstore-bench`; `nil` when unknown.
    public let executableDirectory: String?

    /// Creates a context.
    public init(
        stdout: OutputStream, stderr: OutputStream, stdinDescriptor: Int32 = 0, showsProgress: Bool = false,
        stdinIsTerminal: Bool = false, executableDirectory: String? = nil
    ) {
        self.stdout = stdout
        self.stderr = stderr
        self.stdinDescriptor = stdinDescriptor
        self.showsProgress = showsProgress
        self.stdinIsTerminal = stdinIsTerminal
        self.executableDirectory = executableDirectory
    }

    /// The process's streams; progress is shown only when stderr is a terminal.
    public static func standard() -> ToolIO {
        ToolIO(
            stdout: OutputStream(descriptor: 1), stderr: OutputStream(descriptor: 2, capacity: 1 << 12),
            stdinDescriptor: 0, showsProgress: isatty(2) == 1, stdinIsTerminal: isatty(0) == 1,
            executableDirectory: currentExecutableDirectory())
    }

    /// Memory streams, for running the tool inside a test.
    public static func capturing(stdinDescriptor: Int32 = 0, executableDirectory: String? = nil) -> ToolIO {
        ToolIO(
            stdout: OutputStream(capturing: ()), stderr: OutputStream(capturing: ()), stdinDescriptor: stdinDescriptor,
            executableDirectory: executableDirectory)
    }
}

/// The directory holding the running executable, from `/proc/self/exe`.
func currentExecutableDirectory() -> String? {
    var buffer = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let path: String
    if length > 0 {
        path = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    } else {
        path = CommandLine.arguments.first ?? ""
    }
    guard let slash = path.lastIndex(of: "/") else { return nil }
    return String(path[..<slash])
}

/// A buffered writer on a file descriptor, or into memory.
///
/// Results go to stdout in large writes so that `dump` of millions of records stays cheap.
public final class OutputStream {
    private let descriptor: Int32?
    private var buffer: [UInt8] = []
    private let capacity: Int
    /// Everything written, for a memory stream.
    private var captured: [UInt8] = []
    /// The `errno` of the first write that failed (a closed pipe, a full disk); later
    /// output is dropped. The tool turns it into exit status 1 when the command ends.
    private(set) var failureErrno: Int32?
    /// Whether a write failed; loops that stream output check it to stop early.
    var failed: Bool { failureErrno != nil }

    /// Why writing failed, for the message on stderr; `nil` while every write succeeded.
    var failureDescription: String? {
        guard let failureErrno else { return nil }
        if failureErrno == EPIPE { return "the reader closed the pipe" }
        return String(cString: strerror(failureErrno))
    }

    /// A stream on `descriptor`.
    public init(descriptor: Int32, capacity: Int = 1 << 16) {
        self.descriptor = descriptor
        self.capacity = capacity
        buffer.reserveCapacity(capacity)
    }

    /// A stream that keeps what is written; read it with `text`.
    public init(capturing: Void) {
        self.descriptor = nil
        self.capacity = 1 << 16
    }

    /// What a memory stream holds (after a flush), decoded as UTF-8.
    public var text: String {
        flush()
        return String(decoding: captured, as: UTF8.self)
    }

    func write(_ string: String) {
        buffer.append(contentsOf: string.utf8)
        if buffer.count >= capacity { flush() }
    }

    func write(bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= capacity { flush() }
    }

    func line(_ string: String) {
        write(string)
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= capacity { flush() }
    }

    /// Writes one JSON object, built by `body` between its braces, as a line: the shape
    /// every `--json` report and NDJSON stream uses.
    func jsonLine(_ body: (inout JSONWriter) -> Void) {
        var writer = JSONWriter()
        writer.beginObject()
        body(&writer)
        writer.endObject()
        write(bytes: writer.bytes)
        line("")
    }

    /// Writes out what is buffered.
    public func flush() {
        defer { buffer.removeAll(keepingCapacity: true) }
        guard !failed else { return }
        guard let descriptor else {
            captured.append(contentsOf: buffer)
            return
        }
        var offset = 0
        buffer.withUnsafeBytes { raw in
            while offset < raw.count {
                let written = systemWrite(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failureErrno = errno
                    return
                }
                offset += written
            }
        }
    }
}

private func systemWrite(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, pointer, count)
    #else
    return Darwin.write(fd, pointer, count)
    #endif
}

/// A one-line progress counter on stderr, shown only when stderr is a terminal.
///
/// It redraws at most every 200 ms and erases itself when done, so piped or logged runs
/// stay quiet.
final class Progress {
    private let label: String
    private let unit: String
    private let enabled: Bool
    private var lastDraw: UInt64 = 0
    private var drawn = false

    private let stderr: OutputStream

    init(label: String, unit: String, io: ToolIO) {
        self.label = label
        self.unit = unit
        self.enabled = io.showsProgress
        self.stderr = io.stderr
    }

    /// Reports the running count; cheap enough to call per item.
    func update(_ count: Int) {
        guard enabled, count & 0x3FF == 0 else { return }
        let now = monotonicMilliseconds()
        guard now &- lastDraw >= 200 else { return }
        lastDraw = now
        drawn = true
        stderr.write("\r\u{1B}[K\(label): \(formatCount(count)) \(unit)")
        stderr.flush()
    }

    /// Shows a fixed message (for steps with no count, such as verify).
    func status(_ message: String) {
        guard enabled else { return }
        drawn = true
        stderr.write("\r\u{1B}[K\(label): \(message)")
        stderr.flush()
    }

    /// Erases the progress line.
    func finish() {
        guard enabled, drawn else { return }
        stderr.write("\r\u{1B}[K")
        stderr.flush()
        drawn = false
    }
}

/// Milliseconds on the monotonic clock.
func monotonicMilliseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1000 + UInt64(spec.tv_nsec) / 1_000_000
}

/// Nanoseconds on the monotonic clock, for rates.
func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

/// `0.0042` → `4.2 ms`, `12.5` → `12.50 s`.
func formatSeconds(_ seconds: Double) -> String {
    if seconds < 1 {
        let tenths = Int((seconds * 10_000).rounded())
        return "\(tenths / 10).\(tenths % 10) ms"
    }
    let hundredths = Int((seconds * 100).rounded())
    return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100) s"
}

/// Milliseconds since the Unix epoch, on the wall clock.
func wallClockMilliseconds() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
}

/// `1234567` → `1,234,567`.
func formatCount<T: BinaryInteger>(_ value: T) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (offset, character) in digits.enumerated() {
        if offset > 0 && (digits.count - offset) % 3 == 0 { out.append(",") }
        out.append(character)
    }
    return value < 0 ? "-" + out : out
}

/// `1536` → `1.5 KiB`.
func formatBytes(_ value: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var amount = Double(value)
    var unit = 0
    while amount >= 1024 && unit < units.count - 1 {
        amount /= 1024
        unit += 1
    }
    if unit == 0 { return "\(value) B" }
    let tenths = Int((amount * 10).rounded())
    return "\(tenths / 10).\(tenths % 10) \(units[unit])"
}
