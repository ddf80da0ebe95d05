import Testing
import TokenStore
@testable import TokenStoreCLI

/// Every NDJSON event is validated completely before anything is applied.
@Suite struct CLIEventValidationTests {
    private func event(_ text: String) throws -> Event { try Event(json: try JSONParser.parse(text)) }

    private func failure(_ text: String) -> String? {
        do {
            _ = try event(text)
            return nil
        } catch let error as EventError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test func aRegisterLineCarriesEveryDomainField() throws {
        let line = #"{"event":"register","device_id":"d","app_id":"a","token":"t","platform":"android","#
            + #""authorization":"provisional","user_id":"kim","at":5,"created_at":3,"quarantined":true}"#
        guard case .register(let registration, let createdAt, let quarantined) = try event(line) else {
            Issue.record("not a register")
            return
        }
        #expect(registration == Registration(
            deviceID: "d", appID: "a", token: "t", platform: .android, authorization: .provisional, userID: "kim", at: 5))
        #expect(createdAt == 3)
        #expect(quarantined)
    }

    @Test func everyEventKindParses() throws {
        let lines = [
            #"{"event":"change_user","device_id":"d","app_id":"a","user_id":null,"at":1}"#,
            #"{"event":"set_authorization","device_id":"d","app_id":"a","authorization":"background","at":1}"#,
            #"{"event":"set_subscription","user_id":"u","subscription":"opted_in","at":1}"#,
            #"{"event":"bounce","token":"t","error_code":"410","provider_timestamp":7,"at":1}"#,
            #"{"event":"uninstall","device_id":"d","app_id":"a","at":1}"#,
        ]
        let names = try lines.map { try event($0).name }
        #expect(names == ["change_user", "set_authorization", "set_subscription", "bounce", "uninstall"])
    }

    @Test func encodedEventsParseBackToTheSameEvent() throws {
        let original = Event.register(
            Registration(deviceID: "dé\"v", appID: "a\\pp", token: "tok\n", platform: .web, authorization: .background,
                         userID: nil, at: 9),
            createdAt: 2, quarantined: false)
        let line = String(decoding: original.jsonLine, as: UTF8.self)
        guard case .register(let registration, let createdAt, let quarantined) = try event(line) else {
            Issue.record("not a register")
            return
        }
        #expect(registration.deviceID == "dé\"v")
        #expect(registration.appID == "a\\pp")
        #expect(registration.token == "tok\n")
        #expect(registration.userID == nil)
        #expect(createdAt == 2)
        #expect(!quarantined)
    }

    @Test func aMissingFieldIsNamed() {
        #expect(failure(#"{"event":"uninstall","device_id":"d","at":1}"#) == #"uninstall: missing field "app_id""#)
    }

    @Test func anUnknownFieldIsRejectedSoTyposDoNotPassSilently() {
        #expect(failure(#"{"event":"uninstall","device_id":"d","app_id":"a","at":1,"userid":"x"}"#)
            == #"uninstall: unknown field "userid""#)
    }

    @Test func changeUserNeedsAnExplicitNullToMakeATokenAnonymous() {
        #expect(failure(#"{"event":"change_user","device_id":"d","app_id":"a","at":1}"#)?.contains("user_id") == true)
    }

    @Test(arguments: [
        (#"{"event":"register","device_id":"d","app_id":"a","token":"t","platform":"blackberry","authorization":"foreground","at":1}"#, "platform"),
        (#"{"event":"register","device_id":"d","app_id":"a","token":"t","platform":"ios","authorization":"loud","at":1}"#, "authorization"),
        (#"{"event":"set_subscription","user_id":"u","subscription":"maybe","at":1}"#, "subscription"),
        (#"{"event":"uninstall","device_id":"d","app_id":"a","at":1.5}"#, "whole number"),
        (#"{"event":"uninstall","device_id":"d","app_id":"a","at":-1}"#, "negative"),
        (#"{"event":"uninstall","device_id":"d","app_id":"a","at":"1"}"#, "integer"),
        (#"{"event":"uninstall","device_id":"","app_id":"a","at":1}"#, "empty"),
        (#"{"event":"uninstall","device_id":7,"app_id":"a","at":1}"#, "must be a string"),
        (#"{"event":"uninstall","device_id":"d","device_id":"e","app_id":"a","at":1}"#, "twice"),
        (#"{"event":"register","device_id":"d","app_id":"a","token":"t","platform":"ios","authorization":"foreground","at":1,"created_at":2}"#, "created_at"),
        (#"{"event":"explode","at":1}"#, "unknown event"),
        (#"{"at":1}"#, "event"),
        (#"[1,2]"#, "object"),
    ])
    func badValuesAreRejectedWithAReason(line: String, reason: String) {
        let message = failure(line)
        #expect(message?.contains(reason) == true, "\(message ?? "accepted")")
    }

    @Test func valuesOverTheDocumentedLimitsAreRejectedWithoutEchoingThem() {
        let token = String(repeating: "x", count: Limits.maxTokenBytes + 1)
        let line = #"{"event":"bounce","token":""# + token + #"","error_code":"410","at":1}"#
        let message = failure(line)
        #expect(message?.contains("4096-byte limit") == true)
        #expect(message?.contains("xxxx") == false)
    }

    @Test func anUnknownFieldThatLooksLikeDataIsNotEchoed() {
        let line = #"{"event":"uninstall","device_id":"d","app_id":"a","at":1,"aa8f3c9e-SECRET-TOKEN":1}"#
        let message = failure(line)
        #expect(message?.contains("SECRET") == false)
        #expect(message?.contains("unknown field") == true)
    }
}
