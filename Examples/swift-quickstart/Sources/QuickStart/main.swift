import TokenStore

// The store directory: the first argument, or tokens.db here. It is created when absent.
let path = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "tokens.db"
let store = try TokenStore(path: path)
try store.register(Registration(
    deviceID: "charlies-phone", appID: "com.example.news", token: "a1b2c3d4" + String(repeating: "0", count: 56),
    platform: .ios, authorization: .foreground, userID: "charlie", at: 1_764_000_000_000))
// Kim logs in on Charlie's phone: the token moves to Kim, and both changelogs say so.
try store.changeUser(deviceID: "charlies-phone", appID: "com.example.news", userID: "kim", at: 1_764_000_060_000)
let sendable = try store.sendableTokens(userID: "kim", appID: "com.example.news", kind: .visible)
print("Kim may be sent \(sendable.count) visible push")
// The provider says the token is dead: the bounce removes it.
let bounce = try store.bounce(token: sendable[0].token, errorCode: "BadDeviceToken", at: 1_764_000_120_000)
print("bounce: \(bounce.outcome), tokens left: \(try store.count())")
print("Charlie's changelog:", try store.changelog(userID: "charlie").map(\.kind))
try store.close()
