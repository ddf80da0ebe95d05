import Foundation
import Testing
import TokenStore

/// The README's Swift quick start, verbatim (Tests/readme/check_readme.py keeps them equal).
@Suite struct ReadmeExampleTests {
    @Test func theSwiftQuickStartRunsAndDoesWhatItSays() throws {
        let path = FileManager.default.temporaryDirectory.path + "/readme-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }

        let store = try TokenStore(path: path)  // a directory; created when absent
        try store.register(Registration(
            deviceID: "charlies-phone", appID: "com.example.news", token: "a1b2c3d4" + String(repeating: "0", count: 56),
            platform: .ios, authorization: .foreground, userID: "charlie", at: 1_764_000_000_000))
        // Kim logs in on Charlie's phone: the token moves to Kim, and both changelogs say so.
        try store.changeUser(deviceID: "charlies-phone", appID: "com.example.news", userID: "kim", at: 1_764_000_060_000)
        let sendable = try store.sendableTokens(userID: "kim", appID: "com.example.news", kind: .visible)
        let bounce = try store.bounce(token: sendable[0].token, errorCode: "BadDeviceToken", at: 1_764_000_120_000)
        print(bounce.outcome, try store.count(.foregroundPushEnabled), try store.changelog(userID: "charlie").count)
        try store.close()

        #expect(sendable.count == 1)
        #expect(bounce.outcome == .removed)
        let reopened = try TokenStore(path: path)
        #expect(try reopened.count() == 0)
        #expect(try reopened.changelog(userID: "charlie").map(\.kind) == [.registered, .movedOut])
        #expect(try reopened.changelog(userID: "kim").map(\.kind) == [.movedIn, .bounced])
        try reopened.close()
    }
}
