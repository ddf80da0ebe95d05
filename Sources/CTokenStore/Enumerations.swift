// Parsing of the C enum constants. Unknown values yield `nil`, which the shims turn into
// `TS_EINVAL`. The header's constants equal the Swift enums' raw values by design, which the
// C-boundary parity tests check; the enums without raw values are mapped here by name.

import CTokenStoreHeader
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
    /// Parses `TS_PUSH_VISIBLE` or `TS_PUSH_SILENT`.
    init?(c value: Int32) {
        switch value {
        case TS_PUSH_VISIBLE: self = .visible
        case TS_PUSH_SILENT: self = .silent
        default: return nil
        }
    }
}

extension Segment {
    /// Parses a `TS_SEGMENT_*` constant with its app id, which must be present exactly for
    /// `TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP`.
    init?(c value: Int32, appID: UnsafePointer<CChar>?) {
        if value == TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP {
            guard let app = argument(appID, limit: Limits.maxAppIDBytes) else { return nil }
            self = .foregroundPushEnabledForApp(app)
            return
        }
        guard appID == nil else { return nil }
        switch value {
        case TS_SEGMENT_FOREGROUND_PUSH_ENABLED: self = .foregroundPushEnabled
        case TS_SEGMENT_BACKGROUND_OR_FOREGROUND_PUSH_ENABLED: self = .backgroundOrForegroundPushEnabled
        case TS_SEGMENT_SUBSCRIBED: self = .subscription(.subscribed)
        case TS_SEGMENT_OPTED_IN: self = .subscription(.optedIn)
        case TS_SEGMENT_UNSUBSCRIBED: self = .subscription(.unsubscribed)
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

