import FoundationEssentials
import Glibc
import TokenStore

/// Issue 10's cliff: writes to a user who holds tens of thousands of tokens (apps that file
/// anonymous devices under one placeholder id, such as "guest"), against the same writes
/// to ordinary users, in one store, one thread, through the Swift API.
struct HeavyUserResult: Codable, Sendable {
    /// One operation, timed for ordinary users and for the heavy user.
    struct Row: Codable, Sendable {
        var operation: String
        var ops: Int
        var ordinaryOpsPerSecond: Double
        var heavyOpsPerSecond: Double
        /// How many times slower the heavy user's writes are.
        var slowdown: Double { ordinaryOpsPerSecond / heavyOpsPerSecond }
    }

    /// Tokens the heavy user held before the timed writes.
    var tokens: Int
    var rows: [Row]

    /// The worst slowdown of any row.
    var worstSlowdown: Double { rows.map(\.slowdown).max() ?? .nan }
}

enum HeavyUser {
    private static let app = "com.acme.app"
    private static let heavy = "guest"

    /// Builds the store in a fresh directory under `parent`, times the writes, removes it.
    static func run(tokens: Int, ops: Int, options: BenchOptions, parent: String) -> HeavyUserResult {
        var template = Array((parent + "/tokenstore-heavy-user.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { fail("cannot create a directory in \(parent): errno \(errno)") }
        let directory = String(cString: made)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = must("open") { () throws(TokenStoreError) in try TokenStore(path: directory, options: options.storeOptions) }
        defer { _ = try? store.close() }
        var random = SplitMix64(seed: options.seed ^ 0x6865_6176_79)
        func token() -> String { (0..<4).map { _ in String(random.next(), radix: 16) }.joined() }
        var time: Int64 = 1_700_000_000_000
        func register(_ device: String, user: String) {
            time += 1
            let registration = Registration(
                deviceID: device, appID: app, token: token(), platform: .ios, authorization: .foreground, userID: user, at: time)
            _ = must("register") { () throws(TokenStoreError) in try store.register(registration) }
        }
        func changeUser(_ device: String, to user: String) {
            time += 1
            _ = must("change_user") { () throws(TokenStoreError) in
                try store.changeUser(deviceID: device, appID: app, userID: user, at: time)
            }
        }
        // Untimed: the heavy user's tokens, and as many ordinary users with one token each.
        for i in 0..<tokens {
            register("heavy-\(i)", user: heavy)
            register("ordinary-\(i)", user: "user-\(i)")
        }
        func rate(_ body: (Int) -> Void) -> Double {
            let start = monotonicNanoseconds()
            for i in 0..<ops { body(i) }
            return Double(ops) / (Double(monotonicNanoseconds() - start) / 1e9)
        }
        // Each pair does the same work on the same kind of key: only the user's size differs.
        let registerOrdinary = rate { register("new-ordinary-\($0)", user: "new-user-\($0)") }
        let registerHeavy = rate { register("new-heavy-\($0)", user: heavy) }
        let moveOrdinary = rate { changeUser("ordinary-\($0)", to: "moved-\($0)") }
        let moveOutOfHeavy = rate { changeUser("heavy-\($0)", to: "rescued-\($0)") }
        let moveIntoHeavy = rate { changeUser("ordinary-\($0)", to: heavy) }
        return HeavyUserResult(tokens: tokens, rows: [
            .init(operation: "register", ops: ops, ordinaryOpsPerSecond: registerOrdinary, heavyOpsPerSecond: registerHeavy),
            .init(operation: "change_user out of the user", ops: ops, ordinaryOpsPerSecond: moveOrdinary, heavyOpsPerSecond: moveOutOfHeavy),
            .init(operation: "change_user into the user", ops: ops, ordinaryOpsPerSecond: moveOrdinary, heavyOpsPerSecond: moveIntoHeavy),
        ])
    }

    /// The section of the printed report.
    static func lines(_ result: HeavyUserResult) -> [String] {
        var lines = ["A user with \(Format.count(result.tokens)) tokens (issue 10's cliff): one thread, Swift API, the same writes to ordinary users and to that user"]
        lines.append("  " + Format.pad("operation", 30, left: true) + Format.pad("ops", 8) + Format.pad("ordinary", 12)
            + Format.pad("that user", 12) + Format.pad("slowdown", 10))
        for row in result.rows {
            lines.append("  " + Format.pad(row.operation, 30, left: true) + Format.pad(Format.count(row.ops), 8)
                + Format.pad(Format.rate(row.ordinaryOpsPerSecond), 12) + Format.pad(Format.rate(row.heavyOpsPerSecond), 12)
                + Format.pad(Format.ratio(row.slowdown), 10))
        }
        return lines
    }

    /// The goal table's row: the worst slowdown, goal 1× ("as fast"), floor 2×.
    static func goal(_ result: HeavyUserResult?) -> GoalCheck {
        let row = "a user with many tokens: worst slowdown"
        guard let result else { return GoalCheck(row: row, measured: "not run (--heavy-user-tokens 0)", goal: "≤ 1×", floor: "≤ 2×") }
        let worst = result.worstSlowdown
        // "As fast": within the noise of one run, taken as 10%.
        return GoalCheck(
            row: "a user with \(Format.count(result.tokens)) tokens: worst slowdown", value: worst, measured: Format.ratio(worst),
            goal: "≤ 1×", floor: "≤ 2×", goalMet: worst <= 1.1, floorMet: worst <= 2)
    }
}
