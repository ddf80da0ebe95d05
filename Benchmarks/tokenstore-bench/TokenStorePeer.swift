import CTokenStore
import CTokenStoreHeader

/// TokenStore as a C program drives it: `ts_open`, `ts_register`, `ts_change_user`,
/// `ts_bounce`, `ts_get` and `ts_count`, with the run's durability (interval by default).
///
/// The store keeps more than the peers' three indexes (each user's changelog, segment
/// counters) because that is what it is; the peers keep what the same application logic
/// needs for these four operations.
final class TokenStorePeer: Peer {
    /// The open store; the campaign section (issue 16) runs on it after the four phases.
    private(set) var handle: OpaquePointer?

    /// Creates a store in `directory`.
    init(directory: String, options: BenchOptions) {
        handle = CBoundary.open(directory: directory, options: options)
    }

    func begin(_ phase: PeerPhase) {}
    func finish(_ phase: PeerPhase) {}

    func register(_ input: RegisterInput) -> Outcome {
        let status = ts_register(
            handle, input.deviceID.base, input.appID.base, input.token.base, input.platform, input.authorization,
            input.userID?.base, input.at)
        switch status {
        case TS_OK: return .applied
        case TS_STALE: return .stale
        default: fail("ts_register failed: status \(status)")
        }
    }

    func changeUser(_ input: ChangeUserInput) -> Outcome {
        let status = ts_change_user(handle, input.deviceID.base, input.appID.base, input.userID?.base, input.at)
        switch status {
        case TS_OK: return .applied
        case TS_STALE: return .stale
        case TS_NOTFOUND: return .missing
        default: fail("ts_change_user failed: status \(status)")
        }
    }

    func bounce(_ input: BounceInput) -> Outcome {
        var outcome: Int32 = 0
        let status = ts_bounce(handle, input.token.base, input.errorCode.base, input.providerTimestamp, input.at, &outcome)
        switch (status, outcome) {
        case (TS_OK, TS_BOUNCE_REMOVED): return .removed
        case (TS_OK, TS_BOUNCE_QUARANTINED): return .quarantined
        case (TS_OK, TS_BOUNCE_KEPT): return .kept
        case (TS_OK, TS_BOUNCE_STALE): return .staleBounce
        case (TS_NOTFOUND, _): return .missing
        default: fail("ts_bounce failed: status \(status), outcome \(outcome)")
        }
    }

    func get(_ input: GetInput) -> Outcome {
        var length = 0
        let status = ts_get(handle, input.deviceID.base, input.appID.base, CBoundary.addTokenLength, &length)
        switch status {
        case TS_OK: return length > 0 ? .found : .missing
        case TS_NOTFOUND: return .missing
        default: fail("ts_get failed: status \(status)")
        }
    }

    func liveTokens() -> Int {
        var tokens: UInt64 = 0
        let status = ts_count(handle, &tokens)
        guard status == TS_OK else { fail("ts_count failed: status \(status)") }
        return Int(tokens)
    }

    func close() {
        let status = ts_close(handle)
        handle = nil
        guard status == TS_OK else { fail("ts_close failed: status \(status)") }
    }
}
