import TokenStore

/// One store call with its inputs rendered, ready to run without generating anything.
enum Operation {
    case register(Registration)
    case setSubscription(userID: String, subscription: Subscription, at: Int64)
    case changeUser(deviceID: String, appID: String, userID: String?, at: Int64)
    case bounce(token: String, errorCode: String, providerTimestamp: Int64?, at: Int64)
    /// Get by key, reading the token in place.
    case get(deviceID: String, appID: String)
    /// Get by key, copying the record out.
    case getCopy(deviceID: String, appID: String)
    case userTokens(userID: String)
    case sendableTokens(userID: String, appID: String)
}

/// A phase as a plan: global operation index → operation, run against one store.
///
/// Every phase but the C-boundary lookups is one of these; the plans live in `Plans`.
struct StoreWorkload<Store: BenchStore>: Workload {
    /// The store under test.
    let store: Store
    /// The operation at each global index.
    let plan: @Sendable (Int) -> Operation

    func prepare(thread: Int, threads: Int, range: Range<Int>) -> [Operation] {
        range.map { plan($0 * threads + thread) }
    }

    @inline(__always)
    func run(_ batch: [Operation], _ index: Int, _ tally: inout Tally) {
        switch batch[index] {
        case .register(let registration):
            tally.add(store.register(registration))
        case .setSubscription(let userID, let subscription, let at):
            tally.add(store.setSubscription(userID: userID, subscription: subscription, at: at))
        case .changeUser(let deviceID, let appID, let userID, let at):
            tally.add(store.changeUser(deviceID: deviceID, appID: appID, userID: userID, at: at))
        case .bounce(let token, let errorCode, let providerTimestamp, let at):
            tally.add(store.bounce(token: token, errorCode: errorCode, providerTimestamp: providerTimestamp, at: at))
        case .get(let deviceID, let appID):
            tally.add(store.tokenLength(deviceID: deviceID, appID: appID) == nil ? .missing : .found)
        case .getCopy(let deviceID, let appID):
            tally.add(store.tokenRecord(deviceID: deviceID, appID: appID) == nil ? .missing : .found)
        case .userTokens(let userID):
            tally.add(.tokens, store.userTokenCount(userID: userID))
        case .sendableTokens(let userID, let appID):
            tally.add(.tokens, store.sendableTokenCount(userID: userID, appID: appID))
        }
    }
}
