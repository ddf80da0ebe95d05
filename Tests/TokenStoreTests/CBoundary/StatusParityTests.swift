import CTokenStore
import CTokenStoreHeader
import Testing
import TokenStore

/// The header's status codes and enum constants against the Swift API's values, as
/// swift-system's `ErrnoTest` checks `Errno` against `<errno.h>`: the C boundary passes raw
/// values through without a table, so each pair must be equal.
@Suite struct StatusParityTests {
    /// Every failure status of the header, its value as Swift imports the macro, and the Swift code.
    static let failures: [(name: String, value: Int32, code: TokenStoreError.Code)] = [
        ("TS_NOTFOUND", TS_NOTFOUND, .notFound),
        ("TS_EINVAL", TS_EINVAL, .invalidArgument),
        ("TS_EIO", TS_EIO, .io),
        ("TS_ECORRUPT", TS_ECORRUPT, .corrupt),
        ("TS_ELOCKED", TS_ELOCKED, .locked),
        ("TS_ENOSPC", TS_ENOSPC, .noSpace),
        ("TS_EVERSION", TS_EVERSION, .versionMismatch),
        ("TS_ETOOBIG", TS_ETOOBIG, .tooLarge),
        ("TS_ECLOSED", TS_ECLOSED, .closed),
    ]

    @Test func everyHeaderStatusIsChecked() {
        #expect(HeaderSource.statuses == Set(Self.failures.map(\.name) + ["TS_OK", "TS_STALE"]))
    }

    @Test func everyFailureStatusEqualsItsSwiftCode() {
        for failure in Self.failures {
            #expect(failure.value == failure.code.rawValue, "\(failure.name)")
        }
    }

    @Test func successAndStaleAreTheTwoStatusesThatAreNotErrors() {
        #expect(TS_OK == 0)
        #expect(TS_STALE == 1)
        #expect(Self.failures.allSatisfy { $0.value < 0 })
    }

    @Test func strerrorGivesEachFailureItsSwiftDescription() {
        for failure in Self.failures {
            let text = String(cString: ts_strerror(failure.value))
            #expect(text == failure.code.description, "\(failure.name)")
            #expect(failure.code.text != nil, "\(failure.name) has no static text")
        }
        let texts = ([TS_OK, TS_STALE] + Self.failures.map(\.value)).map { String(cString: ts_strerror($0)) }
        #expect(Set(texts).count == texts.count, "two statuses share a text")
    }

    @Test func versionStringIsTheLibraryVersion() {
        #expect(TS_VERSION_STRING == "\(TokenStore.libraryVersion)")
        #expect(String(cString: ts_version()) == TS_VERSION_STRING)
        #expect("\(TS_VERSION_MAJOR).\(TS_VERSION_MINOR).\(TS_VERSION_PATCH)" == TS_VERSION_STRING)
    }

    @Test func limitsEqualTheSwiftLimits() {
        #expect(Int(TS_MAX_DEVICE_ID_BYTES) == Limits.maxDeviceIDBytes)
        #expect(Int(TS_MAX_APP_ID_BYTES) == Limits.maxAppIDBytes)
        #expect(Int(TS_MAX_USER_ID_BYTES) == Limits.maxUserIDBytes)
        #expect(Int(TS_MAX_TOKEN_BYTES) == Limits.maxTokenBytes)
        #expect(Int(TS_MAX_ERROR_CODE_BYTES) == Limits.maxErrorCodeBytes)
        #expect(HeaderSource.macros(prefix: "TS_MAX_").count == 6, "a limit was added: check it here")
    }

    @Test func platformConstantsEqualTheRawValues() {
        expectParity("TS_PLATFORM_", [
            ("TS_PLATFORM_IOS", TS_PLATFORM_IOS, Platform.ios),
            ("TS_PLATFORM_ANDROID", TS_PLATFORM_ANDROID, .android),
            ("TS_PLATFORM_WEB", TS_PLATFORM_WEB, .web),
        ])
    }

    @Test func authorizationConstantsEqualTheRawValues() {
        expectParity("TS_AUTH_", [
            ("TS_AUTH_FOREGROUND", TS_AUTH_FOREGROUND, Authorization.foreground),
            ("TS_AUTH_PROVISIONAL", TS_AUTH_PROVISIONAL, .provisional),
            ("TS_AUTH_BACKGROUND", TS_AUTH_BACKGROUND, .background),
        ])
    }

    @Test func subscriptionConstantsEqualTheRawValues() {
        expectParity("TS_SUB_", [
            ("TS_SUB_SUBSCRIBED", TS_SUB_SUBSCRIBED, Subscription.subscribed),
            ("TS_SUB_OPTED_IN", TS_SUB_OPTED_IN, .optedIn),
            ("TS_SUB_UNSUBSCRIBED", TS_SUB_UNSUBSCRIBED, .unsubscribed),
        ])
    }

    @Test func bounceConstantsEqualTheRawValues() {
        expectParity("TS_BOUNCE_", [
            ("TS_BOUNCE_REMOVED", TS_BOUNCE_REMOVED, BounceOutcome.removed),
            ("TS_BOUNCE_QUARANTINED", TS_BOUNCE_QUARANTINED, .quarantined),
            ("TS_BOUNCE_KEPT", TS_BOUNCE_KEPT, .kept),
            ("TS_BOUNCE_STALE", TS_BOUNCE_STALE, .stale),
        ])
        expectParity("TS_CATEGORY_", [
            ("TS_CATEGORY_DEAD", TS_CATEGORY_DEAD, BounceCategory.dead),
            ("TS_CATEGORY_MISCONFIGURED", TS_CATEGORY_MISCONFIGURED, .misconfigured),
            ("TS_CATEGORY_TRANSIENT", TS_CATEGORY_TRANSIENT, .transient),
            ("TS_CATEGORY_PAYLOAD", TS_CATEGORY_PAYLOAD, .payload),
            ("TS_CATEGORY_UNKNOWN", TS_CATEGORY_UNKNOWN, .unknown),
        ])
    }

    @Test func changeConstantsEqualTheRawValues() {
        expectParity("TS_CHANGE_", [
            ("TS_CHANGE_REGISTERED", TS_CHANGE_REGISTERED, ChangeKind.registered),
            ("TS_CHANGE_TOKEN_REPLACED", TS_CHANGE_TOKEN_REPLACED, .tokenReplaced),
            ("TS_CHANGE_MOVED_IN", TS_CHANGE_MOVED_IN, .movedIn),
            ("TS_CHANGE_MOVED_OUT", TS_CHANGE_MOVED_OUT, .movedOut),
            ("TS_CHANGE_AUTHORIZATION", TS_CHANGE_AUTHORIZATION, .authorizationChanged),
            ("TS_CHANGE_BOUNCED", TS_CHANGE_BOUNCED, .bounced),
            ("TS_CHANGE_UNINSTALLED", TS_CHANGE_UNINSTALLED, .uninstalled),
            ("TS_CHANGE_EXPIRED", TS_CHANGE_EXPIRED, .expired),
            ("TS_CHANGE_SUBSCRIPTION", TS_CHANGE_SUBSCRIPTION, .subscriptionChanged),
        ])
    }

    @Test func statsArraysHaveASlotForEveryConstant() {
        let stats = ts_store_stats()
        #expect(slots(stats.by_platform) == Platform.allCases.count + 1)
        #expect(slots(stats.by_authorization) == Authorization.allCases.count + 1)
        #expect(slots(stats.bounces_by_outcome) == BounceOutcome.allCases.count + 1)
        #expect(slots(stats.bounces_by_category) == BounceCategory.allCases.count + 1)
    }

    /// Checks that `pairs` names every `prefix` constant of the header and every case of `E`,
    /// and that each constant equals its case's raw value.
    private func expectParity<E: CaseIterable & RawRepresentable & Hashable>(
        _ prefix: String, _ pairs: [(name: String, value: Int32, swift: E)],
        sourceLocation: SourceLocation = #_sourceLocation
    ) where E.RawValue == UInt8 {
        #expect(HeaderSource.macros(prefix: prefix) == Set(pairs.map(\.name)), sourceLocation: sourceLocation)
        #expect(Set(E.allCases) == Set(pairs.map(\.swift)), sourceLocation: sourceLocation)
        for pair in pairs {
            #expect(pair.value == Int32(pair.swift.rawValue), "\(pair.name)", sourceLocation: sourceLocation)
        }
    }

    /// The number of `uint64_t` slots of a C array, which Swift imports as a tuple.
    private func slots<Tuple>(_ tuple: Tuple) -> Int { MemoryLayout<Tuple>.size / MemoryLayout<UInt64>.size }
}
