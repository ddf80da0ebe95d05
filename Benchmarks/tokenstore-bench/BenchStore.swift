import Glibc
import TokenStore

/// The operations the phases time.
///
/// TokenStore and the naive baseline both conform, so every phase runs the same code, with
/// the same inputs, against each. A `nil` result means the key, token or user was not found;
/// any other failure aborts the run, because a benchmark of a failing store means nothing.
protocol BenchStore: AnyObject, Sendable {
    /// Upserts a registration.
    func register(_ registration: Registration) -> WriteOutcome
    /// Sets a user's subscription.
    func setSubscription(userID: String, subscription: Subscription, at: Int64) -> WriteOutcome
    /// Moves a key's token to another user; `nil` when the key holds no token.
    func changeUser(deviceID: String, appID: String, userID: String?, at: Int64) -> WriteOutcome?
    /// Applies a provider bounce; `nil` when no key holds the token.
    func bounce(token: String, errorCode: String, providerTimestamp: Int64?, at: Int64)
        -> (outcome: BounceOutcome, category: BounceCategory)?
    /// Looks a key up and reads its token in place; returns the token's length.
    func tokenLength(deviceID: String, appID: String) -> Int?
    /// Looks a key up and copies its record out.
    func tokenRecord(deviceID: String, appID: String) -> TokenRecord?
    /// Visits a user's tokens in place; returns how many there are.
    func userTokenCount(userID: String) -> Int
    /// The tokens a visible campaign may send to for the user and app, copied; returns how many.
    func sendableTokenCount(userID: String, appID: String) -> Int
    /// How many users match the segment.
    func count(_ segment: Segment) -> Int
    /// Streams the UTF-8 bytes of each of the segment's user ids to `visit`.
    func enumerate(_ segment: Segment, _ visit: (UnsafeRawBufferPointer) -> Void)
    /// What the store has written since it opened, where it counts it.
    var writeActivity: WriteActivity? { get }
}

extension BenchStore {
    /// Stores that count nothing (the in-memory baseline) report nothing.
    var writeActivity: WriteActivity? { nil }
}

/// Prints a fatal error and exits with status 1.
func fail(_ message: String) -> Never {
    printError("tokenstore-bench: \(message)")
    exit(1)
}

/// Runs a store call that must succeed; any error aborts the run.
@discardableResult
func must<T>(_ operation: String, _ body: () throws(TokenStoreError) -> T) -> T {
    do {
        return try body()
    } catch {
        fail("\(operation) failed: \(error)")
    }
}

/// TokenStore as the phases drive it: the Swift API, reads through its zero-copy views.
final class EngineStore: BenchStore {
    /// The store under test.
    let store: TokenStore

    /// Wraps an open store.
    init(_ store: TokenStore) { self.store = store }

    var writeActivity: WriteActivity? { store.writeActivity }

    func register(_ registration: Registration) -> WriteOutcome {
        must("register") { () throws(TokenStoreError) in try store.register(registration) }
    }

    func setSubscription(userID: String, subscription: Subscription, at: Int64) -> WriteOutcome {
        must("setSubscription") { () throws(TokenStoreError) in
            try store.setSubscription(userID: userID, subscription: subscription, at: at)
        }
    }

    func changeUser(deviceID: String, appID: String, userID: String?, at: Int64) -> WriteOutcome? {
        orNotFound("changeUser") { () throws(TokenStoreError) in
            try store.changeUser(deviceID: deviceID, appID: appID, userID: userID, at: at)
        }
    }

    func bounce(token: String, errorCode: String, providerTimestamp: Int64?, at: Int64)
        -> (outcome: BounceOutcome, category: BounceCategory)?
    {
        orNotFound("bounce") { () throws(TokenStoreError) in
            let result = try store.bounce(token: token, errorCode: errorCode, providerTimestamp: providerTimestamp, at: at)
            return (result.outcome, result.category)
        }
    }

    func tokenLength(deviceID: String, appID: String) -> Int? {
        orNotFound("withToken") { () throws(TokenStoreError) in
            try narrow { try store.withToken(deviceID: deviceID, appID: appID) { $0.token.count } }
        } ?? nil
    }

    func tokenRecord(deviceID: String, appID: String) -> TokenRecord? {
        orNotFound("token") { () throws(TokenStoreError) in try store.token(deviceID: deviceID, appID: appID) } ?? nil
    }

    func userTokenCount(userID: String) -> Int {
        var count = 0
        _ = orNotFound("forEachToken") { () throws(TokenStoreError) in
            try narrow {
                try store.forEachToken(userID: userID) { _ in
                    count += 1
                    return true
                }
            }
        }
        return count
    }

    func sendableTokenCount(userID: String, appID: String) -> Int {
        orNotFound("sendableTokens") { () throws(TokenStoreError) in
            try store.sendableTokens(userID: userID, appID: appID, kind: .visible).count
        } ?? 0
    }

    func count(_ segment: Segment) -> Int {
        must("count") { () throws(TokenStoreError) in try store.count(segment) }
    }

    func enumerate(_ segment: Segment, _ visit: (UnsafeRawBufferPointer) -> Void) {
        must("forEachUser") { () throws(TokenStoreError) in
            try narrow {
                try store.forEachUser(in: segment) { id in
                    visit(id)
                    return true
                }
            }
        }
    }

    /// Runs `body`; `notFound` becomes `nil`, any other error aborts the run.
    private func orNotFound<T>(_ operation: String, _ body: () throws(TokenStoreError) -> T) -> T? {
        do {
            return try body()
        } catch where error.code == .notFound {
            return nil
        } catch {
            fail("\(operation) failed: \(error)")
        }
    }

    /// Narrows the untyped error of the closure-taking reads to `TokenStoreError`.
    private func narrow<T>(_ body: () throws -> T) throws(TokenStoreError) -> T {
        do {
            return try body()
        } catch let error as TokenStoreError {
            throw error
        } catch {
            fail("unexpected error: \(error)")
        }
    }
}
