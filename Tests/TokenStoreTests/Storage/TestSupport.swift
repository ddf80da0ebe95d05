import Foundation
@testable import TokenStore

/// A fresh temporary directory for one test's store, removed when the test ends.
final class TemporaryStorePath {
    let path: String

    init(_ name: String = #function) {
        let base = FileManager.default.temporaryDirectory.path
        path = "\(base)/tokenstore-test-\(UUID().uuidString)"
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
