@testable import CTokenStore
import CTokenStoreHeader
import Testing
import TokenStore

/// The header's constants that have no Swift raw value (segments, push kinds, durability) map
/// to the Swift values they name, and no other value is accepted.
@Suite struct ConstantMappingTests {
    @Test func everySegmentConstantParsesToItsSegment() {
        #expect(HeaderSource.macros(prefix: "TS_SEGMENT_").count == 6, "a segment was added: map it here")
        #expect(Segment(c: TS_SEGMENT_FOREGROUND_PUSH_ENABLED, appID: nil) == .foregroundPushEnabled)
        #expect(Segment(c: TS_SEGMENT_BACKGROUND_OR_FOREGROUND_PUSH_ENABLED, appID: nil) == .backgroundOrForegroundPushEnabled)
        #expect(Segment(c: TS_SEGMENT_SUBSCRIBED, appID: nil) == .subscription(.subscribed))
        #expect(Segment(c: TS_SEGMENT_OPTED_IN, appID: nil) == .subscription(.optedIn))
        #expect(Segment(c: TS_SEGMENT_UNSUBSCRIBED, appID: nil) == .subscription(.unsubscribed))
        "app".withCString { app in
            #expect(Segment(c: TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, appID: app) == .foregroundPushEnabledForApp("app"))
        }
        #expect(Segment(c: 0, appID: nil) == nil)
        #expect(Segment(c: TS_SEGMENT_UNSUBSCRIBED + 1, appID: nil) == nil)
    }

    @Test func everyPushKindConstantParsesToItsKind() {
        #expect(HeaderSource.macros(prefix: "TS_PUSH_").count == 2, "a push kind was added: map it here")
        #expect(PushKind(c: TS_PUSH_VISIBLE) == .visible)
        #expect(PushKind(c: TS_PUSH_SILENT) == .silent)
        #expect(PushKind(c: 0) == nil)
    }

    @Test func everyDurabilityConstantBecomesItsDurability() throws {
        #expect(HeaderSource.macros(prefix: "TS_DURABILITY_").count == 3, "a durability was added: map it here")
        var options = ts_options.defaults
        options.durability = TS_DURABILITY_NONE
        #expect(try options.storeOptions().durability == .none)
        options.durability = TS_DURABILITY_ALWAYS
        #expect(try options.storeOptions().durability == .always)
        options.durability = TS_DURABILITY_INTERVAL
        options.sync_interval_ms = 250
        #expect(try options.storeOptions().durability == .interval(milliseconds: 250))
    }

    @Test func optionsInitGivesTheSwiftDefaults() throws {
        var options = ts_options()
        ts_options_init(&options)
        #expect(options.version == TS_OPTIONS_VERSION)
        let swift = StoreOptions()
        let converted = try options.storeOptions()
        #expect(converted.shards == swift.shards)
        #expect(converted.durability == swift.durability)
        #expect(converted.changelogLimit == swift.changelogLimit)
        #expect(converted.checkpointLogBytes == swift.checkpointLogBytes)
        #expect(converted.mustExist == swift.mustExist)
        #expect(converted.quarantineMisconfigured == swift.quarantineMisconfigured)
    }
}
