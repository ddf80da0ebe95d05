import Foundation
import Testing
@testable import TokenStore

private typealias F = DomainFixture

/// One operation of a random sequence.
enum ModelOp: CustomStringConvertible {
    case register(Registration)
    case changeUser(ModelKey, String?, Int64)
    case setAuthorization(ModelKey, Authorization, Int64)
    case setSubscription(String, Subscription, Int64)
    case bounce(String, String, Int64?, Int64)
    case uninstall(ModelKey, Int64)
    case sweep(Int64, Platform?, Int64)
    case reopen(shards: Int)

    private static func short(_ token: String) -> String { String(token.prefix(10)) + "…(\(token.utf8.count))" }
    private static func time(_ t: Int64) -> String { "t0+\(t - DomainFixture.t0)" }

    var description: String {
        switch self {
        case .register(let r):
            return "register(\(r.deviceID)/\(r.appID), \(Self.short(r.token)), \(r.platform), \(r.authorization), "
                + "user: \(r.userID ?? "nil"), at: \(Self.time(r.at)))"
        case .changeUser(let k, let u, let at): return "changeUser(\(k), \(u ?? "nil"), at: \(Self.time(at)))"
        case .setAuthorization(let k, let a, let at): return "setAuthorization(\(k), \(a), at: \(Self.time(at)))"
        case .setSubscription(let u, let s, let at): return "setSubscription(\(u), \(s), at: \(Self.time(at)))"
        case .bounce(let t, let c, let p, let at):
            return "bounce(\(Self.short(t)), \(c), providerTimestamp: \(p.map(Self.time) ?? "nil"), at: \(Self.time(at)))"
        case .uninstall(let k, let at): return "uninstall(\(k), at: \(Self.time(at)))"
        case .sweep(let b, let p, let at):
            return "sweep(olderThan: \(Self.time(b)), platform: \(p.map { "\($0)" } ?? "nil"), at: \(Self.time(at)))"
        case .reopen(let shards): return "close+reopen(shards option \(shards))"
        }
    }
}

/// Random sequences of every operation against the engine and `ModelStore`, compared after each step.
@Suite struct ModelBasedTests {
    static let devices = (0..<8).map { "dev-\($0)" }
    static let apps = ["app-a", "app-b", "app-c"]
    static let users = ["u0", "u1", "u2", "u3", "u4", "ü-5 \"quoted\""]
    static let keys = devices.flatMap { d in apps.map { ModelKey(device: d, app: $0) } }

    static func environment(_ name: String, _ fallback: Int) -> Int {
        ProcessInfo.processInfo.environment[name].flatMap(Int.init) ?? fallback
    }

    /// Seeds for the lenient run: `TOKENSTORE_MODEL_SEED` (first, default 1) and `TOKENSTORE_MODEL_SEEDS`
    /// (how many) override them, e.g. to replay one printed seed.
    static var lenientSeeds: [UInt64] {
        let first = UInt64(environment("TOKENSTORE_MODEL_SEED", 1))
        return (0..<UInt64(environment("TOKENSTORE_MODEL_SEEDS", 6))).map { first + $0 }
    }
    static var strictSeeds: [UInt64] {
        let first = UInt64(environment("TOKENSTORE_MODEL_SEED", 1)) + 1000
        return (0..<UInt64(max(1, environment("TOKENSTORE_MODEL_SEEDS", 6) / 3))).map { first + $0 }
    }
    static var steps: Int { environment("TOKENSTORE_MODEL_STEPS", 1000) }

    /// Everything DOMAIN.md and the issue pin down; where they leave a choice (see `ModelStore`), the
    /// model adopts the engine's changelog / updatedAt for that step and carries on.
    @Test(arguments: lenientSeeds)
    func randomSequencesAgreeWithTheReferenceModel(seed: UInt64) throws {
        try run(seed: seed, strict: false)
    }

    /// The same run, which then also fails listing every unpinned case (see `ModelStore.unpinnedCase`) the
    /// engine answers differently from this suite's assumption. A failure here is a semantics choice to
    /// align, not necessarily a bug.
    @Test(arguments: strictSeeds)
    func randomSequencesAgreeWithTheAssumedSemanticsForUnpinnedCases(seed: UInt64) throws {
        try run(seed: seed, strict: true)
    }

    private func run(seed: UInt64, strict: Bool) throws {
        var rng = DomainRNG(seed: seed &* 0x2545_F491_4F6C_DD1D)
        // Mostly 4 stripes (every key, token and user collides with others: same- and cross-stripe cases
        // both abound); every sixth seed runs the default 64.
        let shards = seed % 6 == 1 ? 64 : 4
        let quarantine = seed % 3 == 0
        let limit = [64, 5, 12][Int(seed % 3)]
        print("ModelBasedTests seed \(seed) strict=\(strict) shards=\(shards) quarantine=\(quarantine) changelogLimit=\(limit) steps=\(Self.steps)")
        let options = F.options(shards: shards, quarantine: quarantine, changelogLimit: limit)
        try F.withDirectory { path throws in
            var store = try TokenStore(path: path, options: options)
            defer { try? store.close() }
            let model = ModelStore(changelogLimit: limit, quarantineMisconfigured: quarantine)
            var generator = Generator(model: model)
            var history: [String] = []
            var divergences: [String: String] = [:]
            var coverage: [String: Int] = [:]
            for step in 0..<Self.steps {
                let op = generator.next(&rng)
                let expected: ModelOutcome
                let actual: ModelOutcome
                switch op {
                case .reopen(let requested):
                    try store.close()
                    var reopenOptions = options
                    reopenOptions.shards = requested
                    store = try TokenStore(path: path, options: reopenOptions)
                    expected = .reopened
                    actual = .reopened
                    if store.options.shards != shards {
                        Issue.record("seed \(seed) step \(step): reopened with shards \(store.options.shards), expected the manifest's \(shards)")
                    }
                default:
                    expected = Self.apply(op, to: model)
                    actual = Self.apply(op, to: store)
                }
                history.append("#\(step) \(op) → model \(expected), engine \(actual)")
                coverage["\(String(describing: op).prefix { $0 != "(" }) → \(expected)", default: 0] += 1
                if let unpinnedCase = model.unpinnedCase { coverage["unpinned: \(unpinnedCase)", default: 0] += 1 }
                if history.count > 12 { history.removeFirst() }

                var problems: [String] = []
                if expected != actual { problems.append("outcome: expected \(expected), got \(actual)") }
                // Where DOMAIN.md and the issue leave a choice, note any difference from the assumed answer,
                // then adopt the engine's answer so that one choice does not cascade into later steps.
                if let unpinnedCase = model.unpinnedCase {
                    var differences: [String] = []
                    for user in model.unpinnedChangelogs.sorted() {
                        let engine = try store.changelog(userID: user)
                        let assumed = model.users[user]?.changelog ?? []
                        if Self.normalized(engine) != Self.normalized(assumed) {
                            differences.append("changelog(\(user)):\n    assumed \(assumed.suffix(4).map(Self.describe))\n    engine  \(engine.suffix(4).map(Self.describe))")
                        }
                        model.adopt(changelog: engine, for: user)
                    }
                    if let key = model.unpinnedUpdatedAt, let record = try store.token(deviceID: key.device, appID: key.app) {
                        if record.updatedAt != model.records[key]?.updatedAt {
                            differences.append("updatedAt(\(key)): assumed \(model.records[key]?.updatedAt ?? -1), engine \(record.updatedAt)")
                        }
                        model.adopt(updatedAt: record.updatedAt, for: key)
                    }
                    if !differences.isEmpty, divergences[unpinnedCase] == nil {
                        divergences[unpinnedCase] = "#\(step) \(op)\n  " + differences.joined(separator: "\n  ")
                    }
                }
                let full: Bool
                if case .reopen = op { full = true } else { full = step % 250 == 249 || step == Self.steps - 1 }
                // Segment enumeration walks every slot of every stripe's index (slow in debug builds), so it
                // runs every few steps with 4 stripes and only on full checks with 64; counts run every step.
                let enumerate = full || (shards <= 4 && step % 10 == 0)
                problems += try Self.compare(store, model, full: full, exportAll: full || step % 5 == 0,
                                             enumerate: enumerate)
                if !problems.isEmpty {
                    Issue.record("""
                        seed \(seed) (strict: \(strict), shards \(shards), quarantine \(quarantine), \
                        changelogLimit \(limit)) diverged at step \(step):
                        \(problems.prefix(12).joined(separator: "\n"))
                        last operations:
                        \(history.joined(separator: "\n"))
                        """)
                    return
                }
            }
            let problems = try store.verify()
            #expect(problems.isEmpty, "seed \(seed): verify() found \(problems)")
            print("ModelBasedTests seed \(seed) coverage: "
                  + coverage.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; "))
            if strict && !divergences.isEmpty {
                Issue.record("""
                    seed \(seed): the engine answers \(divergences.count) unpinned case(s) differently from this \
                    suite's assumptions (semantics to align, see the report):
                    \(divergences.sorted { $0.key < $1.key }.map { "• \($0.key)\n  \($0.value)" }.joined(separator: "\n"))
                    """)
            }
        }
    }

    // MARK: Applying operations

    static func apply(_ op: ModelOp, to model: ModelStore) -> ModelOutcome {
        switch op {
        case .register(let r): return model.register(r)
        case .changeUser(let k, let u, let at): return model.changeUser(k, u, at: at)
        case .setAuthorization(let k, let a, let at): return model.setAuthorization(k, a, at: at)
        case .setSubscription(let u, let s, let at): return model.setSubscription(u, s, at: at)
        case .bounce(let t, let c, let p, let at): return model.bounce(t, c, providerTimestamp: p, at: at)
        case .uninstall(let k, let at): return model.uninstall(k, at: at)
        case .sweep(let b, let p, let at): return model.sweep(olderThan: b, platform: p, at: at)
        case .reopen: return .reopened
        }
    }

    static func apply(_ op: ModelOp, to store: TokenStore) -> ModelOutcome {
        do {
            switch op {
            case .register(let r): return .write(try store.register(r))
            case .changeUser(let k, let u, let at):
                return .write(try store.changeUser(deviceID: k.device, appID: k.app, userID: u, at: at))
            case .setAuthorization(let k, let a, let at):
                return .write(try store.setAuthorization(deviceID: k.device, appID: k.app, authorization: a, at: at))
            case .setSubscription(let u, let s, let at):
                return .write(try store.setSubscription(userID: u, subscription: s, at: at))
            case .bounce(let t, let c, let p, let at):
                return .bounce(try store.bounce(token: t, errorCode: c, providerTimestamp: p, at: at))
            case .uninstall(let k, let at): return .write(try store.uninstall(deviceID: k.device, appID: k.app, at: at))
            case .sweep(let b, let p, let at): return .swept(try store.sweep(olderThan: b, platform: p, at: at))
            case .reopen: return .reopened
            }
        } catch {
            return .error(error.code)
        }
    }

    // MARK: Comparing

    /// Normalizes what the suite does not pin: subscription entries carry no key, and entries that one
    /// sweep wrote for several keys may come in any order.
    static func normalized(_ log: [ChangeEntry]) -> [ChangeEntry] {
        var result = log.map { entry -> ChangeEntry in
            guard entry.kind == .subscriptionChanged else { return entry }
            var copy = entry
            copy.deviceID = ""; copy.appID = ""; copy.token = ""
            return copy
        }
        var i = 0
        while i < result.count {
            var j = i + 1
            while j < result.count, result[j].kind == .expired, result[i].kind == .expired, result[j].at == result[i].at { j += 1 }
            if j - i > 1 {
                result[i..<j].sort { ($0.deviceID, $0.appID, $0.token) < ($1.deviceID, $1.appID, $1.token) }
            }
            i = j
        }
        return result
    }

    static func compare(
        _ store: TokenStore, _ model: ModelStore, full: Bool, exportAll: Bool, enumerate: Bool
    ) throws -> [String] {
        var problems: [String] = []
        // Tombstones (issue 14), compared whole on full checks: the model keeps every one.
        if full {
            func sorted(_ t: [Tombstone]) -> [Tombstone] { t.sorted { ($0.deviceID, $0.appID) < ($1.deviceID, $1.appID) } }
            var actual: [Tombstone] = []
            try store.forEachBackupTombstone { actual.append($0); return true }
            if sorted(actual) != sorted(model.allTombstones()) {
                problems.append("tombstones: expected \(sorted(model.allTombstones())), got \(sorted(actual))")
            }
        }
        // Tokens per key.
        for key in keys {
            let actual = try store.token(deviceID: key.device, appID: key.app)
            let expected = model.token(key)
            if actual != expected { problems.append("token(\(key)): expected \(String(describing: expected)), got \(String(describing: actual))") }
        }
        // Per user.
        let knownUsers = Set(users).union(model.users.keys)
        for user in knownUsers.sorted() {
            let state = try store.user(userID: user)
            if state != model.users[user]?.state {
                problems.append("user(\(user)): expected \(String(describing: model.users[user]?.state)), got \(String(describing: state))")
            }
            let owned = try store.tokens(userID: user).sorted { ($0.deviceID, $0.appID) < ($1.deviceID, $1.appID) }
            if owned != model.tokens(user: user) {
                problems.append("tokens(\(user)): expected \(model.tokens(user: user).map { "\($0.deviceID)/\($0.appID)" }), got \(owned.map { "\($0.deviceID)/\($0.appID)" })")
            }
            let log = normalized(try store.changelog(userID: user))
            let expectedLog = normalized(model.users[user]?.changelog ?? [])
            if log != expectedLog {
                problems.append("changelog(\(user)):\n  expected \(expectedLog.map(describe))\n  got      \(log.map(describe))")
            }
            for app in apps {
                for kind in [PushKind.visible, .silent] {
                    let sendable = Set(try store.sendableTokens(userID: user, appID: app, kind: kind).map(\.token))
                    if sendable != model.sendable(user: user, app: app, kind: kind) {
                        problems.append("sendableTokens(\(user), \(app), \(kind)): expected \(model.sendable(user: user, app: app, kind: kind).count) tokens, got \(sendable.count)")
                    }
                }
            }
            if !model.tokens(user: user).contains(where: \.isQuarantined) {
                let lines = try store.registeredFor(userID: user).sorted()
                if lines != model.registeredFor(user: user) {
                    problems.append("registeredFor(\(user)): expected \(model.registeredFor(user: user)), got \(lines)")
                }
            }
            if exportAll { problems += try compareExport(store, model, user: user) }
        }
        // Segments.
        for segment in F.segments(apps: apps + ["app-unknown"]) {
            let count = try store.count(segment)
            let expected = model.members(segment)
            if count != expected.count { problems.append("count(\(segment)): expected \(expected.count), got \(count)") }
            guard enumerate else { continue }
            let copied = try store.users(in: segment)
            if Set(copied) != expected || copied.count != expected.count {
                problems.append("users(in: \(segment)): expected \(expected.sorted()), got \(copied.sorted())")
            }
            if full {
                var streamed: [String] = []
                try store.forEachUser(in: segment) { streamed.append(String(decoding: $0, as: UTF8.self)); return true }
                if Set(streamed) != expected || streamed.count != expected.count {
                    problems.append("forEachUser(in: \(segment)): expected \(expected.sorted()), got \(streamed.sorted())")
                }
            }
        }
        // Counts and statistics.
        if try store.count() != model.records.count { problems.append("count(): expected \(model.records.count), got \(try store.count())") }
        var stats = try store.statistics()
        stats.byPlatform = F.nonZero(stats.byPlatform)
        stats.byAuthorization = F.nonZero(stats.byAuthorization)
        stats.bouncesByOutcome = F.nonZero(stats.bouncesByOutcome)
        stats.bouncesByCategory = F.nonZero(stats.bouncesByCategory)
        if stats != model.statistics() { problems.append("statistics(): expected \(model.statistics()), got \(stats)") }

        if full {
            var all: [TokenRecord] = []
            try store.forEachRecord { all.append($0.record); return true }
            let expected = model.records.keys.sorted().map { model.token($0)! }
            if all.sorted(by: { ($0.deviceID, $0.appID) < ($1.deviceID, $1.appID) }) != expected {
                problems.append("forEachRecord: expected \(expected.count) records, got \(all.count) (contents differ)")
            }
            var states: [String: UserState] = [:]
            try store.forEachUserState { states[String(decoding: $0, as: UTF8.self)] = $1; return true }
            if states != model.users.mapValues(\.state) {
                problems.append("forEachUserState: expected \(model.users.mapValues(\.state)), got \(states)")
            }
            for user in model.users.keys {
                var streamed: [ChangeEntry] = []
                try store.forEachChange(userID: user) { streamed.append($0.entry); return true }
                if streamed != (try store.changelog(userID: user)) {
                    problems.append("forEachChange(\(user)) disagrees with changelog(\(user))")
                }
            }
            let verify = try store.verify()
            if !verify.isEmpty { problems.append("verify(): \(verify)") }
        }
        return problems
    }

    static func describe(_ e: ChangeEntry) -> String {
        "\(e.kind)@\(e.at - DomainFixture.t0) \(e.deviceID)/\(e.appID) \(e.token.prefix(8)) other=\(e.otherUserID ?? "-") detail=\(e.detail ?? "-")"
    }

    static func compareExport(_ store: TokenStore, _ model: ModelStore, user: String) throws -> [String] {
        let json = try store.exportJSON(userID: user)
        guard let modelUser = model.users[user] else {
            return json == nil ? [] : ["exportJSON(\(user)): expected nil for an unknown user, got \(json!)"]
        }
        guard let json else { return ["exportJSON(\(user)): expected an export, got nil"] }
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            return ["exportJSON(\(user)): not a JSON object: \(json)"]
        }
        var problems: [String] = []
        if object["external_id"] as? String != user { problems.append("export external_id: \(String(describing: object["external_id"]))") }
        if object["push_subscribe"] as? String != modelUser.state.subscription.description {
            problems.append("export push_subscribe: expected \(modelUser.state.subscription), got \(String(describing: object["push_subscribe"]))")
        }
        if let optedIn = modelUser.state.optedInAt {
            let parsed = (object["push_opted_in_at"] as? String).flatMap(F.parseISO8601)
            if parsed == nil || parsed! > optedIn || optedIn - parsed! >= 1000 {
                problems.append("export push_opted_in_at: expected \(optedIn), got \(String(describing: object["push_opted_in_at"]))")
            }
        } else if let value = object["push_opted_in_at"], !(value is NSNull) {
            problems.append("export push_opted_in_at: expected absent or null, got \(value)")
        }
        guard let list = object["push_tokens"] as? [[String: Any]] else {
            return problems + ["export push_tokens missing: \(json)"]
        }
        let quarantined = Set(model.tokens(user: user).filter(\.isQuarantined).map(\.token))
        func line(_ app: String?, _ platform: String?, _ token: String?, _ device: String?, _ enabled: Bool?) -> String {
            "\(app ?? "?")|\(platform ?? "?")|\(token ?? "?")|\(device ?? "?")|\(enabled.map { "\($0)" } ?? "?")"
        }
        let actual = list.filter { !quarantined.contains($0["token"] as? String ?? "") }.map {
            line($0["app"] as? String, $0["platform"] as? String, $0["token"] as? String, $0["device_id"] as? String,
                 $0["notifications_enabled"] as? Bool)
        }.sorted()
        let expected = model.tokens(user: user).filter { !$0.isQuarantined }.map {
            line($0.appID, $0.platform.description, $0.token, $0.deviceID, $0.authorization.allowsVisiblePush)
        }.sorted()
        if actual != expected { problems.append("export push_tokens(\(user)): expected \(expected.count) entries, got \(actual.count): \(actual.map { $0.prefix(60) })") }
        return problems
    }

    // MARK: Generating operations

    struct Generator {
        let model: ModelStore
        var clock = DomainFixture.t0
        var tokenCounter = 0
        var retired: [String] = []

        init(model: ModelStore) { self.model = model }

        static func platform(of device: String) -> Platform {
            [Platform.ios, .android, .web][Int(device.last!.asciiValue! - 48) % 3]
        }

        mutating func tick(_ rng: inout DomainRNG) -> Int64 {
            clock += 1 + Int64(rng.int(2000))
            return clock
        }

        mutating func freshToken(_ platform: Platform, _ rng: inout DomainRNG) -> String {
            tokenCounter += 1
            // Mostly realistic shapes; sometimes short tokens so that hashing edge cases appear too.
            return rng.chance(15) ? "t\(tokenCounter)" : DomainFixture.token(for: platform, tokenCounter)
        }

        func existingKey(_ rng: inout DomainRNG) -> ModelKey? {
            let held = model.records.keys.sorted()
            return held.isEmpty ? nil : rng.pick(held)
        }

        /// A key: usually one that holds a token.
        func someKey(_ rng: inout DomainRNG, existing percent: Int = 85) -> ModelKey {
            if rng.chance(percent), let key = existingKey(&rng) { return key }
            if rng.chance(40), !model.tombstones.isEmpty { return rng.pick(model.tombstones.keys.sorted()) }
            return rng.pick(ModelBasedTests.keys)
        }

        /// An event time for a write on `key`: fresh, or deliberately stale, or a tie when that is safe.
        mutating func time(for key: ModelKey, _ rng: inout DomainRNG, allowTie: Bool = true) -> Int64 {
            guard let record = model.records[key] else {
                // A late write to a removed key: older than its tombstone (stale), or a tie (applies).
                if let tombstone = model.tombstones[key] {
                    let roll = rng.int(100)
                    if roll < 25 { return tombstone.at - 1 - Int64(rng.int(3000)) }
                    if roll < 30 { return tombstone.at }
                }
                return tick(&rng)
            }
            let roll = rng.int(100)
            if roll < 10 { return record.eventTime - 1 - Int64(rng.int(3000)) }
            if roll < 15, allowTie, record.lastTouch == record.eventTime { return record.eventTime }
            return tick(&rng)
        }

        mutating func next(_ rng: inout DomainRNG) -> ModelOp {
            let roll = rng.int(1000)
            switch roll {
            case ..<420: return register(&rng)
            case ..<540:
                let key = someKey(&rng)
                let user: String? = rng.chance(15) ? nil : rng.pick(ModelBasedTests.users)
                return .changeUser(key, user, time(for: key, &rng))
            case ..<620:
                let key = someKey(&rng)
                var authorization = rng.pick(Authorization.allCases)
                if let current = model.records[key]?.authorization, current == authorization {
                    authorization = Authorization.allCases.first { $0 != current }!
                }
                return .setAuthorization(key, authorization, time(for: key, &rng))
            case ..<690:
                let user = rng.pick(ModelBasedTests.users)
                let current = model.users[user]?.state.subscription ?? .subscribed
                let choices = Subscription.allCases.filter { $0 != current }
                let subscription = rng.pick(choices)
                if let time = model.users[user]?.subscriptionTime, rng.chance(10) {
                    return .setSubscription(user, subscription, time - 1 - Int64(rng.int(3000)))
                }
                return .setSubscription(user, subscription, tick(&rng))
            case ..<850: return bounce(&rng)
            case ..<920:
                let key = someKey(&rng)
                return .uninstall(key, time(for: key, &rng))
            case ..<945:
                let updated = model.records.values.map(\.updatedAt).sorted()
                let bound: Int64
                if updated.isEmpty || rng.chance(5) {
                    bound = clock + 1
                } else {
                    // Exactly at a token's updatedAt (kept) or one past it (swept): the strictness matters.
                    bound = rng.pick(updated) + Int64(rng.int(2))
                }
                let platform: Platform? = rng.chance(60) ? nil : rng.pick(Platform.allCases)
                return .sweep(bound, platform, tick(&rng))
            case ..<950:
                return .reopen(shards: rng.pick([1, 4, 64, 256]))
            default: return register(&rng)
            }
        }

        mutating func register(_ rng: inout DomainRNG) -> ModelOp {
            let key = someKey(&rng, existing: 60)
            let platform = Self.platform(of: key.device)
            let existing = model.records[key]
            var token: String
            var fromOtherKey = false
            let roll = rng.int(100)
            let others = model.records.filter { $0.key != key }.sorted { $0.key < $1.key }
            if roll < 35, let existing {
                token = existing.token
            } else if roll < 60, !others.isEmpty {
                token = rng.pick(others).value.token
                fromOtherKey = true
            } else if roll < 68, !retired.isEmpty {
                token = rng.pick(retired)
            } else if roll < 76, let dead = model.tombstones.values.filter(\.bounced).map(\.token).sorted().first(where: { _ in rng.chance(50) }) {
                // A bounced token coming back, often from before the bounce (stale on any key).
                token = dead
                fromOtherKey = true
            } else {
                token = freshToken(platform, &rng)
            }
            if let existing, existing.token != token { retired.append(existing.token) }
            if retired.count > 64 { retired.removeFirst(retired.count - 64) }
            let user: String? = rng.chance(25) ? nil : rng.pick(ModelBasedTests.users)
            let authorization = rng.pick(Authorization.allCases)
            var at = time(for: key, &rng, allowTie: !fromOtherKey)
            if let mark = model.deadMark(token), let bounce = model.tombstones[mark], rng.chance(60) {
                at = rng.chance(80) ? bounce.at - 1 - Int64(rng.int(3000)) : bounce.at
            }
            return .register(Registration(deviceID: key.device, appID: key.app, token: token, platform: platform,
                                          authorization: authorization, userID: user, at: at))
        }

        mutating func bounce(_ rng: inout DomainRNG) -> ModelOp {
            let held = model.byToken.keys.sorted()
            let token: String
            if !held.isEmpty, rng.chance(88) {
                token = rng.pick(held)
            } else if !retired.isEmpty, rng.chance(50) {
                token = rng.pick(retired)
            } else {
                token = "never-registered-\(rng.int(1_000_000))"
            }
            let category = rng.int(100)
            var code: String
            switch category {
            case ..<35: code = rng.pick(ModelStore.dead.sorted())
            case ..<60: code = rng.pick(ModelStore.misconfigured.sorted())
            case ..<80: code = rng.pick(ModelStore.transient.sorted())
            case ..<90: code = rng.pick(ModelStore.payload.sorted())
            default: code = rng.pick(ModelStore.unknown.sorted())
            }
            let record = model.byToken[token].flatMap { model.records[$0] }
            let classified = ModelStore.classify(code)
            // Quarantining an already quarantined token again is not pinned: bounce it as dead instead.
            if classified == .misconfigured, model.quarantineMisconfigured, record?.quarantined == true {
                code = rng.pick(ModelStore.dead.sorted())
            }
            var stamp: Int64? = nil
            let removing = ModelStore.classify(code) == .dead
                || (ModelStore.classify(code) == .misconfigured && !model.quarantineMisconfigured)
            if removing, rng.chance(40) {
                let base = record?.registeredAt ?? clock
                switch rng.int(3) {
                case 0: stamp = base - 1 - Int64(rng.int(500))   // older than the registration: stale
                case 1: stamp = base                              // tie: applies
                default: stamp = base + 1 + Int64(rng.int(500))   // newer: applies
                }
            }
            return .bounce(token, code, stamp, tick(&rng))
        }
    }
}
