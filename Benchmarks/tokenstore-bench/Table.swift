/// Number formatting for the human report.
enum Format {
    /// `1234567` → `1,234,567`.
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return value < 0 ? "-" + result : result
    }

    /// `value` rounded to `digits` decimals: `fixed(2.345, 2)` → `2.35`.
    static func fixed(_ value: Double, _ digits: Int = 0) -> String {
        guard value.isFinite else { return "–" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = Int((abs(value) * scale).rounded())
        let whole = scaled / Int(scale), fraction = scaled % Int(scale)
        var text = "\(whole)"
        if digits > 0 {
            let decimals = "\(fraction)"
            text += "." + String(repeating: "0", count: digits - decimals.count) + decimals
        }
        return value < 0 && scaled != 0 ? "-" + text : text
    }

    /// Operations per second: `2.31M/s`, `812k/s`.
    static func rate(_ perSecond: Double) -> String {
        switch perSecond {
        case 1e9...: return fixed(perSecond / 1e9, 2) + "G/s"
        case 1e6...: return fixed(perSecond / 1e6, 2) + "M/s"
        case 1e3...: return fixed(perSecond / 1e3) + "k/s"
        default: return fixed(perSecond) + "/s"
        }
    }

    /// A duration in nanoseconds with a fitting unit.
    static func nanoseconds(_ ns: Double) -> String {
        switch ns {
        case 1e9...: return fixed(ns / 1e9, 2) + " s"
        case 1e7...: return fixed(ns / 1e6) + " ms"
        case 1e6...: return fixed(ns / 1e6, 1) + " ms"
        case 1e4...: return fixed(ns / 1e3) + " µs"
        case 1e3...: return fixed(ns / 1e3, 1) + " µs"
        default: return fixed(ns) + " ns"
        }
    }

    /// A duration in seconds.
    static func seconds(_ seconds: Double) -> String { nanoseconds(seconds * 1e9) }

    /// Bytes in MiB or GiB.
    static func bytes(_ bytes: Int) -> String {
        let mib = Double(bytes) / 1_048_576
        return mib >= 1024 ? fixed(mib / 1024, 1) + " GiB" : fixed(mib) + " MiB"
    }

    /// `3.2×`.
    static func ratio(_ ratio: Double) -> String {
        ratio.isFinite ? fixed(ratio, ratio >= 10 ? 0 : 2) + "×" : "–"
    }

    /// `text` padded to `width`, right-aligned unless `left`.
    static func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return left ? text + padding : padding + text
    }
}

extension Report {
    /// The human report printed on stdout.
    var table: String {
        var lines: [String] = []
        let options = self.options
        lines.append("TokenStore benchmark — \(date)")
        lines.append("machine: \(machine.model), \(machine.cores) cores, \(Format.bytes(machine.memoryBytes)) RAM, \(machine.kernel)")
        lines.append("command: \(command)")
        if machine.loadAverageAtStart >= 0.5 {
            lines.append("""
                WARNING: load average \(Format.fixed(machine.loadAverageAtStart, 2)) at start: other work on this \
                machine slows every figure below
                """)
        }
        let data = engine.dataset
        lines.append("""
            data: \(Format.count(data.records)) records, \(Format.count(data.users)) users, \
            \(Format.count(data.devices)) devices, \(data.apps) apps; \
            \(data.platforms.sorted { $0.key < $1.key }.map { "\($0.key) \(Format.count($0.value))" }.joined(separator: ", ")); \
            seed \(options.seed)
            """)
        lines.append("""
            store: \(options.shards) shards, durability \(options.durabilityLabel); \(options.threads) threads \
            for writes and lookups; total run \(Format.seconds(totalSeconds))
            """)
        lines.append("")
        lines += phaseTable
        lines.append("")
        lines += segmentTable
        lines.append("")
        lines += scalingLines
        lines += boundaryLines
        if let durability = engine.durability { lines.append(""); lines += durabilityLines(durability) }
        if let disk = engine.disk { lines.append(""); lines += diskLines(disk) }
        lines.append("")
        lines.append("Targets (issue 5)")
        for check in targets {
            let verdict = check.met.map { $0 ? "met   " : "MISSED" } ?? "n/a   "
            lines.append("  \(verdict) \(Format.pad(check.target, 52, left: true)) \(check.measured)")
        }
        return lines.joined(separator: "\n")
    }

    private var phaseTable: [String] {
        let hasBaseline = baseline != nil
        var header = Format.pad("phase", 30, left: true) + Format.pad("thr", 4) + Format.pad("ops", 12)
            + Format.pad("ops/s", 10) + Format.pad("ns/op", 8) + Format.pad("cpu", 7) + Format.pad("p50", 9) + Format.pad("p99", 9)
            + Format.pad("p99.9", 9) + Format.pad("peak RSS", 10)
        if hasBaseline {
            header += " │" + Format.pad("baseline", 10) + Format.pad("cpu", 7) + Format.pad("×", 8) + Format.pad("base RSS", 10)
        }
        var lines = [
            "Throughput: ops/s over wall time; ns/op = wall time × threads / ops; cpu = worker CPU ns per op;",
            "latency sampled every 64th op (each sample includes ~\(Int(machine.timerOverheadNs)) ns of clock reads);",
            "× = engine ops/s ÷ baseline ops/s",
            header,
            String(repeating: "─", count: header.count),
        ]
        for phase in engine.phases {
            var line = Format.pad(phase.name, 30, left: true) + Format.pad("\(phase.threads)", 4)
                + Format.pad(Format.count(phase.ops), 12) + Format.pad(Format.rate(phase.opsPerSecond), 10)
                + Format.pad(Format.fixed(phase.nsPerOp), 8) + Format.pad(Format.fixed(phase.cpuNsPerOp), 7)
                + Format.pad(phase.latency.map { Format.nanoseconds($0.p50Ns) } ?? "–", 9)
                + Format.pad(phase.latency.map { Format.nanoseconds($0.p99Ns) } ?? "–", 9)
                + Format.pad(phase.latency.map { Format.nanoseconds($0.p999Ns) } ?? "–", 9)
                + Format.pad(Format.bytes(phase.peakRSSBytes), 10)
            if hasBaseline {
                let base = baselinePhase(for: phase.name)
                line += " │" + Format.pad(base.map { Format.rate($0.opsPerSecond) } ?? "–", 10)
                    + Format.pad(base.map { Format.fixed($0.cpuNsPerOp) } ?? "–", 7)
                    + Format.pad(base.map { Format.ratio(phase.opsPerSecond / $0.opsPerSecond) } ?? "–", 8)
                    + Format.pad(base.map { Format.bytes($0.peakRSSBytes) } ?? "–", 10)
            }
            lines.append(line)
        }
        lines.append("")
        lines.append("Outcomes")
        for phase in engine.phases where !phase.outcomes.isEmpty {
            lines.append("  " + Format.pad(phase.name, 30, left: true) + "engine   " + Report.outcomes(phase.outcomes))
            if let base = baseline?.phase(phase.name), base.outcomes != phase.outcomes {
                lines.append("  " + Format.pad("", 30) + "baseline " + Report.outcomes(base.outcomes))
            }
        }
        return lines
    }

    /// The baseline row that matches an engine row: the C rows compare with the Swift engine rows.
    private func baselinePhase(for name: String) -> PhaseResult? {
        switch name {
        case PhaseName.getC, PhaseName.userTokensC: return nil
        default: return baseline?.phase(name)
        }
    }

    private var segmentTable: [String] {
        let header = Format.pad("segment", 50, left: true) + Format.pad("users", 11) + Format.pad("count", 10)
            + Format.pad("p99", 9) + Format.pad("enumerate", 12)
            + (baseline == nil ? "" : " │" + Format.pad("base count", 12) + Format.pad("×", 8)
                + Format.pad("base enum", 12) + Format.pad("×", 8))
        var lines = [
            "Segments: count = mean time of one count call; enumerate = users streamed per second",
            header,
            String(repeating: "─", count: header.count),
        ]
        for segment in engine.segments {
            var line = Format.pad(segment.segment, 50, left: true) + Format.pad(Format.count(segment.users), 11)
                + Format.pad(Format.nanoseconds(segment.countNs), 10)
                + Format.pad(segment.countLatency.map { Format.nanoseconds($0.p99Ns) } ?? "–", 9)
                + Format.pad(Format.rate(segment.usersPerSecond), 12)
            if let base = baseline?.segments.first(where: { $0.segment == segment.segment }) {
                line += " │" + Format.pad(Format.nanoseconds(base.countNs), 12)
                    + Format.pad(Format.ratio(base.countNs / segment.countNs), 8)
                    + Format.pad(Format.rate(base.usersPerSecond), 12)
                    + Format.pad(Format.ratio(segment.usersPerSecond / base.usersPerSecond), 8)
                if base.users != segment.users { line += "  (baseline counts \(Format.count(base.users)))" }
            }
            lines.append(line)
        }
        return lines
    }

    private var scalingLines: [String] {
        func scaling(_ side: SideResult) -> [String] {
            guard let one = side.phase(PhaseName.mixed(threads: 1)) else { return [] }
            return options.mixedThreads.filter { $0 > 1 }.compactMap { threads in
                side.phase(PhaseName.mixed(threads: threads)).map {
                    "\(threads) threads \(Format.ratio($0.opsPerSecond / one.opsPerSecond))"
                }
            }
        }
        var lines = ["Mixed workload (80% lookups, 15% reassignments, 5% bounces) scaling over 1 thread:"]
        lines.append("  engine   " + scaling(engine).joined(separator: ", "))
        if let baseline { lines.append("  baseline " + scaling(baseline).joined(separator: ", ")) }
        return lines
    }

    private var boundaryLines: [String] {
        func change(_ c: Double, _ swift: Double) -> String {
            let percent = (c / swift - 1) * 100
            return (percent >= 0 ? "+" : "") + Format.fixed(percent) + "%"
        }
        let pairs = [(PhaseName.getC, PhaseName.get), (PhaseName.userTokensC, PhaseName.userTokens)]
        let lines = pairs.compactMap { c, swift -> String? in
            guard let c = engine.phase(c), let swift = engine.phase(swift) else { return nil }
            var line = "  \(Format.pad(c.name, 30, left: true)) \(Format.fixed(c.nsPerOp)) vs \(Format.fixed(swift.nsPerOp)) "
                + "ns/op: \(change(c.nsPerOp, swift.nsPerOp))"
            if let cLatency = c.latency, let swiftLatency = swift.latency {
                line += "; p50 \(Format.nanoseconds(cLatency.p50Ns)) vs \(Format.nanoseconds(swiftLatency.p50Ns)): "
                    + change(cLatency.p50Ns, swiftLatency.p50Ns)
            }
            return line
        }
        return lines.isEmpty ? [] : ["", "C ABI cost over the Swift call it wraps (target ≤ +20%)"] + lines
    }

    private func durabilityLines(_ d: DurabilityResult) -> [String] {
        [
            "Reopen and recovery (each open in a fresh child process; RSS is that process's)",
            "  close (flush + checkpoint)          \(Format.seconds(d.closeSeconds))",
            "  reopen after clean close           \(Format.seconds(d.clean.seconds)), RSS right after open "
                + "\(Format.bytes(d.clean.residentBytesAfter)) (before open \(Format.bytes(d.clean.residentBytesBefore))), "
                + "\(Format.count(d.clean.records)) records",
            "  writer killed by SIGKILL after     \(Format.seconds(d.writerSeconds)), "
                + "\(Format.count(d.writerAcknowledged)) writes acknowledged",
            "  reopen with recovery               \(Format.seconds(d.recovery.seconds)), RSS right after open "
                + "\(Format.bytes(d.recovery.residentBytesAfter)), \(Format.count(d.recoveredWrites)) writes recovered, "
                + "\(Format.count(d.lostWrites)) acknowledged writes lost",
        ]
    }

    private func diskLines(_ disk: DiskResult) -> [String] {
        [
            "Disk (after a checkpoint, \(Format.seconds(disk.checkpointSeconds)); allocated bytes of the store's files)",
            "  \(Format.count(disk.records)) live records: \(Format.fixed(disk.bytesPerRecord)) B/record on disk "
                + "vs \(Format.fixed(disk.rawBytesPerRecord)) B/record raw (ids + token) = \(Format.ratio(disk.ratio))",
            "  with the \(Format.count(disk.changelogEntries)) changelog entries' raw bytes "
                + "(\(Format.bytes(disk.changelogRawBytes))) counted as raw too: \(Format.ratio(disk.ratioWithChangelogs))",
            "  files \(Format.bytes(disk.fileBytes)) logical, \(Format.bytes(disk.allocatedBytes)) allocated; "
                + "heap live \(Format.bytes(disk.liveBytes)), dead \(Format.bytes(disk.deadBytes)); log \(Format.bytes(disk.logBytes))",
        ]
    }

    private static func outcomes(_ outcomes: [String: Int]) -> String {
        outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \(Format.count($0.value))" }.joined(separator: " · ")
    }
}
