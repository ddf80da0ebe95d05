import TokenStore

/// One writer thread: picks a random write, predicts its effect with its model, announces
/// it (`B` line), runs it, checks the result and a read-back against the prediction, and
/// acknowledges it (`A` line).
///
/// `B <thread> <seq> <op> <state>...` lists the predicted state of every key and user the
/// operation may change; `A <thread> <seq>` says the call returned. After a kill the parent
/// expects each entity in its last acknowledged state, or, for the one operation a thread
/// had announced but not acknowledged, in either state.
final class Worker {
    let store: TokenStore
    var model: ThreadModel
    var rng: SplitMix64
    let generation: Int
    var clock: Int64
    var seq = 0
    var tokens = 0

    init(store: TokenStore, model: ThreadModel, seed: UInt64, generation: Int, base: Int64) {
        self.store = store
        self.model = model
        self.rng = SplitMix64(seed: seed)
        self.generation = generation
        self.clock = base
    }

    var t: Int { model.thread }

    func run(until deadline: Int64) {
        while monotonicMillis() < deadline { step() }
    }

    // MARK: Choosing

    private func random(_ n: Int) -> Int { Int.random(in: 0..<n, using: &rng) }
    private func chance(_ percent: Int) -> Bool { random(100) < percent }
    private func anyKey() -> Int { random(model.keys.count) }
    private func anyUser() -> Int { random(model.users.count) }
    private func existingKey() -> Int? {
        for _ in 0..<8 {
            let k = anyKey()
            if model.keys[k] != nil { return k }
        }
        return model.keys.indices.first { model.keys[$0] != nil }
    }

    private func nextTime() -> Int64 {
        clock += 1 + Int64(random(3))
        return clock
    }

    private func newToken() -> String {
        tokens += 1
        let base = "tk\(t)-\(generation)-\(tokens)-"
        let roll = random(100)
        let length = roll < 70 ? 0 : roll < 90 ? 150 + random(50) : roll < 98 ? 300 + random(200) : 1000 + random(3000)
        return base + String(repeating: "x", count: max(0, length - base.utf8.count))
    }

    private func platform() -> Platform {
        t == 0 ? [.ios, .android, .web][random(3)] : [.ios, .android][random(2)]
    }

    private func authorization() -> Authorization { Authorization.allCases[random(3)] }

    func step() {
        seq += 1
        let roll = random(100)
        switch roll {
        case 0..<36: register(stale: false)
        case 36..<47: changeUser(stale: false)
        case 47..<58: setAuthorization(stale: false)
        case 58..<68: setSubscription()
        case 68..<80: bounce()
        case 80..<88: uninstall(stale: false)
        case 88..<92: if t == 0 { sweep() } else { register(stale: false) }
        case 92..<95: lateWrite()
        default:
            switch random(4) {
            case 0: register(stale: true)
            case 1: changeUser(stale: true)
            case 2: setAuthorization(stale: true)
            default: uninstall(stale: true)
            }
        }
    }

    // MARK: The operations

    /// A stale write uses time 1, older than any stored event; only on existing keys.
    private func staleTarget(_ stale: Bool) -> (Int, Int64)? {
        if stale {
            guard let k = existingKey() else { return nil }
            return (k, 1)
        }
        return (anyKey(), nextTime())
    }

    private func register(stale: Bool) {
        guard let (k, at) = staleTarget(stale) else { return register(stale: false) }
        let existing = model.keys[k]
        var token = newToken()
        if let e = existing, chance(15) {
            token = e.token
        } else if chance(15), let other = existingKey(), other != k, let t = model.keys[other]?.token {
            token = t
        }
        let user: String? = chance(50) ? model.user(anyUser()) : nil
        let platform = self.platform(), authorization = self.authorization()
        var next = model
        var keys = [k]
        if existing == nil || at >= 2 {
            if let h = model.holder[token], h != k {
                next.setKey(h, nil)
                keys.append(h)
            }
            next.setKey(k, KeyState(token: token, user: user ?? existing?.user, platform: platform, authorization: authorization,
                createdAt: existing?.createdAt ?? at, updatedAt: at))
            next.touchUser(user)
        }
        let expected: WriteOutcome = existing != nil && at == 1 ? .stale : .applied
        perform("register", next, keys: keys, users: user.flatMap(model.userIndex).map { [$0] } ?? []) {
            let r = Registration(deviceID: model.device(k), appID: model.app(k), token: token, platform: platform,
                authorization: authorization, userID: user, at: at)
            let outcome = try store.register(r)
            return outcome == expected ? nil : "register returned \(outcome), expected \(expected)"
        }
    }

    private func changeUser(stale: Bool) {
        guard let (k, at) = staleTarget(stale) else { return changeUser(stale: false) }
        let user: String? = chance(80) ? model.user(anyUser()) : nil
        let exists = model.keys[k] != nil
        var next = model
        if exists && !stale {
            next.keys[k]!.user = user
            next.touchUser(user)
        }
        perform("changeUser", next, keys: [k], users: user.flatMap(model.userIndex).map { [$0] } ?? []) {
            do {
                let outcome = try store.changeUser(deviceID: model.device(k), appID: model.app(k), userID: user, at: at)
                if !exists { return "changeUser succeeded on a key without a token" }
                return outcome == (stale ? .stale : .applied) ? nil : "changeUser returned \(outcome)"
            } catch let e as TokenStoreError where e.code == .notFound && !exists {
                return nil
            }
        }
    }

    private func setAuthorization(stale: Bool) {
        guard let (k, at) = staleTarget(stale) else { return setAuthorization(stale: false) }
        let authorization = self.authorization()
        let exists = model.keys[k] != nil
        var next = model
        if exists && !stale { next.keys[k]!.authorization = authorization }
        perform("setAuthorization", next, keys: [k], users: []) {
            do {
                let outcome = try store.setAuthorization(deviceID: model.device(k), appID: model.app(k),
                    authorization: authorization, at: at)
                if !exists { return "setAuthorization succeeded on a key without a token" }
                return outcome == (stale ? .stale : .applied) ? nil : "setAuthorization returned \(outcome)"
            } catch let e as TokenStoreError where e.code == .notFound && !exists {
                return nil
            }
        }
    }

    private func setSubscription() {
        let j = anyUser()
        let subscription = Subscription.allCases[random(3)]
        let at = nextTime()
        var next = model
        next.users[j] = subscription
        perform("setSubscription", next, keys: [], users: [j]) {
            let outcome = try store.setSubscription(userID: model.user(j), subscription: subscription, at: at)
            return outcome == .applied ? nil : "setSubscription returned \(outcome)"
        }
    }

    private static let codes: [(String, BounceCategory)] = [
        ("Unregistered", .dead), ("410", .dead), ("NotRegistered", .dead), ("MismatchSenderId", .misconfigured),
        ("Unavailable", .transient), ("503", .transient), ("PayloadTooLarge", .payload), ("WeirdError", .unknown),
    ]

    private func bounce() {
        let at = nextTime()
        let (code, category) = Worker.codes[random(Worker.codes.count)]
        guard chance(90), let k = existingKey(), let e = model.keys[k] else {
            let token = newToken()
            perform("bounce", model, keys: [], users: []) {
                do {
                    _ = try store.bounce(token: token, errorCode: code, at: at)
                    return "bounce of an unknown token succeeded"
                } catch let e as TokenStoreError where e.code == .notFound { return nil }
            }
            return
        }
        let removing = category == .dead || category == .misconfigured
        let providerTime: Int64? = chance(40) ? e.updatedAt + Int64(random(3) - 1) : nil
        let outcome: BounceOutcome
        if removing, let providerTime, e.updatedAt > providerTime {
            outcome = .stale
        } else {
            outcome = removing ? .removed : .kept
        }
        var next = model
        if outcome == .removed { next.setKey(k, nil, removedAt: at, bounced: true) }
        perform("bounce", next, keys: [k], users: []) {
            let result = try store.bounce(token: e.token, errorCode: code, providerTimestamp: providerTime, at: at)
            return result.outcome == outcome && result.category == category ? nil : "bounce returned \(result), expected \(outcome)"
        }
    }

    private func uninstall(stale: Bool) {
        guard let (k, at) = staleTarget(stale) else { return uninstall(stale: false) }
        let exists = model.keys[k] != nil
        var next = model
        if exists && !stale { next.setKey(k, nil, removedAt: at) }
        perform("uninstall", next, keys: [k], users: []) {
            do {
                let outcome = try store.uninstall(deviceID: model.device(k), appID: model.app(k), at: at)
                if !exists { return "uninstall succeeded on a key without a token" }
                return outcome == (stale ? .stale : .applied) ? nil : "uninstall returned \(outcome)"
            } catch let e as TokenStoreError where e.code == .notFound && !exists {
                return nil
            }
        }
    }

    /// A write that arrives after the removal it predates (issue 14), maybe from a previous
    /// run that crashed: stale, and it changes nothing. A bounced token registered on
    /// another key with a time before the bounce is stale too.
    private func lateWrite() {
        let candidates = model.removed.keys.sorted()
        guard !candidates.isEmpty else { return register(stale: false) }
        let k = candidates[random(candidates.count)]
        let removal = model.removed[k]!
        let at = removal.at - 1 - Int64(random(3))
        let device = model.device(k), app = model.app(k)
        var keys = [k]
        let choice = random(5)
        var other = k
        if choice == 4, removal.deadToken != nil {
            other = anyKey()
            if other != k { keys.append(other) }
        }
        perform("late", model, keys: keys, users: []) {
            let outcome: WriteOutcome
            switch choice {
            case 0: outcome = try store.changeUser(deviceID: device, appID: app, userID: nil, at: at)
            case 1: outcome = try store.setAuthorization(deviceID: device, appID: app, authorization: .background, at: at)
            case 2: outcome = try store.uninstall(deviceID: device, appID: app, at: at)
            case 4 where removal.deadToken != nil:
                outcome = try store.register(Registration(
                    deviceID: model.device(other), appID: model.app(other), token: removal.deadToken!, platform: platform(),
                    authorization: .foreground, userID: nil, at: at))
            default:
                outcome = try store.register(Registration(
                    deviceID: device, appID: app, token: newToken(), platform: platform(), authorization: .foreground,
                    userID: nil, at: at))
            }
            return outcome == .stale ? nil : "a late write (choice \(choice)) older than its key's removal returned \(outcome)"
        }
    }

    /// Thread 0 only: expires its Web Push tokens older than a recent bound.
    private func sweep() {
        let at = nextTime()
        let bound = clock - Int64(random(400))
        var next = model
        var keys: [Int] = []
        for k in model.keys.indices {
            if let s = model.keys[k], s.platform == .web, s.updatedAt < bound {
                next.setKey(k, nil, removedAt: at)
                keys.append(k)
            }
        }
        perform("sweep", next, keys: keys, users: []) {
            let removed = try store.sweep(olderThan: bound, platform: .web, at: at)
            return removed == keys.count ? nil : "sweep removed \(removed), expected \(keys.count)"
        }
    }

    // MARK: Running one operation

    /// Announces, runs and checks one operation, then adopts `next` and acknowledges it.
    /// `body` returns a mismatch description, or nil when the result was as predicted.
    private func perform(_ name: String, _ next: ThreadModel, keys: [Int], users: [Int], _ body: () throws -> String?) {
        var users = users
        for j in next.users.indices where next.users[j] != model.users[j] && !users.contains(j) { users.append(j) }
        var line = "B\t\(t)\t\(seq)\t\(name)"
        for k in keys { line += "\t" + next.encodeKey(k) }
        for j in users { line += "\t" + next.encodeUser(j) }
        Output.line(line)
        do {
            if let mismatch = try body() { Output.fail(3, "thread \(t) op \(seq) \(name): \(mismatch)") }
        } catch {
            Output.fail(2, "thread \(t) op \(seq) \(name) failed: \(error)")
        }
        model = next
        // Read back what the operation touched: the store must agree with the model now.
        do {
            for k in keys {
                let actual = try store.token(deviceID: model.device(k), appID: model.app(k))
                if actual.map(KeyState.init) != model.keys[k] || actual?.isQuarantined == true {
                    Output.fail(3, "thread \(t) op \(seq) \(name): key \(k) reads \(String(describing: actual)), model \(model.encodeKey(k))")
                }
            }
            for j in users {
                let actual = try store.user(userID: model.user(j))?.subscription
                if actual != model.users[j] {
                    Output.fail(3, "thread \(t) op \(seq) \(name): user \(j) reads \(String(describing: actual)), model \(model.encodeUser(j))")
                }
            }
        } catch {
            Output.fail(2, "thread \(t) op \(seq) read-back failed: \(error)")
        }
        Output.line("A\t\(t)\t\(seq)")
    }
}
