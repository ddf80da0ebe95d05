import TokenStore

/// Phase 5's figures for one segment: the count's cost and the enumeration's rate.
struct SegmentResult: Codable, Sendable {
    /// The segment's label.
    var segment: String
    /// Users in the segment.
    var users: Int
    /// `count` calls timed.
    var countCalls: Int
    /// Mean cost of one `count` call.
    var countNs: Double
    /// Per-call latency percentiles of `count`.
    var countLatency: Latency?
    /// Full enumerations timed.
    var enumerations: Int
    /// Mean time of one full enumeration.
    var enumerationSeconds: Double
    /// Users streamed per second.
    var usersPerSecond: Double
    /// Peak resident memory during the segment's measurements.
    var peakRSSBytes: Int
}

extension PhaseSuite {
    /// The segments measured: the three push-enabled filters (one app for the per-app filter)
    /// and the three subscription states.
    var segments: [(label: String, segment: Segment)] {
        [
            ("Foreground Push Enabled", .foregroundPushEnabled),
            ("Foreground Push Enabled for \(plans.dataset.apps[0])", .foregroundPushEnabledForApp(plans.dataset.apps[0])),
            ("Background or Foreground Push Enabled", .backgroundOrForegroundPushEnabled),
            ("Subscription = subscribed", .subscription(.subscribed)),
            ("Subscription = opted_in", .subscription(.optedIn)),
            ("Subscription = unsubscribed", .subscription(.unsubscribed)),
        ]
    }

    /// Phase 5: each segment's count, repeated for `budgetSeconds`, then its full enumeration.
    func segmentPhase(budgetSeconds: Double) -> [SegmentResult] {
        segments.map { label, segment in
            Memory.resetPeak()
            var users = 0
            let counts = repeatTimed(budgetSeconds: budgetSeconds, maxCalls: 100_000) { users = store.count(segment) }
            var streamed = 0
            let enumerations = repeatTimed(budgetSeconds: budgetSeconds, maxCalls: 1000) {
                streamed = 0
                store.enumerate(segment) { _ in streamed += 1 }
            }
            let enumerationSeconds = Double(enumerations.nanoseconds) / Double(enumerations.samples.count) / 1e9
            return SegmentResult(
                segment: label, users: users, countCalls: counts.samples.count,
                countNs: Double(counts.nanoseconds) / Double(counts.samples.count), countLatency: Latency(counts.samples),
                enumerations: enumerations.samples.count, enumerationSeconds: enumerationSeconds,
                usersPerSecond: enumerationSeconds > 0 ? Double(streamed) / enumerationSeconds : 0,
                peakRSSBytes: Memory.peakResidentBytes)
        }
    }

    /// Calls `body` until `budgetSeconds` have passed (at least once, at most `maxCalls`),
    /// timing each call.
    private func repeatTimed(budgetSeconds: Double, maxCalls: Int, _ body: () -> Void)
        -> (nanoseconds: UInt64, samples: [UInt64])
    {
        let budget = UInt64(budgetSeconds * 1e9)
        var samples: [UInt64] = []
        var total: UInt64 = 0
        repeat {
            let start = monotonicNanoseconds()
            body()
            let elapsed = monotonicNanoseconds() - start
            samples.append(elapsed)
            total += elapsed
        } while total < budget && samples.count < maxCalls
        return (total, samples)
    }
}
