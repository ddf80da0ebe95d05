import CTokenStore
import CTokenStoreHeader
import Glibc

/// One campaign measured both ways through the C ABI, on one thread.
struct CampaignResult: Codable, Sendable {
    /// What is sent: the push kind, the segment and the app.
    var campaign: String
    /// Tokens streamed (both ways stream the same ones; the run fails otherwise).
    var tokens: Int
    /// Users `ts_segment_users` listed for the composition.
    var users: Int
    /// `ts_campaign_tokens` runs timed, and the median run's time.
    var onePassRuns: Int
    var onePassSeconds: Double
    var onePassTokensPerSecond: Double
    /// The composition of today's calls: `ts_segment_users` collecting the ids, then
    /// `ts_sendable_tokens` per user. Timed once.
    var twoPassSeconds: Double
    var twoPassTokensPerSecond: Double
    /// One pass ÷ two passes, in tokens per second.
    var ratio: Double
}

/// `ts_get_many` in batches against a loop of `ts_get`, on the same keys, one thread.
struct GetManyResult: Codable, Sendable {
    /// Keys looked up by each side per round.
    var keys: Int
    /// Keys per `ts_get_many` call.
    var batch: Int
    /// Keys found (both sides find the same ones; the run fails otherwise).
    var found: Int
    /// Rounds per side, run alternately; the best round of each side counts.
    var rounds: Int
    var getSeconds: Double
    var getKeysPerSecond: Double
    var getManySeconds: Double
    var getManyKeysPerSecond: Double
    /// `ts_get_many` ÷ `ts_get`, in keys per second.
    var ratio: Double
}

/// Issue 16's figures, measured on the TokenStore peer's store right after its four phases.
struct CampaignSection: Codable, Sendable {
    var campaigns: [CampaignResult]
    var getMany: GetManyResult

    /// The campaign with the lowest one-pass rate, which the goal table reports.
    var slowest: CampaignResult? { campaigns.min { $0.onePassTokensPerSecond < $1.onePassTokensPerSecond } }
    /// The campaign with the lowest ratio over the composition.
    var leastGain: CampaignResult? { campaigns.min { $0.ratio < $1.ratio } }
}

/// The campaign sender's loop through the C ABI: `ts_campaign_tokens` against the two-pass
/// composition of today's calls, and `ts_get_many` against `ts_get`.
enum CampaignBench {
    /// Keys per `ts_get_many` call, as the issue measures it.
    static let batch = 64

    /// Measures both on the open store `handle`, whose data came from `inputs` and `apps`.
    static func run(handle: OpaquePointer, inputs: PeerInputs, apps: [String], progress: Progress) -> CampaignSection {
        let app = inputs.arena.text(apps[0])
        // The visible campaign every sender runs, and a silent one over the widest push-enabled
        // segment.
        let plans: [(label: String, segment: Int32, kind: Int32)] = [
            ("visible, Foreground Push Enabled, \(apps[0])", TS_SEGMENT_FOREGROUND_PUSH_ENABLED, TS_PUSH_VISIBLE),
            ("silent, Background or Foreground Push Enabled, \(apps[0])",
             TS_SEGMENT_BACKGROUND_OR_FOREGROUND_PUSH_ENABLED, TS_PUSH_SILENT),
        ]
        let campaigns = plans.map { plan in
            let result = campaign(handle, label: plan.label, segment: plan.segment, app: app, kind: plan.kind)
            progress.note("campaign \(plan.label): \(Format.count(result.tokens)) tokens, one pass "
                + "\(Format.rate(result.onePassTokensPerSecond)), two passes \(Format.rate(result.twoPassTokensPerSecond))")
            return result
        }
        let getMany = batchedGets(handle, inputs.gets)
        progress.note("get_many: \(Format.rate(getMany.getManyKeysPerSecond)) vs ts_get \(Format.rate(getMany.getKeysPerSecond))")
        return CampaignSection(campaigns: campaigns, getMany: getMany)
    }

    // MARK: Campaigns

    private static func campaign(_ handle: OpaquePointer, label: String, segment: Int32, app: Text, kind: Int32) -> CampaignResult {
        // One pass: repeated for a short budget, the median run counts.
        var samples: [UInt64] = []
        var tokens = 0
        var total: UInt64 = 0
        repeat {
            var streamed = 0
            let start = monotonicNanoseconds()
            let status = ts_campaign_tokens(handle, segment, nil, app.base, kind, countToken, &streamed)
            let elapsed = monotonicNanoseconds() - start
            guard status == TS_OK else { fail("ts_campaign_tokens failed: status \(status)") }
            tokens = streamed
            samples.append(elapsed)
            total += elapsed
        } while (total < 300_000_000 || samples.count < 3) && samples.count < 200
        let median = Double(samples.sorted()[samples.count / 2]) / 1e9

        // Two passes, as a sender writes it today: a callback may not call back into the
        // store, so the ids are copied out first.
        let ids = IDList()
        let start = monotonicNanoseconds()
        let listed = ts_segment_users(handle, segment, nil, collectID, Unmanaged.passUnretained(ids).toOpaque())
        guard listed == TS_OK else { fail("ts_segment_users failed: status \(listed)") }
        var composed = 0
        for i in 0..<ids.count {
            let status = ids.withID(i) { ts_sendable_tokens(handle, $0, app.base, kind, countToken, &composed) }
            guard status == TS_OK else { fail("ts_sendable_tokens failed: status \(status)") }
        }
        let twoPass = Double(monotonicNanoseconds() - start) / 1e9
        guard composed == tokens else {
            fail("\(label): ts_campaign_tokens streamed \(tokens) tokens, the composition \(composed)")
        }
        let onePassRate = median > 0 ? Double(tokens) / median : 0
        let twoPassRate = twoPass > 0 ? Double(tokens) / twoPass : 0
        return CampaignResult(
            campaign: label, tokens: tokens, users: ids.count, onePassRuns: samples.count, onePassSeconds: median,
            onePassTokensPerSecond: onePassRate, twoPassSeconds: twoPass, twoPassTokensPerSecond: twoPassRate,
            ratio: twoPassRate > 0 ? onePassRate / twoPassRate : 0)
    }

    /// Counts the token in the `Int` behind `context` and goes on.
    private static let countToken: ts_token_fn = { context, _ in
        context!.assumingMemoryBound(to: Int.self).pointee &+= 1
        return 0
    }

    /// Copies a user id into the `IDList` behind `context` and goes on.
    private static let collectID: ts_user_fn = { context, id, length in
        Unmanaged<IDList>.fromOpaque(context!).takeUnretainedValue().append(id!, length)
        return 0
    }

    // MARK: Batched gets

    private static func batchedGets(_ handle: OpaquePointer, _ gets: [GetInput]) -> GetManyResult {
        let n = gets.count
        let devices = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: max(n, 1))
        let apps = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: max(n, 1))
        defer {
            devices.deallocate()
            apps.deallocate()
        }
        for (i, get) in gets.enumerated() {
            devices[i] = get.deviceID.base
            apps[i] = get.appID.base
        }
        let rounds = 2
        var best = (get: UInt64.max, many: UInt64.max)
        var found = (get: 0, many: 0)
        for _ in 0..<rounds {
            var tally = Found()
            var start = monotonicNanoseconds()
            for i in 0..<n {
                let status = ts_get(handle, devices[i], apps[i], CBoundary.addTokenLength, &tally.tokenBytes)
                switch status {
                case TS_OK: tally.keys += 1
                case TS_NOTFOUND: break
                default: fail("ts_get failed: status \(status)")
                }
            }
            best.get = min(best.get, monotonicNanoseconds() - start)
            found.get = tally.keys

            tally = Found()
            start = monotonicNanoseconds()
            var first = 0
            while first < n {
                let count = min(batch, n - first)
                let status = ts_get_many(handle, count, devices + first, apps + first, countFound, &tally)
                guard status == TS_OK else { fail("ts_get_many failed: status \(status)") }
                first += count
            }
            best.many = min(best.many, monotonicNanoseconds() - start)
            found.many = tally.keys
        }
        guard found.get == found.many else { fail("ts_get found \(found.get) keys, ts_get_many \(found.many)") }
        let getSeconds = Double(best.get) / 1e9, manySeconds = Double(best.many) / 1e9
        let getRate = getSeconds > 0 ? Double(n) / getSeconds : 0
        let manyRate = manySeconds > 0 ? Double(n) / manySeconds : 0
        return GetManyResult(
            keys: n, batch: batch, found: found.get, rounds: rounds, getSeconds: getSeconds, getKeysPerSecond: getRate,
            getManySeconds: manySeconds, getManyKeysPerSecond: manyRate, ratio: getRate > 0 ? manyRate / getRate : 0)
    }

    /// What a batch callback counts: keys found, and their tokens' bytes (read as `ts_get`'s
    /// callback reads them).
    private struct Found {
        var keys = 0
        var tokenBytes = 0
    }

    /// Counts a found key into the `Found` behind `context` and goes on.
    private static let countFound: ts_batch_fn = { context, _, status, view in
        guard status == TS_OK, let view else { return 0 }
        let found = context!.assumingMemoryBound(to: Found.self)
        found.pointee.keys += 1
        found.pointee.tokenBytes &+= view.pointee.token_len
        return 0
    }
}

/// User ids copied out of a `ts_segment_users` callback, NUL-terminated, in one growing buffer.
private final class IDList {
    private var bytes: [CChar] = []
    private var starts: [Int] = []

    var count: Int { starts.count }

    func append(_ id: UnsafePointer<CChar>, _ length: Int) {
        starts.append(bytes.count)
        bytes.append(contentsOf: UnsafeBufferPointer(start: id, count: length))
        bytes.append(0)
    }

    /// Calls `body` with id `i` as a C string.
    func withID<R>(_ i: Int, _ body: (UnsafePointer<CChar>) -> R) -> R {
        bytes.withUnsafeBufferPointer { body($0.baseAddress! + starts[i]) }
    }
}
