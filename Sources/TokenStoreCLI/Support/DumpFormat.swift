import TokenStore

/// The first line of a dump: the dump format's version and the options fixed when the store
/// was created, so that `load` creates the same store.
///
/// `{"tokenstore_dump":3,"shards":4,"quarantine_misconfigured":false,"changelog_limit":64,"tombstone_retention_ms":2592000000}`
///
/// Version 1 had no header: a stream of `set_subscription` and `register` events, which
/// `load` still applies as events. Version 2 adds this header and writes state records
/// (`BackupRecord`) instead of events, so that every field survives. Version 3 adds the
/// tombstone retention to the header and `tombstone` records; a version 2 header reads as
/// the default retention.
struct DumpHeader: Equatable {
    /// The member that marks a header line; its value is the format version.
    static let marker = "tokenstore_dump"
    /// The version this tool writes, and the newest it reads.
    static let version: Int64 = 3

    var shards: Int
    var quarantineMisconfigured: Bool
    var changelogLimit: Int
    /// `StoreOptions.tombstoneRetention`, in milliseconds.
    var tombstoneRetention: Int64

    /// The header of a store that runs with `options`.
    init(_ options: StoreOptions) {
        shards = options.shards
        quarantineMisconfigured = options.quarantineMisconfigured
        changelogLimit = options.changelogLimit
        tombstoneRetention = options.tombstoneRetention
    }

    /// Validates a header line's members.
    init(fields: [String: JSONValue]) throws(EventError) {
        var reader = FieldReader(subject: "dump header", fields: fields, marker: DumpHeader.marker)
        guard case .int(let version) = fields[DumpHeader.marker] ?? .null, version >= 2 else {
            throw EventError("dump header: \"\(DumpHeader.marker)\" must be a format version of 2 or more")
        }
        guard version <= DumpHeader.version else {
            throw EventError("dump header: format version \(version) is newer than this tool reads (\(DumpHeader.version))")
        }
        guard let shards = try reader.optionalCount("shards", max: 4096), shards >= 1, shards & (shards - 1) == 0 else {
            throw EventError("dump header: \"shards\" must be a power of two from 1 to 4096")
        }
        guard let limit = try reader.optionalCount("changelog_limit", max: 4096), limit >= 1 else {
            throw EventError("dump header: \"changelog_limit\" must be a number from 1 to 4096")
        }
        guard let quarantine = try reader.optionalBool("quarantine_misconfigured") else {
            throw EventError("dump header: missing field \"quarantine_misconfigured\"")
        }
        var retention = StoreOptions.defaultTombstoneRetention
        if version >= 3 {
            let range = StoreOptions.tombstoneRetentionRange
            guard let ms = try reader.optionalCount("tombstone_retention_ms", max: range.upperBound), range.contains(ms), ms % 1000 == 0 else {
                throw EventError("dump header: \"tombstone_retention_ms\" must be whole seconds from 1000 to \(range.upperBound)")
            }
            retention = ms
        }
        try reader.rejectUnknown()
        (self.shards, self.changelogLimit, self.quarantineMisconfigured) = (Int(shards), Int(limit), quarantine)
        self.tombstoneRetention = retention
    }

    /// What a line is, as far as the header goes.
    enum Inspection {
        case header(DumpHeader)
        /// A header line that is not valid; the message says why.
        case invalid(String)
        /// Anything else, including lines that are not JSON (`load` reports those itself).
        case notHeader
    }

    /// Whether `bytes` is a header line, without judging any other kind of line.
    static func inspect(_ bytes: UnsafeBufferPointer<UInt8>) -> Inspection {
        guard let json = try? JSONParser.parse(bytes), case .object(let members) = json,
            members.contains(where: { $0.key == marker })
        else { return .notHeader }
        do { return .header(try DumpHeader(fields: try json.uniqueMembers())) } catch { return .invalid(error.message) }
    }

    /// Sets the creation options in `options` to the header's, except those in `keeping`
    /// (the ones the command line set).
    func apply(to options: inout StoreOptions, keeping: Set<String>) {
        if !keeping.contains("--shards") { options.shards = shards }
        if !keeping.contains("--changelog-limit") { options.changelogLimit = changelogLimit }
        if !keeping.contains("--quarantine-misconfigured") { options.quarantineMisconfigured = quarantineMisconfigured }
        if !keeping.contains("--tombstone-retention-days") { options.tombstoneRetention = tombstoneRetention }
    }

    /// The creation options in words, for messages.
    var summary: String {
        "shards \(shards), changelog limit \(changelogLimit), "
            + (quarantineMisconfigured ? "quarantine on mismatch" : "removal on mismatch")
            + ", tombstones kept \(DumpHeader.describe(tombstoneRetention))"
    }

    /// A retention in words: whole days when it is, else seconds.
    static func describe(_ retention: Int64) -> String {
        retention % 86_400_000 == 0 ? "\(retention / 86_400_000) days" : "\(retention / 1000) s"
    }

    /// The header line, without the newline.
    var jsonLine: [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field(DumpHeader.marker, DumpHeader.version)
        writer.field("shards", shards)
        writer.field("quarantine_misconfigured", quarantineMisconfigured)
        writer.field("changelog_limit", changelogLimit)
        writer.field("tombstone_retention_ms", tombstoneRetention)
        writer.endObject()
        return writer.bytes
    }
}

/// One line of a dump's state, written back by `TokenStore`'s restore calls. Every field a
/// store keeps is here: times, quarantine, kept bounces, changelogs, bounce statistics.
///
/// ```
/// {"record":"user","user_id":U,"subscription":S,"subscription_at":MS,"opted_in_at":MS,"unsubscribed_at":MS}
/// {"record":"change","user_id":U,"at":MS,"kind":K,"device_id":D,"app_id":A,"token":T,"other_user_id":U,"detail":X}
/// {"record":"token","device_id":D,"app_id":A,"token":T,"platform":P,"authorization":Z,"user_id":U,
///  "created_at":MS,"updated_at":MS,"event_at":MS,"quarantined":true,"kept_bounces":N}
/// {"record":"tombstone","device_id":D,"app_id":A,"token_hash":"16 hex digits","at":MS,"bounced":true}
/// {"record":"bounce_statistics","by_outcome":{"removed":N,…},"by_category":{"dead":N,…}}
/// ```
/// Members that are absent mean never, empty, false or zero; `dump` leaves them out.
enum BackupRecord {
    case user(userID: String, state: UserState, subscriptionAt: Int64?)
    case change(userID: String, entry: ChangeEntry)
    case token(TokenRecord, eventAt: Int64, keptBounces: Int)
    case bounceStatistics(byOutcome: [BounceOutcome: Int], byCategory: [BounceCategory: Int])
    case tombstone(Tombstone)

    /// The member that marks a record line; its value names the record.
    static let marker = "record"
    /// The record names accepted on the `record` member.
    static let names = ["user", "change", "token", "tombstone", "bounce_statistics"]

    /// The record's name, as `load` reports it.
    var name: String {
        switch self {
        case .user: return "user"
        case .change: return "change"
        case .token: return "token"
        case .bounceStatistics: return "bounce_statistics"
        case .tombstone: return "tombstone"
        }
    }

    /// Validates a record line's members completely, before anything is applied.
    init(fields: [String: JSONValue]) throws(EventError) {
        guard case .string(let kind) = fields[BackupRecord.marker] ?? .null else {
            throw EventError("field \"record\" must be a string")
        }
        var reader = FieldReader(subject: "\(Event.display(kind)) record", fields: fields, marker: BackupRecord.marker)
        switch kind {
        case "user":
            let userID = try reader.id("user_id", limit: Limits.maxUserIDBytes)
            let subscription = try reader.subscription("subscription")
            let state = UserState(
                subscription: subscription, optedInAt: try reader.optionalTime("opted_in_at"),
                unsubscribedAt: try reader.optionalTime("unsubscribed_at"))
            let subscriptionAt = try reader.optionalTime("subscription_at")
            try reader.rejectUnknown()
            self = .user(userID: userID, state: state, subscriptionAt: subscriptionAt)
        case "change":
            let userID = try reader.id("user_id", limit: Limits.maxUserIDBytes)
            let at = try reader.time("at")
            let kind = try reader.changeKind("kind")
            let entry = ChangeEntry(
                at: at, kind: kind, deviceID: try reader.optionalText("device_id", limit: Limits.maxDeviceIDBytes),
                appID: try reader.optionalText("app_id", limit: Limits.maxAppIDBytes),
                token: try reader.optionalText("token", limit: Limits.maxTokenBytes),
                otherUserID: BackupRecord.nonEmpty(try reader.optionalText("other_user_id", limit: Limits.maxUserIDBytes)),
                detail: BackupRecord.nonEmpty(try reader.optionalText("detail", limit: Limits.maxErrorCodeBytes)))
            try reader.rejectUnknown()
            self = .change(userID: userID, entry: entry)
        case "token":
            let record = TokenRecord(
                deviceID: try reader.id("device_id", limit: Limits.maxDeviceIDBytes),
                appID: try reader.id("app_id", limit: Limits.maxAppIDBytes),
                token: try reader.id("token", limit: Limits.maxTokenBytes),
                userID: try reader.optionalID("user_id", limit: Limits.maxUserIDBytes, required: false),
                platform: try reader.platform("platform"), authorization: try reader.authorization("authorization"),
                isQuarantined: try reader.optionalBool("quarantined") ?? false,
                createdAt: try reader.time("created_at"), updatedAt: try reader.time("updated_at"))
            let eventAt = try reader.time("event_at")
            let kept = try reader.optionalCount("kept_bounces", max: Int64(UInt32.max)) ?? 0
            try reader.rejectUnknown()
            guard record.createdAt <= record.updatedAt, record.updatedAt <= eventAt else {
                throw EventError("token record: the times must satisfy created_at ≤ updated_at ≤ event_at")
            }
            self = .token(record, eventAt: eventAt, keptBounces: Int(kept))
        case "bounce_statistics":
            var byOutcome: [BounceOutcome: Int] = [:]
            var byCategory: [BounceCategory: Int] = [:]
            if let fields = try reader.optionalObject("by_outcome") {
                var counts = FieldReader(subject: "bounce_statistics record: by_outcome", fields: fields, marker: "")
                for outcome in BounceOutcome.allCases { byOutcome[outcome] = Int(try counts.optionalCount(outcome.description) ?? 0) }
                try counts.rejectUnknown()
            }
            if let fields = try reader.optionalObject("by_category") {
                var counts = FieldReader(subject: "bounce_statistics record: by_category", fields: fields, marker: "")
                for category in BounceCategory.allCases { byCategory[category] = Int(try counts.optionalCount(category.description) ?? 0) }
                try counts.rejectUnknown()
            }
            try reader.rejectUnknown()
            self = .bounceStatistics(byOutcome: byOutcome, byCategory: byCategory)
        case "tombstone":
            let deviceID = try reader.id("device_id", limit: Limits.maxDeviceIDBytes)
            let appID = try reader.id("app_id", limit: Limits.maxAppIDBytes)
            let hashText = try reader.id("token_hash", limit: 16)
            guard hashText.utf8.count == 16, hashText.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
                let tokenHash = UInt64(hashText, radix: 16)
            else { throw EventError("tombstone record: \"token_hash\" must be 16 lowercase hex digits") }
            let at = try reader.time("at")
            let bounced = try reader.optionalBool("bounced") ?? false
            try reader.rejectUnknown()
            self = .tombstone(Tombstone(deviceID: deviceID, appID: appID, tokenHash: tokenHash, at: at, bounced: bounced))
        default:
            throw EventError("unknown record \(Event.display(kind)); expected one of \(BackupRecord.names.joined(separator: ", "))")
        }
    }

    private static func nonEmpty(_ text: String) -> String? { text.isEmpty ? nil : text }

    /// Writes the record back into `store`.
    func apply(to store: TokenStore) throws(TokenStoreError) -> WriteOutcome {
        switch self {
        case .user(let userID, let state, let subscriptionAt):
            return try store.restoreUser(userID: userID, state: state, subscriptionAt: subscriptionAt)
        case .change(let userID, let entry):
            try store.restoreChange(userID: userID, entry)
            return .applied
        case .token(let record, let eventAt, let keptBounces):
            return try store.restore(record, eventAt: eventAt, keptBounces: keptBounces)
        case .bounceStatistics(let byOutcome, let byCategory):
            try store.restoreBounceStatistics(byOutcome: byOutcome, byCategory: byCategory)
            return .applied
        case .tombstone(let tombstone):
            return try store.restore(tombstone)
        }
    }

    // MARK: Encoding, straight from the store's views

    /// The user's line and one line per changelog entry, oldest first, each ending in a newline.
    static func lines(for user: UserView) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field(marker, "user")
        writer.field("user_id", bytes: user.userID)
        writer.field("subscription", user.state.subscription.description)
        if let at = user.subscriptionAt { writer.field("subscription_at", at) }
        if let at = user.state.optedInAt { writer.field("opted_in_at", at) }
        if let at = user.state.unsubscribedAt { writer.field("unsubscribed_at", at) }
        writer.endObject()
        var bytes = writer.bytes
        bytes.append(UInt8(ascii: "\n"))
        for change in user.changelog {
            var writer = JSONWriter()
            writer.beginObject()
            writer.field(marker, "change")
            writer.field("user_id", bytes: user.userID)
            writer.field("at", change.at)
            writer.field("kind", change.kind.description)
            let optional = [
                ("device_id", change.deviceID), ("app_id", change.appID), ("token", change.token),
                ("other_user_id", change.otherUserID), ("detail", change.detail),
            ]
            for (key, value) in optional where !value.isEmpty { writer.field(key, bytes: value) }
            writer.endObject()
            bytes += writer.bytes
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }

    /// The token's line, without the newline.
    static func line(for record: TokenView) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field(marker, "token")
        writer.field("device_id", bytes: record.deviceID)
        writer.field("app_id", bytes: record.appID)
        writer.field("token", bytes: record.token)
        writer.field("platform", record.platform.description)
        writer.field("authorization", record.authorization.description)
        if !record.userID.isEmpty { writer.field("user_id", bytes: record.userID) }
        writer.field("created_at", record.createdAt)
        writer.field("updated_at", record.updatedAt)
        writer.field("event_at", record.eventAt)
        if record.isQuarantined { writer.field("quarantined", true) }
        if record.keptBounces > 0 { writer.field("kept_bounces", record.keptBounces) }
        writer.endObject()
        return writer.bytes
    }

    /// The tombstone's line, without the newline.
    static func line(for tombstone: Tombstone) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field(marker, "tombstone")
        writer.field("device_id", tombstone.deviceID)
        writer.field("app_id", tombstone.appID)
        let hex = String(tombstone.tokenHash, radix: 16)
        writer.field("token_hash", String(repeating: "0", count: 16 - hex.utf8.count) + hex)
        writer.field("at", tombstone.at)
        if tombstone.bounced { writer.field("bounced", true) }
        writer.endObject()
        return writer.bytes
    }

    /// The bounce statistics line, every outcome and category named, without the newline.
    static func line(bounceStatistics statistics: StoreStatistics) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field(marker, "bounce_statistics")
        writer.beginObject(key: "by_outcome")
        for outcome in BounceOutcome.allCases { writer.field(outcome.description, statistics.bouncesByOutcome[outcome] ?? 0) }
        writer.endObject()
        writer.beginObject(key: "by_category")
        for category in BounceCategory.allCases { writer.field(category.description, statistics.bouncesByCategory[category] ?? 0) }
        writer.endObject()
        writer.endObject()
        return writer.bytes
    }
}

/// What one input line of `load` is: a dump's header, a state record or an event.
enum InputLine {
    case header(DumpHeader)
    case record(BackupRecord)
    case event(Event)

    /// Classifies and validates a parsed line by its marker member: `tokenstore_dump`,
    /// `record`, or else an event (which reports a missing `event` member).
    init(json: JSONValue) throws(EventError) {
        let fields = try json.uniqueMembers()
        if fields[DumpHeader.marker] != nil {
            self = .header(try DumpHeader(fields: fields))
        } else if fields[BackupRecord.marker] != nil {
            self = .record(try BackupRecord(fields: fields))
        } else {
            self = .event(try Event(fields: fields))
        }
    }
}
