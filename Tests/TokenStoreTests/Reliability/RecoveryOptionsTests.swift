import Foundation
import Testing
@testable import TokenStore

/// Recovery replays the log with the options of the open that recovers, not those the
/// writes were acknowledged under. An acknowledged outcome must not change with them.
@Suite struct RecoveryOptionsTests {
    /// A store killed after writes (copied while open), reopened with `reopen` options.
    func recover(writing: StoreOptions, reopen: StoreOptions, _ body: (TokenStore) throws -> Void) throws -> (StoreSnapshot, StoreSnapshot) {
        let dir = ScratchDirectory("recovery-options")
        let path = dir.sub("store"), copy = dir.sub("crashed")
        let store = try TokenStore(path: path, options: writing)
        try body(store)
        try store.sync()
        let acknowledged = try StoreSnapshot(store)
        try copyStore(path, to: copy)
        try store.close()
        let recovered = try TokenStore(path: copy, options: reopen)
        defer { try? recovered.close() }
        return (acknowledged, try StoreSnapshot(recovered))
    }

    @Test
    func aQuarantiningBounceStaysQuarantinedWhenRecoveredWithDefaultOptions() throws {
        var writing = reliabilityOptions(shards: 2)
        writing.quarantineMisconfigured = true
        let (acknowledged, recovered) = try recover(writing: writing, reopen: reliabilityOptions(shards: 2)) { store in
            try Workload.mix(store, 0..<20, generation: 1)
            let r = try store.bounce(token: Workload.token(7, generation: 1), errorCode: "MismatchSenderId", at: 1_000_000)
            #expect(r.outcome == .quarantined)
        }
        #expect(recovered == acknowledged, "\(recovered.difference(from: acknowledged))")
    }

    @Test
    func changelogsRecoverAsAcknowledgedWhateverTheReopeningLimit() throws {
        var writing = reliabilityOptions(shards: 2)
        writing.changelogLimit = 64
        let (acknowledged, recovered) = try recover(writing: writing, reopen: reliabilityOptions(shards: 2)) { store in
            try Workload.mix(store, 0..<120, generation: 1)
        }
        #expect(recovered == acknowledged, "\(recovered.difference(from: acknowledged))")
    }
}
