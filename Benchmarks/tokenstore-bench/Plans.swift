import TokenStore

/// Every phase's operation stream, as a pure function of the dataset and a global operation
/// index, so both stores see the same operations whatever the thread count.
///
/// Event times: each phase owns 10⁹ ms of time after 2026-01-01, and operation `g` of a phase
/// happens at `base + g`; threads interleave their indices, so writes stay in time order.
struct Plans: Sendable {
    /// The population the operations act on.
    let dataset: Dataset
    /// Who logs in on a shared device: Zipf(0.9) over users, so a few accounts log in very often.
    let logins: ZipfSampler
    /// The order in which tokens bounce: every record at most once per pass.
    let bounceOrder: Permutation

    /// Reassignments come in windows of this many operations: a window of guest logins on
    /// random keys, then a window of their owners logging back in on the same keys.
    static let loginWindow = 4096

    /// Plans over `dataset`.
    init(dataset: Dataset) {
        self.dataset = dataset
        logins = ZipfSampler(n: dataset.userCount, exponent: 0.9)
        bounceOrder = Permutation(count: dataset.count, seed: dataset.seed ^ 0x626F_756E_6365)
    }

    /// The first event time of phase number `phase`.
    static func base(_ phase: Int) -> Int64 { 1_767_225_600_000 + Int64(phase) * 1_000_000_000 }

    /// Load: operation `g` registers record `g`.
    func load(_ g: Int) -> Operation {
        .register(dataset.registration(record: g, at: Plans.base(0) + Int64(g)))
    }

    /// Subscriptions: user `g` opts in (30%), unsubscribes (10%) or confirms the default.
    func subscription(_ g: Int) -> Operation {
        var random = SplitMix64(seed: dataset.seed, stream: 10, index: g)
        let draw = random.unit()
        let state: Subscription = draw < 0.3 ? .optedIn : draw < 0.4 ? .unsubscribed : .subscribed
        return .setSubscription(userID: dataset.userID(g), subscription: state, at: Plans.base(1) + Int64(g))
    }

    /// Reassignment number `j` of a stream: a guest logs in on a random key, and one window
    /// later the key's owner logs back in ("when Charlie logs in again, it moves back").
    func reassignment(_ j: Int, stream: UInt64, base: Int64) -> Operation {
        let window = Plans.loginWindow
        let isGuest = (j / window) % 2 == 0
        var random = SplitMix64(seed: dataset.seed, stream: stream, index: isGuest ? j : j - window)
        let record = random.below(dataset.count)
        let user = isGuest ? dataset.userID(dataset.hotUser(logins, &random)) : dataset.owner(ofRecord: record).map(dataset.userID)
        let key = dataset.key(record: record)
        return .changeUser(deviceID: key.deviceID, appID: key.appID, userID: user, at: base + Int64(j))
    }

    /// Bounce number `j`, on the `(offset + j)`-th token of the bounce order, with a
    /// provider error drawn from a realistic mix (`BounceMix`).
    func bounce(_ j: Int, offset: Int, base: Int64) -> Operation {
        let record = bounceOrder[offset + j]
        var random = SplitMix64(seed: dataset.seed, stream: 20, index: offset + j)
        let at = base + Int64(j)
        let error = BounceMix.draw(platform: dataset.platform(ofRecord: record), &random)
        let providerTimestamp: Int64? =
            switch error.timestamp {
            case .none: nil
            case .now: at
            case .beforeRegistration: Plans.base(0) + Int64(record) - 60_000
            }
        return .bounce(token: dataset.token(record: record), errorCode: error.code, providerTimestamp: providerTimestamp, at: at)
    }

    /// The key of a uniformly random record, for gets.
    func lookupKey(_ j: Int, stream: UInt64) -> (deviceID: String, appID: String) {
        var random = SplitMix64(seed: dataset.seed, stream: stream, index: j)
        return dataset.key(record: random.below(dataset.count))
    }

    /// A uniformly random user, for reading a user's tokens.
    func lookupUser(_ j: Int, stream: UInt64) -> String {
        var random = SplitMix64(seed: dataset.seed, stream: stream, index: j)
        return dataset.userID(random.below(dataset.userCount))
    }

    /// A get by key on a uniformly random record.
    func get(_ j: Int, stream: UInt64, copying: Bool = false) -> Operation {
        let key = lookupKey(j, stream: stream)
        return copying ? .getCopy(deviceID: key.deviceID, appID: key.appID) : .get(deviceID: key.deviceID, appID: key.appID)
    }

    /// A uniformly random user's tokens.
    func userTokens(_ j: Int, stream: UInt64) -> Operation {
        .userTokens(userID: lookupUser(j, stream: stream))
    }

    /// The visible-push tokens of a random record's owner for that record's app.
    func sendableTokens(_ j: Int, stream: UInt64) -> Operation {
        var random = SplitMix64(seed: dataset.seed, stream: stream, index: j)
        let record = random.below(dataset.count)
        let user = dataset.owner(ofRecord: record) ?? random.below(dataset.userCount)
        return .sendableTokens(userID: dataset.userID(user), appID: dataset.key(record: record).appID)
    }

    /// The mixed workload's operation `g` in its run number `run`: 80% lookups (40% get, 25%
    /// user tokens, 15% sendable), 15% reassignments, 5% bounces, in a fixed 20-slot pattern.
    func mixed(_ g: Int, run: Int, bounceOffset: Int) -> Operation {
        let block = g / Plans.mixedPattern.count
        let slot = g % Plans.mixedPattern.count
        let base = Plans.base(5 + run)
        let stream = UInt64(30 + run * 4)
        switch Plans.mixedPattern[slot] {
        case "G": return get(g, stream: stream)
        case "U": return userTokens(g, stream: stream + 1)
        case "S": return sendableTokens(g, stream: stream + 2)
        case "R":
            let ordinal = block * 3 + Plans.mixedPattern[..<slot].filter { $0 == "R" }.count
            return reassignment(ordinal, stream: stream + 3, base: base)
        default:
            return bounce(block, offset: bounceOffset, base: base)
        }
    }

    /// G get, U user tokens, S sendable tokens, R reassignment, B bounce.
    private static let mixedPattern = Array("GUGRGSGUBGURGSUGRSGU")
}

/// The provider errors bounces carry, by outcome class and platform (DOMAIN.md's table).
///
/// Mix: 50% dead tokens, 5% sender/credential mismatch, 20% transient, 5% payload, 5% unknown
/// codes, and 15% stale removals (a provider timestamp older than the latest registration).
enum BounceMix {
    /// When the provider says it confirmed the token invalid.
    enum Timestamp {
        /// No timestamp.
        case none
        /// At the bounce (APNs 410): the removal applies.
        case now
        /// A minute before the token's registration: the removal is stale.
        case beforeRegistration
    }

    /// Draws an error for a token of `platform`.
    static func draw(platform: Platform, _ random: inout SplitMix64) -> (code: String, timestamp: Timestamp) {
        let kind = random.pick(weights)
        let codes = table[kind][Int(platform.rawValue) - 1]
        let code = codes[random.below(codes.count)]
        if kind == staleKind { return (code, .beforeRegistration) }
        return (code, code == "Unregistered" ? .now : .none)
    }

    private static let weights = cumulative([0.50, 0.05, 0.20, 0.05, 0.05, 0.15])
    private static let staleKind = 5

    /// Per kind (dead, misconfigured, transient, payload, unknown, stale), per platform
    /// (iOS, Android, web).
    private static let table: [[[String]]] = [
        [["Unregistered", "BadDeviceToken", "ExpiredToken"], ["NotRegistered", "UNREGISTERED", "InvalidRegistration"],
         ["410", "404"]],
        [["DeviceTokenNotForTopic", "TopicDisallowed", "InvalidProviderToken"], ["MismatchSenderId", "SENDER_ID_MISMATCH"],
         ["403", "401"]],
        [["TooManyRequests", "InternalServerError", "503"], ["Unavailable", "QUOTA_EXCEEDED", "InternalServerError"],
         ["429", "500", "503"]],
        [["PayloadTooLarge", "PayloadEmpty"], ["MessageTooBig"], ["PayloadTooLarge"]],
        [["BadPriority", "BadExpirationDate"], ["INVALID_ARGUMENT"], ["400"]],
        [["Unregistered"], ["NotRegistered"], ["410"]],
    ]
}
