import Glibc

/// The machine a run measured, for comparing runs.
struct Machine: Codable, Sendable {
    /// Online CPU cores.
    var cores: Int
    /// The CPU model from `/proc/cpuinfo`.
    var model: String
    /// Physical memory in bytes.
    var memoryBytes: Int
    /// `uname -sr`.
    var kernel: String
    /// The median cost of one `clock_gettime` pair, included in every latency sample.
    var timerOverheadNs: Double
    /// The 1-minute load average when the run started: other work on the machine skews
    /// every figure.
    var loadAverageAtStart: Double

    /// Reads the current machine.
    static func current() -> Machine {
        let cpuinfo = IO.readText("/proc/cpuinfo") ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { String($0.drop { $0 == " " || $0 == "\t" }) } ?? "unknown"
        var name = utsname()
        uname(&name)
        return Machine(
            cores: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), model: model,
            memoryBytes: Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE))),
            kernel: "\(field(name.sysname)) \(field(name.release))", timerOverheadNs: timerOverhead(),
            loadAverageAtStart: Double(IO.readText("/proc/loadavg")?.split(separator: " ").first ?? "") ?? 0)
    }

    /// A NUL-terminated C character array (a `utsname` field) as a string.
    private static func field<T>(_ characters: T) -> String {
        withUnsafeBytes(of: characters) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    private static func timerOverhead() -> Double {
        var pairs = [UInt64]()
        for _ in 0..<1001 {
            let start = monotonicNanoseconds()
            pairs.append(monotonicNanoseconds() - start)
        }
        return Double(pairs.sorted()[500])
    }
}
