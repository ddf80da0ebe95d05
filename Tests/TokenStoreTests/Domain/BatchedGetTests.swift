import Foundation
import Testing
@testable import TokenStore

private typealias F = DomainFixture
private typealias W = CampaignWorkload

/// `withTokens` / `tokens(deviceIDs:appIDs:)`: lookups by key in batches, equal to lookups key
/// by key.
@Suite struct BatchedGetTests {
    /// Every key the workload may have written (many empty by now) and keys it never wrote:
    /// several batches of 64, the last one partial.
    private var keys: (devices: [String], apps: [String]) {
        var devices: [String] = [], apps: [String] = []
        for device in W.devices + ["never-0", "never-1", "never-2"] {
            for app in W.apps + [W.unknownApp] {
                devices.append(device)
                apps.append(app)
            }
        }
        return (devices, apps)
    }

    @Test(arguments: [(seed: UInt64(11), shards: 4), (12, 64), (13, 1)])
    func batchedLookupsEqualLookupsKeyByKeyMissingKeysIncluded(seed: UInt64, shards: Int) throws {
        try F.withStore(shards: shards, quarantine: true) { store throws in
            try W.fill(store, seed: seed)
            let (devices, apps) = keys
            #expect(devices.count % Registry.keyBatch != 0, "the last batch should be partial")
            let batched = try store.tokens(deviceIDs: devices, appIDs: apps)
            #expect(batched.count == devices.count)
            var found = 0
            for i in devices.indices {
                let single = try store.token(deviceID: devices[i], appID: apps[i])
                #expect(batched[i] == single, "key \(devices[i])/\(apps[i])")
                if single != nil { found += 1 }
            }
            #expect(found > 0 && found < devices.count, "both outcomes compared: \(found) of \(devices.count) found")
        }
    }

    @Test func theByteFormCallsBackInIndexOrderWithTheSameAnswers() throws {
        try F.withStore(shards: 4) { store throws in
            try W.fill(store, seed: 21, steps: 600)
            let (devices, apps) = keys
            let expected = try store.tokens(deviceIDs: devices, appIDs: apps)
            // The ids in one buffer the test owns, as a C caller's arrays of strings would be.
            let ids = devices + apps
            let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: ids.reduce(0) { $0 + $1.utf8.count }, alignment: 1)
            defer { bytes.deallocate() }
            var ranges: [Range<Int>] = []
            var end = 0
            for id in ids {
                let start = end
                for byte in id.utf8 { bytes[end] = byte; end += 1 }
                ranges.append(start..<end)
            }
            let buffer = UnsafeRawBufferPointer(bytes)
            var indices: [Int] = [], records: [TokenRecord?] = []
            try store.withTokens(count: devices.count, key: { i in
                (UnsafeRawBufferPointer(rebasing: buffer[ranges[i]]),
                 UnsafeRawBufferPointer(rebasing: buffer[ranges[devices.count + i]]))
            }) { index, view in
                indices.append(index)
                records.append(view?.record)
                return true
            }
            #expect(indices == Array(devices.indices))
            #expect(records == expected)
        }
    }

    @Test func batchedLookupsStopWhenTheClosureReturnsFalse() throws {
        try F.withStore(shards: 4) { store throws in
            let (devices, apps) = keys
            var calls = 0
            try store.withTokens(deviceIDs: devices, appIDs: apps) { _, _ in
                calls += 1
                return calls < 100
            }
            #expect(calls == 100)
            try store.withTokens(deviceIDs: [], appIDs: []) { _, _ in
                Issue.record("called for an empty batch")
                return true
            }
        }
    }

    @Test func aBadKeyAnywhereThrowsBeforeAnyCall() throws {
        try F.withStore(shards: 4) { store throws in
            try store.register(F.reg("phone", "app", F.apnsToken(1), user: "kim", at: F.t0))
            let good = Array(repeating: "phone", count: 130)
            let goodApps = Array(repeating: "app", count: 130)
            var calls = 0
            let count: (Int, TokenView?) throws -> Bool = { _, _ in calls += 1; return true }
            F.expectCode(.invalidArgument, "for arrays of different lengths") {
                try store.withTokens(deviceIDs: good, appIDs: Array(goodApps.dropLast()), count)
            }
            for (bad, code) in [("", TokenStoreError.Code.invalidArgument), ("a\u{0}b", .invalidArgument),
                                (String(repeating: "d", count: Limits.maxDeviceIDBytes + 1), .tooLarge)] {
                for position in [0, 64, 129] {
                    var devices = good, apps = goodApps
                    devices[position] = bad
                    F.expectCode(code, "for a bad device id at \(position)") { try store.withTokens(deviceIDs: devices, appIDs: apps, count) }
                    devices = good
                    apps[position] = bad
                    F.expectCode(code, "for a bad app id at \(position)") { try store.withTokens(deviceIDs: devices, appIDs: apps, count) }
                }
            }
            #expect(calls == 0)
            try store.withTokens(deviceIDs: good, appIDs: goodApps, count)
            #expect(calls == 130)
        }
    }
}
