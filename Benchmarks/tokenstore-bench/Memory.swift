import Glibc

/// Resident-memory figures of this process, from `/proc/self/status`.
enum Memory {
    /// Resets the peak (`VmHWM`) to the current resident size, so the next reading is the
    /// peak of one phase. Linux ≥ 4.0; where refused, peaks stay process-wide.
    static func resetPeak() {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return }
        _ = write(fd, "5", 1)
        close(fd)
    }

    /// The peak resident memory in bytes since start or the last `resetPeak`.
    static var peakResidentBytes: Int {
        if let kib = statusField("VmHWM") { return kib * 1024 }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }

    /// The current resident memory in bytes.
    static var residentBytes: Int { (statusField("VmRSS") ?? 0) * 1024 }

    /// A `kB` field of `/proc/self/status`.
    private static func statusField(_ name: String) -> Int? {
        guard let status = IO.readText("/proc/self/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            return Int(line.dropFirst(name.count + 1).split { $0 == " " || $0 == "\t" }.first ?? "")
        }
        return nil
    }
}
