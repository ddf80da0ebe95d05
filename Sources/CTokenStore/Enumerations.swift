// Parsing of the C enum constants. Unknown values yield `nil`, which the shims turn into
// `TS_EINVAL`; the raw values equal the Swift enums' raw values by design.

import TokenStore

extension Platform {
    /// Parses a `TS_PLATFORM_*` constant.
    @inline(__always)
    init?(c value: Int32) {
        guard let raw = UInt8(exactly: value) else { return nil }
        self.init(rawValue: raw)
    }
}

extension Authorization {
    /// Parses a `TS_AUTH_*` constant.
    @inline(__always)
    init?(c value: Int32) {
        guard let raw = UInt8(exactly: value) else { return nil }
        self.init(rawValue: raw)
    }
}

extension Subscription {
    /// Parses a `TS_SUB_*` constant.
    @inline(__always)
    init?(c value: Int32) {
        guard let raw = UInt8(exactly: value) else { return nil }
        self.init(rawValue: raw)
    }
}

extension PushKind {
    /// Parses `TS_PUSH_VISIBLE` (1) or `TS_PUSH_SILENT` (2).
    init?(c value: Int32) {
        switch value {
        case 1: self = .visible
        case 2: self = .silent
        default: return nil
        }
    }
}

extension Segment {
    /// Parses a `TS_SEGMENT_*` constant with its app id, which must be present exactly for
    /// `TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP`.
    init?(c value: Int32, appID: UnsafePointer<CChar>?) {
        if value == 2 {
            guard let app = argument(appID, limit: Limits.maxAppIDBytes) else { return nil }
            self = .foregroundPushEnabledForApp(app)
            return
        }
        guard appID == nil else { return nil }
        switch value {
        case 1: self = .foregroundPushEnabled
        case 3: self = .backgroundOrForegroundPushEnabled
        case 4: self = .subscription(.subscribed)
        case 5: self = .subscription(.optedIn)
        case 6: self = .subscription(.unsubscribed)
        default: return nil
        }
    }
}

extension Int32 {
    /// The C constant of a Swift enum value (`TS_BOUNCE_*`, `TS_CATEGORY_*`, `TS_CHANGE_*`, …).
    @inline(__always)
    init<E: RawRepresentable>(c value: E) where E.RawValue == UInt8 {
        self.init(value.rawValue)
    }
}

