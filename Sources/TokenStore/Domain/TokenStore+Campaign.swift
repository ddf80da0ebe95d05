/// The campaign sender's reads: a segment's sendable tokens in one pass, and lookups by key in
/// batches. They mirror `ts_campaign_tokens` and `ts_get_many` one to one.
extension TokenStore {
    // MARK: Campaign tokens

    /// Calls `body` with a zero-copy view of each token a campaign for `appID` may push to now,
    /// over every user in `segment`, until it returns `false`.
    ///
    /// The set equals the union, over `users(in: segment)`, of `sendableTokens(userID:appID:kind:)`;
    /// each token comes once, in no particular order. Segment membership and the tokens are read
    /// in one pass over the user index, not two lookups per user.
    ///
    /// Each user stripe's pass holds every stripe shared (a member's keys live in any stripe):
    /// other readers go on, writers wait for at most one pass. `body` runs under those locks, so
    /// it must not call into the store, and must not escape the view's buffers.
    /// - Throws: `invalidArgument` or `tooLarge` for a bad app id (before any call), `corrupt`.
    /// - Complexity: O(users in the store + the members' tokens).
    public func forEachCampaignToken(
        in segment: Segment, appID: String, kind: PushKind, _ body: (TokenView) throws -> Bool
    ) throws {
        var appID = appID
        try appID.withUTF8 { try forEachCampaignToken(in: segment, appID: UnsafeRawBufferPointer($0), kind: kind, body) }
    }

    /// Zero-copy form of `forEachCampaignToken(in:appID:kind:_:)` for validated UTF-8 bytes
    /// (the C boundary).
    public func forEachCampaignToken(
        in segment: Segment, appID: UnsafeRawBufferPointer, kind: PushKind, _ body: (TokenView) throws -> Bool
    ) throws {
        try checkOpen()
        try Validate.text(appID, "app id", max: Limits.maxAppIDBytes)
        if case .foregroundPushEnabledForApp(let app) = segment {
            try withArguments(app, "", "", "") { a, _, _, _ in try Validate.text(a, "app id", max: Limits.maxAppIDBytes) }
        }
        try registry.forEachCampaignToken(in: segment, app: appID, kind: kind, body)
    }

    /// The tokens a campaign for `appID` may push to now over `segment`, copied.
    public func campaignTokens(in segment: Segment, appID: String, kind: PushKind) throws(TokenStoreError) -> [TokenRecord] {
        var out: [TokenRecord] = []
        do { try forEachCampaignToken(in: segment, appID: appID, kind: kind) { out.append($0.record); return true } } catch {
            throw TokenStoreError(converting: error)
        }
        return out
    }

    // MARK: Batched lookups

    /// Looks up many keys at once: calls `body` with each key's index and a zero-copy view of
    /// its token (`nil` when the key holds none), in index order, until it returns `false`.
    ///
    /// Equals `withToken(deviceID:appID:_:)` key by key. Keys are looked up 64 at a time, with
    /// the cache misses of a batch overlapped; each batch holds the stripes of its keys shared,
    /// so `body` must not call into the store.
    /// - Throws: `invalidArgument` when the arrays differ in length or an id is empty or holds a
    ///   NUL, `tooLarge` for an oversize id; both before any call.
    public func withTokens(deviceIDs: [String], appIDs: [String], _ body: (Int, TokenView?) throws -> Bool) throws {
        try checkOpen()
        guard deviceIDs.count == appIDs.count else {
            throw TokenStoreError(.invalidArgument, "\(deviceIDs.count) device ids but \(appIDs.count) app ids")
        }
        for i in deviceIDs.indices {
            try withArguments(deviceIDs[i], appIDs[i], "", "") { device, app, _, _ in try Validate.key(device, app) }
        }
        // Each batch's ids are packed into one buffer, so that every key's bytes stay put while
        // the batch is resolved; the buffer is reused from batch to batch.
        var packed: [UInt8] = []
        var ends = [Int](repeating: 0, count: 2 * Registry.keyBatch)
        var start = 0
        while start < deviceIDs.count {
            let range = start..<min(start + Registry.keyBatch, deviceIDs.count)
            packed.removeAll(keepingCapacity: true)
            for (k, i) in range.enumerated() {
                packed.append(contentsOf: deviceIDs[i].utf8)
                ends[2 * k] = packed.count
                packed.append(contentsOf: appIDs[i].utf8)
                ends[2 * k + 1] = packed.count
            }
            let going = try packed.withUnsafeBytes { bytes in
                try registry.withKeyBatch(range, key: { i in
                    let k = i - range.lowerBound
                    let deviceStart = k == 0 ? 0 : ends[2 * k - 1]
                    return (UnsafeRawBufferPointer(rebasing: bytes[deviceStart..<ends[2 * k]]),
                            UnsafeRawBufferPointer(rebasing: bytes[ends[2 * k]..<ends[2 * k + 1]]))
                }, body)
            }
            guard going else { return }
            start = range.upperBound
        }
    }

    /// Zero-copy form of `withTokens(deviceIDs:appIDs:_:)` for callers that hold UTF-8 bytes
    /// (the C boundary): `key(i)` returns key `i`'s device and app ids, for `i` in `0..<count`.
    /// It may be called more than once per key, and its buffers must stay valid for the whole
    /// call. Every key is validated before `body` is first called.
    public func withTokens(
        count: Int, key: (Int) -> (deviceID: UnsafeRawBufferPointer, appID: UnsafeRawBufferPointer),
        _ body: (Int, TokenView?) throws -> Bool
    ) throws {
        try checkOpen()
        guard count >= 0 else { throw TokenStoreError(.invalidArgument, "negative key count") }
        for i in 0..<count {
            let (device, app) = key(i)
            try Validate.key(device, app)
        }
        var start = 0
        while start < count {
            let range = start..<min(start + Registry.keyBatch, count)
            guard try registry.withKeyBatch(range, key: { key($0) }, body) else { return }
            start = range.upperBound
        }
    }

    /// Many keys' tokens, copied: element `i` is key `i`'s token, `nil` when it holds none.
    public func tokens(deviceIDs: [String], appIDs: [String]) throws(TokenStoreError) -> [TokenRecord?] {
        var out: [TokenRecord?] = []
        out.reserveCapacity(deviceIDs.count)
        do { try withTokens(deviceIDs: deviceIDs, appIDs: appIDs) { out.append($1?.record); return true } } catch {
            throw TokenStoreError(converting: error)
        }
        return out
    }
}
