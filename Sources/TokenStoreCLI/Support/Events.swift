import TokenStore

/// One NDJSON event line, validated and ready to apply.
///
/// The wire format is one JSON object per line with an `event` member naming the operation and
/// the domain's field names (`device_id`, `app_id`, …). Times are integers in milliseconds since the Unix epoch.
enum Event {
    /// `register`; `createdAt` (from `created_at`) replays the key's first registration before
    /// `at`, and `quarantined` re-applies a quarantine, as `dump` writes them.
    case register(Registration, createdAt: Int64?, quarantined: Bool)
    case changeUser(deviceID: String, appID: String, userID: String?, at: Int64)
    case setAuthorization(deviceID: String, appID: String, authorization: Authorization, at: Int64)
    case setSubscription(userID: String, subscription: Subscription, at: Int64)
    case bounce(token: String, errorCode: String, providerTimestamp: Int64?, at: Int64)
    case uninstall(deviceID: String, appID: String, at: Int64)

    /// The event names accepted on the `event` member.
    static let names = ["register", "change_user", "set_authorization", "set_subscription", "bounce", "uninstall"]

    /// The wire name of the event.
    var name: String {
        switch self {
        case .register: return "register"
        case .changeUser: return "change_user"
        case .setAuthorization: return "set_authorization"
        case .setSubscription: return "set_subscription"
        case .bounce: return "bounce"
        case .uninstall: return "uninstall"
        }
    }
}

/// Why a line is not a valid event. Messages name fields and limits, never values.
struct EventError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

extension Event {
    /// Validates one parsed JSON line completely: every field, type, enum value and size limit.
    ///
    /// Nothing is applied here, so `load --strict` can stop before a bad line touches the store.
    init(json: JSONValue) throws(EventError) {
        try self.init(fields: try json.uniqueMembers())
    }

    /// Validates an event from its object's members (see `JSONValue.uniqueMembers`).
    init(fields: [String: JSONValue]) throws(EventError) {
        guard let kindValue = fields["event"] else { throw EventError("missing field \"event\"") }
        guard case .string(let kind) = kindValue else { throw EventError("field \"event\" must be a string") }
        var reader = FieldReader(subject: kind, fields: fields)
        switch kind {
        case "register":
            let registration = Registration(
                deviceID: try reader.id("device_id", limit: Limits.maxDeviceIDBytes),
                appID: try reader.id("app_id", limit: Limits.maxAppIDBytes),
                token: try reader.id("token", limit: Limits.maxTokenBytes),
                platform: try reader.platform("platform"),
                authorization: try reader.authorization("authorization"),
                userID: try reader.optionalID("user_id", limit: Limits.maxUserIDBytes, required: false),
                at: try reader.time("at"))
            let createdAt = try reader.optionalTime("created_at")
            if let createdAt, createdAt > registration.at {
                throw EventError("register: \"created_at\" is later than \"at\"")
            }
            let quarantined = try reader.optionalBool("quarantined") ?? false
            try reader.rejectUnknown()
            self = .register(registration, createdAt: createdAt, quarantined: quarantined)
        case "change_user":
            let deviceID = try reader.id("device_id", limit: Limits.maxDeviceIDBytes)
            let appID = try reader.id("app_id", limit: Limits.maxAppIDBytes)
            let userID = try reader.optionalID("user_id", limit: Limits.maxUserIDBytes, required: true)
            let at = try reader.time("at")
            try reader.rejectUnknown()
            self = .changeUser(deviceID: deviceID, appID: appID, userID: userID, at: at)
        case "set_authorization":
            let deviceID = try reader.id("device_id", limit: Limits.maxDeviceIDBytes)
            let appID = try reader.id("app_id", limit: Limits.maxAppIDBytes)
            let authorization = try reader.authorization("authorization")
            let at = try reader.time("at")
            try reader.rejectUnknown()
            self = .setAuthorization(deviceID: deviceID, appID: appID, authorization: authorization, at: at)
        case "set_subscription":
            let userID = try reader.id("user_id", limit: Limits.maxUserIDBytes)
            let subscription = try reader.subscription("subscription")
            let at = try reader.time("at")
            try reader.rejectUnknown()
            self = .setSubscription(userID: userID, subscription: subscription, at: at)
        case "bounce":
            let token = try reader.id("token", limit: Limits.maxTokenBytes)
            let errorCode = try reader.id("error_code", limit: Limits.maxErrorCodeBytes)
            let providerTimestamp = try reader.optionalTime("provider_timestamp")
            let at = try reader.time("at")
            try reader.rejectUnknown()
            self = .bounce(token: token, errorCode: errorCode, providerTimestamp: providerTimestamp, at: at)
        case "uninstall":
            let deviceID = try reader.id("device_id", limit: Limits.maxDeviceIDBytes)
            let appID = try reader.id("app_id", limit: Limits.maxAppIDBytes)
            let at = try reader.time("at")
            try reader.rejectUnknown()
            self = .uninstall(deviceID: deviceID, appID: appID, at: at)
        default:
            throw EventError("unknown event \(Self.display(kind)); expected one of \(Event.names.joined(separator: ", "))")
        }
    }

    /// A field or event name safe to echo in an error: short snake_case text only, since a
    /// malformed line might carry a token where a name belongs.
    static func display(_ name: String) -> String {
        let safe = !name.isEmpty && name.utf8.count <= 32
            && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F || ($0 >= 0x30 && $0 <= 0x39) }
        return safe ? "\"\(name)\"" : "(a name that is not shown)"
    }
}

extension JSONValue {
    /// An object's members by name; a member named twice, or a value that is not an
    /// object, makes the line bad.
    func uniqueMembers() throws(EventError) -> [String: JSONValue] {
        guard case .object(let members) = self else {
            throw EventError("expected a JSON object, found \(typeName)")
        }
        var fields: [String: JSONValue] = [:]
        for (key, value) in members {
            guard fields.updateValue(value, forKey: key) == nil else {
                throw EventError("field \(Event.display(key)) appears twice")
            }
        }
        return fields
    }
}

/// Reads typed members out of an event or record object, remembering which it used.
struct FieldReader {
    /// What the object is (an event or record name), the prefix of every message.
    let subject: String
    let fields: [String: JSONValue]
    var used: Set<String>

    /// A reader of `fields`; `marker` is the member that named the object, already read.
    init(subject: String, fields: [String: JSONValue], marker: String = "event") {
        self.subject = subject
        self.fields = fields
        self.used = [marker]
    }

    private func fail(_ message: String) -> EventError { EventError("\(subject): \(message)") }

    private mutating func value(_ key: String) -> JSONValue? {
        used.insert(key)
        return fields[key]
    }

    mutating func id(_ key: String, limit: Int) throws(EventError) -> String {
        guard let value = value(key) else { throw fail("missing field \"\(key)\"") }
        guard case .string(let text) = value else { throw fail("field \"\(key)\" must be a string, found \(value.typeName)") }
        try check(text, key: key, limit: limit)
        return text
    }

    /// A string that may also be `null`; when `required`, the member must be present.
    mutating func optionalID(_ key: String, limit: Int, required: Bool) throws(EventError) -> String? {
        guard let value = value(key) else {
            if required { throw fail("missing field \"\(key)\" (use null for an anonymous profile)") }
            return nil
        }
        switch value {
        case .null: return nil
        case .string(let text):
            try check(text, key: key, limit: limit)
            return text
        default: throw fail("field \"\(key)\" must be a string or null, found \(value.typeName)")
        }
    }

    private func check(_ text: String, key: String, limit: Int) throws(EventError) {
        let size = text.utf8.count
        if size == 0 { throw fail("field \"\(key)\" is empty") }
        if size > limit { throw fail("field \"\(key)\" is \(size) bytes, over the \(limit)-byte limit") }
        if text.utf8.contains(0) { throw fail("field \"\(key)\" contains a NUL byte") }
    }

    mutating func time(_ key: String) throws(EventError) -> Int64 {
        guard let value = value(key) else { throw fail("missing field \"\(key)\"") }
        return try milliseconds(value, key: key)
    }

    mutating func optionalTime(_ key: String) throws(EventError) -> Int64? {
        guard let value = value(key) else { return nil }
        if case .null = value { return nil }
        return try milliseconds(value, key: key)
    }

    private func milliseconds(_ value: JSONValue, key: String) throws(EventError) -> Int64 {
        switch value {
        case .int(let number):
            guard number >= 0 else { throw fail("field \"\(key)\" must not be negative") }
            return number
        case .double:
            throw fail("field \"\(key)\" must be a whole number of milliseconds")
        default:
            throw fail("field \"\(key)\" must be an integer (milliseconds since 1970), found \(value.typeName)")
        }
    }

    /// A string that may be absent or empty (read as ""), within `limit` bytes.
    mutating func optionalText(_ key: String, limit: Int) throws(EventError) -> String {
        guard let value = value(key) else { return "" }
        guard case .string(let text) = value else { throw fail("field \"\(key)\" must be a string, found \(value.typeName)") }
        if text.isEmpty { return "" }
        try check(text, key: key, limit: limit)
        return text
    }

    /// A non-negative whole number; `nil` when absent.
    mutating func optionalCount(_ key: String, max: Int64 = Int64.max) throws(EventError) -> Int64? {
        guard let value = value(key) else { return nil }
        guard case .int(let number) = value else {
            throw fail("field \"\(key)\" must be a whole number, found \(value.typeName)")
        }
        guard number >= 0, number <= max else { throw fail("field \"\(key)\" must be 0 to \(max)") }
        return number
    }

    /// A nested object's members; `nil` when absent.
    mutating func optionalObject(_ key: String) throws(EventError) -> [String: JSONValue]? {
        guard let value = value(key) else { return nil }
        guard case .object = value else { throw fail("field \"\(key)\" must be an object, found \(value.typeName)") }
        do { return try value.uniqueMembers() } catch { throw fail("in \"\(key)\": \(error.message)") }
    }

    mutating func optionalBool(_ key: String) throws(EventError) -> Bool? {
        guard let value = value(key) else { return nil }
        switch value {
        case .null: return nil
        case .bool(let flag): return flag
        default: throw fail("field \"\(key)\" must be true or false, found \(value.typeName)")
        }
    }

    private mutating func name(_ key: String, choices: [String]) throws(EventError) -> String {
        guard let value = value(key) else { throw fail("missing field \"\(key)\"") }
        guard case .string(let text) = value else { throw fail("field \"\(key)\" must be a string, found \(value.typeName)") }
        guard choices.contains(text) else {
            throw fail("field \"\(key)\" must be one of \(choices.joined(separator: ", "))")
        }
        return text
    }

    mutating func platform(_ key: String) throws(EventError) -> Platform {
        Platform(name: try name(key, choices: Platform.allCases.map(\.description)))!
    }

    mutating func authorization(_ key: String) throws(EventError) -> Authorization {
        Authorization(name: try name(key, choices: Authorization.allCases.map(\.description)))!
    }

    mutating func subscription(_ key: String) throws(EventError) -> Subscription {
        Subscription(name: try name(key, choices: Subscription.allCases.map(\.description)))!
    }

    mutating func changeKind(_ key: String) throws(EventError) -> ChangeKind {
        ChangeKind(name: try name(key, choices: ChangeKind.allCases.map(\.description)))!
    }

    func rejectUnknown() throws(EventError) {
        for key in fields.keys.sorted() where !used.contains(key) {
            throw fail("unknown field \(Event.display(key))")
        }
    }
}

// MARK: Encoding

extension Event {
    /// The event as one NDJSON line, without the newline.
    var jsonLine: [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("event", name)
        switch self {
        case .register(let registration, let createdAt, let quarantined):
            writer.field("device_id", registration.deviceID)
            writer.field("app_id", registration.appID)
            writer.field("token", registration.token)
            writer.field("platform", registration.platform.description)
            writer.field("authorization", registration.authorization.description)
            if let userID = registration.userID { writer.field("user_id", userID) }
            if let createdAt { writer.field("created_at", createdAt) }
            writer.field("at", registration.at)
            if quarantined { writer.field("quarantined", true) }
        case .changeUser(let deviceID, let appID, let userID, let at):
            writer.field("device_id", deviceID)
            writer.field("app_id", appID)
            writer.field("user_id", userID)
            writer.field("at", at)
        case .setAuthorization(let deviceID, let appID, let authorization, let at):
            writer.field("device_id", deviceID)
            writer.field("app_id", appID)
            writer.field("authorization", authorization.description)
            writer.field("at", at)
        case .setSubscription(let userID, let subscription, let at):
            writer.field("user_id", userID)
            writer.field("subscription", subscription.description)
            writer.field("at", at)
        case .bounce(let token, let errorCode, let providerTimestamp, let at):
            writer.field("token", token)
            writer.field("error_code", errorCode)
            if let providerTimestamp { writer.field("provider_timestamp", providerTimestamp) }
            writer.field("at", at)
        case .uninstall(let deviceID, let appID, let at):
            writer.field("device_id", deviceID)
            writer.field("app_id", appID)
            writer.field("at", at)
        }
        writer.endObject()
        return writer.bytes
    }
}
