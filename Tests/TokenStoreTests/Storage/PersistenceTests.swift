import Foundation
import Testing
@testable import TokenStore

@Suite struct PersistenceTests {
    @Test func writesSurviveCloseAndReopen() throws {
        let dir = TemporaryStorePath()
        do {
            let store = try TokenStore(path: dir.path, options: { var o = StoreOptions(); o.shards = 4; return o }())
            for i in 0..<1000 {
                try store.register(Registration(deviceID: "d\(i)", appID: "app", token: "tok\(i)", platform: .ios,
                    authorization: .foreground, userID: "u\(i % 100)", at: 1000 + Int64(i)))
            }
            try store.close()
        }
        let store = try TokenStore(path: dir.path)
        #expect(store.options.shards == 4)
        #expect(try store.count() == 1000)
        #expect(try store.token(deviceID: "d7", appID: "app")?.token == "tok7")
        #expect(try store.tokens(userID: "u7").count == 10)
        #expect(try store.verify() == [])
        try store.close()
    }

    @Test func growthThroughManyResizesKeepsEveryRecord() throws {
        let dir = TemporaryStorePath()
        var o = StoreOptions()
        o.shards = 1
        let store = try TokenStore(path: dir.path, options: o)
        for i in 0..<20000 {
            try store.register(Registration(deviceID: "device-\(i)", appID: "com.example.app", token: String(repeating: "t", count: 100) + "\(i)",
                platform: .web, authorization: .foreground, userID: "user-\(i % 3000)", at: 1))
        }
        #expect(try store.count() == 20000)
        try store.checkpoint()
        for i in stride(from: 0, to: 20000, by: 997) {
            #expect(try store.token(deviceID: "device-\(i)", appID: "com.example.app")?.userID == "user-\(i % 3000)")
        }
        #expect(try store.verify() == [])
        try store.close()
        let again = try TokenStore(path: dir.path)
        #expect(try again.count() == 20000)
        #expect(try again.verify() == [])
    }
}
