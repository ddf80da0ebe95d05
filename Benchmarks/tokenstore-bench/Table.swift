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
        if !writeLines.isEmpty { lines += writeLines; lines.append("") }
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
        if let peers { lines.append(""); lines += peerLines(peers) }
        if let heavyUser { lines.append(""); lines += HeavyUser.lines(heavyUser) }
        if let tombstones { lines.append(""); lines += Tombstones.lines(tombstones) }
        lines.append("")
        lines += goalLines
        return lines.joined(separator: "\n")
    }

    private var phaseTable: [String] {
        let hasBaseline = baseline != nil
        var header = Format.pad("phase", 30, left: true) + Format.pad("thr", 4) + Format.pad("ops", 12)
            + Format.pad("ops/s", 10) + Format.pad("ns/op", 8) + Format.pad("cpu", 7) + Format.pad("p50", 9) + Format.pad("p99", 9)
            + Format.pad("p99.9", 9) + Format.pad("max", 9) + Format.pad("peak RSS", 10)
        if hasBaseline {
            header += " │" + Format.pad("baseline", 10) + Format.pad("cpu", 7) + Format.pad("×", 8) + Format.pad("base RSS", 10)
        }
        var lines = [
            "Throughput: ops/s over wall time; ns/op = wall time × threads / ops; cpu = worker CPU ns per op;",
            "latency sampled every 64th op, max of the samples (each includes ~\(Int(machine.timerOverheadNs)) ns of clock reads);",
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
                + Format.pad(phase.latency.map { Format.nanoseconds($0.maxNs) } ?? "–", 9)
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

    static func outcomes(_ outcomes: [String: Int]) -> String {
        outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \(Format.count($0.value))" }.joined(separator: " · ")
    }
}

extension Report {
    /// Bytes per operation that TokenStore's Swift handle wrote in each write phase.
    fileprivate var writeLines: [String] {
        let phases = engine.phases.filter { phase in
            phase.writes.map { $0.logBytes + $0.checkpointBytes + $0.otherBytes > 0 || $0.checkpoints > 0 } ?? false
        }
        guard !phases.isEmpty else { return [] }
        let header = Format.pad("phase", 30, left: true) + Format.pad("log B/op", 10) + Format.pad("ckpt B/op", 11)
            + Format.pad("other B/op", 12) + Format.pad("ckpt ÷ log", 12) + Format.pad("checkpoints", 13)
            + Format.pad("longest pause", 15)
        var lines = [
            "Writes per phase (TokenStore.writeActivity of the Swift handle); longest pause: the longest time a",
            "checkpoint held writers out; \"≤\" marks the handle's longest so far when no checkpoint of the phase exceeded it",
            header,
            String(repeating: "─", count: header.count),
        ]
        for phase in phases {
            let writes = phase.writes!
            let ops = Double(max(phase.ops, 1))
            let pause = writes.checkpoints == 0
                ? "–" : (writes.longestPauseInPhase ? "" : "≤ ") + Format.nanoseconds(writes.handleLongestPauseNs)
            lines.append(
                Format.pad(phase.name, 30, left: true) + Format.pad(Format.fixed(Double(writes.logBytes) / ops), 10)
                    + Format.pad(Format.fixed(Double(writes.checkpointBytes) / ops), 11)
                    + Format.pad(Format.fixed(Double(writes.otherBytes) / ops), 12)
                    + Format.pad(writes.logBytes == 0 ? "–" : Format.ratio(Double(writes.checkpointBytes) / Double(writes.logBytes)), 12)
                    + Format.pad(Format.count(writes.checkpoints), 13) + Format.pad(pause, 15))
        }
        return lines
    }

    /// The peer comparison: one row per phase and peer, then agreement and disk.
    fileprivate func peerLines(_ section: PeerSection) -> [String] {
        let n = section.records
        var lines = [
            "Peers (issue 10): one thread each, the same pre-rendered inputs: \(Format.count(n)) register, "
                + "\(Format.count(n)) change_user, \(Format.count(n / 10)) bounce, \(Format.count(n)) get",
            "(\(Format.bytes(section.inputBytes)) of inputs rendered in \(Format.seconds(section.renderSeconds)), untimed)",
        ]
        for peer in section.peers {
            lines.append("  \(Format.pad(peer.label, 16, left: true)) \(peer.note)")
        }
        let header = Format.pad("phase", 13, left: true) + Format.pad("peer", 16, left: true) + Format.pad("ops", 10)
            + Format.pad("ops/s", 10) + Format.pad("ns/op", 8) + Format.pad("cpu", 7) + Format.pad("p50", 9)
            + Format.pad("p99", 9) + Format.pad("p99.9", 9) + Format.pad("max", 9) + Format.pad("wchar", 8)
            + Format.pad("dirtied", 9) + Format.pad("growth", 8) + Format.pad("RSS +", 10)
        lines += [
            "Every operation timed (one clock read between operations, ~\(Int(machine.timerOverheadNs / 2)) ns each); "
                + "wchar, dirtied, growth: bytes per operation",
            "written through write calls (/proc/self/io wchar), of page cache dirtied incl. mmap (write_bytes), and of growth "
                + "of the files' allocated size;",
            "RSS +: the phase's peak resident memory over the process's just before the peer opened",
            header,
            String(repeating: "─", count: header.count),
        ]
        let ran = section.peers.filter(\.available)
        for phase in PeerPhase.allCases {
            for (index, peer) in ran.enumerated() {
                guard let result = peer.phase(phase) else { continue }
                let ops = Double(max(result.ops, 1))
                lines.append(
                    Format.pad(index == 0 ? phase.rawValue : "", 13, left: true) + Format.pad(peer.label, 16, left: true)
                        + Format.pad(Format.count(result.ops), 10) + Format.pad(Format.rate(result.opsPerSecond), 10)
                        + Format.pad(Format.fixed(result.nsPerOp), 8) + Format.pad(Format.fixed(result.cpuNsPerOp), 7)
                        + Format.pad(result.latency.map { Format.nanoseconds($0.p50Ns) } ?? "–", 9)
                        + Format.pad(result.latency.map { Format.nanoseconds($0.p99Ns) } ?? "–", 9)
                        + Format.pad(result.latency.map { Format.nanoseconds($0.p999Ns) } ?? "–", 9)
                        + Format.pad(result.latency.map { Format.nanoseconds($0.maxNs) } ?? "–", 9)
                        + Format.pad(Format.fixed(Double(result.syscallWriteBytes) / ops), 8)
                        + Format.pad(Format.fixed(Double(result.dirtiedBytes) / ops), 9)
                        + Format.pad(Format.fixed(Double(result.fileGrowthBytes) / ops), 8)
                        + Format.pad(Format.bytes(result.peakOverOpenBytes), 10))
            }
        }
        if let first = ran.first {
            lines.append("")
            lines.append("  agreement: every peer ends with \(Format.count(first.liveTokens)) live tokens and counted the same "
                + "outcomes in every phase")
            for phase in PeerPhase.allCases {
                if let outcomes = first.phase(phase)?.outcomes, !outcomes.isEmpty {
                    lines.append("    \(Format.pad(phase.rawValue, 12, left: true)) \(Report.outcomes(outcomes))")
                }
            }
            let disks = ran.filter { $0.diskAllocatedBytes > 0 }.map { peer in
                "\(peer.label) \(Format.bytes(peer.diskAllocatedBytes)) allocated (\(Format.bytes(peer.diskBytes)) logical, "
                    + "\(Format.fixed(Double(peer.diskAllocatedBytes) / Double(max(peer.liveTokens, 1)))) B/token)"
            }
            if !disks.isEmpty { lines.append("  disk after close: " + disks.joined(separator: "; ")) }
            if section.peer(.tokenstore) != nil {
                lines.append("  TokenStore's log / checkpoint / other split is counted by its Swift API only (ts_* has no accessor): "
                    + "see \"Writes per phase\"")
            }
        }
        if let campaign = section.campaign { lines.append(""); lines += campaignLines(campaign) }
        return lines
    }

    /// Issue 16: the campaign sender's calls against the composition of the calls they replace.
    fileprivate func campaignLines(_ section: CampaignSection) -> [String] {
        let header = "  " + Format.pad("campaign", 58, left: true) + Format.pad("tokens", 10) + Format.pad("users", 10)
            + Format.pad("one pass", 11) + Format.pad("two passes", 12) + Format.pad("×", 7)
        var lines = [
            "Campaign sender (issue 16): on the TokenStore peer's store after its phases, one thread, C ABI, counting callbacks;",
            "one pass = ts_campaign_tokens (median of its runs); two passes = ts_segment_users copying the ids, then "
                + "ts_sendable_tokens per user (one run); rates in tokens/s",
            header,
        ]
        for c in section.campaigns {
            lines.append(
                "  " + Format.pad(c.campaign, 58, left: true) + Format.pad(Format.count(c.tokens), 10)
                    + Format.pad(Format.count(c.users), 10) + Format.pad(Format.rate(c.onePassTokensPerSecond), 11)
                    + Format.pad(Format.rate(c.twoPassTokensPerSecond), 12) + Format.pad(Format.ratio(c.ratio), 7))
        }
        let g = section.getMany
        lines.append("  get_many: \(Format.count(g.keys)) keys (\(Format.count(g.found)) found) in batches of \(g.batch): "
            + "\(Format.rate(g.getManyKeysPerSecond)) vs a ts_get loop \(Format.rate(g.getKeysPerSecond)) = \(Format.ratio(g.ratio)) "
            + "(best of \(g.rounds) alternating rounds each)")
        return lines
    }

    /// Issue 10's goal table: measured, goal and floor, and whether each is met.
    fileprivate var goalLines: [String] {
        let header = "  " + Format.pad("", 48, left: true) + Format.pad("measured", 10) + Format.pad("goal", 9)
            + Format.pad("floor", 9) + "   " + Format.pad("floor", 7, left: true) + Format.pad("goal", 7, left: true)
        var lines = [
            "Goals (issues 10 and 16): peers and campaign sender at one thread through the C ABI; mixed, pauses and bytes "
                + "from the Swift phases",
            header,
        ]
        func verdict(_ met: Bool?) -> String { met.map { $0 ? "met" : "MISSED" } ?? "–" }
        for check in goals {
            lines.append(
                "  " + Format.pad(check.row, 48, left: true) + Format.pad(check.value == nil ? "–" : check.measured, 10)
                    + Format.pad(check.goal, 9) + Format.pad(check.floor, 9) + "   "
                    + Format.pad(verdict(check.floorMet), 7, left: true) + Format.pad(verdict(check.goalMet), 7, left: true)
                    + (check.value == nil ? check.measured : ""))
        }
        return lines
    }
}
