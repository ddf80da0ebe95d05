import Foundation
import Testing
@testable import TokenStore

#if canImport(Glibc)
import Glibc
#endif

/// Security (issue 7): tokens are personal data.
/// - The store's directory is mode 0700 and every file it writes 0600, transient ones too.
/// - A symlink or another user's file swapped into the directory is refused, and the file it
///   points at is left untouched.
/// - No error message carries a token or an id.
@Suite(.serialized) struct SecurityTests {
    static func mode(_ path: String) -> mode_t {
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0 }
        return st.st_mode & 0o7777
    }

    @Test func theDirectoryIsPrivateAndEveryFileIsReadableByItsOwnerOnly() throws {
        let dir = ScratchDirectory("security")
        let path = dir.sub("store")
        let scope = IOScope(directory: path)
        var transient: [String: mode_t] = [:]
        try SyscallInterposer.run(scope) {
            let store = try TokenStore(path: path, options: reliabilityOptions(shards: 2))
            try Workload.mix(store, 0..<100, generation: 1)
            // The journal and the manifest's temporary file exist only during a checkpoint.
            scope.before = { call, file in
                if (call == .fdatasync || call == .fsync), file == Checkpoint.journalName || file.hasSuffix(".tmp") {
                    transient[file] = SecurityTests.mode(path + "/" + file)
                }
            }
            try store.checkpoint()
            scope.before = nil
            try store.close()
        }
        #expect(SecurityTests.mode(path) == 0o700)
        let names = try FileManager.default.contentsOfDirectory(atPath: path)
        #expect(names.contains("MANIFEST") && names.contains { $0.hasPrefix("wal-") } && names.contains { $0.hasPrefix("shard-") })
        for name in names {
            #expect(SecurityTests.mode(path + "/" + name) == 0o600, "\(name) has mode \(String(SecurityTests.mode(path + "/" + name), radix: 8))")
        }
        #expect(transient[Checkpoint.journalName] == 0o600)
        #expect(transient["MANIFEST.tmp"] == 0o600)
    }

    /// Builds a closed store, replaces `victim` with a symlink to a file outside, and opens it.
    @Test(arguments: ["MANIFEST", "shard-0000.index", "shard-0001.heap", "shard-0000.changes", "wal", "LOCK", "checkpoint.journal"])
    func aSymlinkSwappedIntoTheDirectoryIsRefusedAndItsTargetUntouched(_ victim: String) throws {
        let dir = ScratchDirectory("symlink")
        let path = dir.sub("store")
        do {
            let store = try TokenStore(path: path, options: reliabilityOptions(shards: 2))
            try Workload.mix(store, 0..<50, generation: 1)
            try store.checkpoint()
            try Workload.mix(store, 50..<80, generation: 1)
            try store.sync()
            // Leave the log as a crash would: no close.
            try copyStore(path, to: path + "-copy")
            try store.close()
        }
        let store = path + "-copy"
        let name = victim == "wal" ? try #require(FileManager.default.contentsOfDirectory(atPath: store).first { $0.hasPrefix("wal-") }) : victim
        // The target: another file this user owns, which the store must neither read nor write.
        let target = dir.sub("precious")
        let precious = Data("not a store file".utf8)
        try writeFile(target, precious)
        unlink(store + "/" + name)
        #expect(symlink(target, store + "/" + name) == 0)
        var options = reliabilityOptions(shards: 2)
        options.mustExist = true
        do {
            let opened = try TokenStore(path: store, options: options)
            // Only a missing journal may be ignored; anything else must be refused.
            let journalIgnored = name == Checkpoint.journalName
            #expect(journalIgnored, "opened a store with \(name) swapped for a symlink")
            try opened.close()
        } catch {
            #expect(error.code == .io || error.code == .corrupt || error.code == .locked, "\(error)")
            #expect(error.detail.contains(name), "\(error) should name \(name)")
            expectNoPersonalData(error)
        }
        #expect(try readFile(target) == precious, "the symlink's target was changed")
    }

    @Test func aStorePathThatIsASymlinkIsRefused() throws {
        let dir = ScratchDirectory("symlink-dir")
        let real = dir.sub("real")
        try TokenStore(path: real, options: reliabilityOptions(shards: 1)).close()
        let link = dir.sub("link")
        #expect(symlink(real, link) == 0)
        #expect(throws: TokenStoreError.self) { try TokenStore(path: link, options: reliabilityOptions(shards: 1)) }
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to give a file to another user"))
    func aFileOwnedByAnotherUserIsRefused() throws {
        let dir = ScratchDirectory("owner")
        let path = dir.sub("store")
        try {
            let store = try TokenStore(path: path, options: reliabilityOptions(shards: 1))
            try Workload.mix(store, 0..<20, generation: 1)
            try store.close()
        }()
        #expect(chown(path + "/shard-0000.heap", 4242, 4242) == 0)
        var options = reliabilityOptions(shards: 1)
        options.mustExist = true
        let error = #expect(throws: TokenStoreError.self) { try TokenStore(path: path, options: options) }
        #expect(error?.detail.contains("shard-0000.heap") == true, "\(String(describing: error))")
        if let error { expectNoPersonalData(error) }
    }

    @Test func noErrorMessageCarriesATokenOrAnId() throws {
        let dir = ScratchDirectory("messages")
        let path = dir.sub("store")
        let store = try TokenStore(path: path, options: reliabilityOptions(shards: 2))
        try Workload.mix(store, 0..<40, generation: 1)
        var errors: [TokenStoreError] = []
        func collect(_ body: () throws -> Void) {
            do { try body() } catch let e as TokenStoreError { errors.append(e) } catch { Issue.record("untyped error \(error)") }
        }
        let longToken = "tok-" + String(repeating: "y", count: Limits.maxTokenBytes)
        let longUser = "user-" + String(repeating: "z", count: Limits.maxUserIDBytes)
        collect { try store.changeUser(deviceID: "dev-unknown", appID: "app", userID: "user-x", at: 1) }
        collect { try store.setAuthorization(deviceID: "dev-unknown", appID: "app", authorization: .background, at: 1) }
        collect { try store.uninstall(deviceID: "dev-unknown", appID: "app", at: 1) }
        collect { _ = try store.bounce(token: "tok-unknown", errorCode: "Unregistered", at: 1) }
        collect { _ = try store.bounce(token: "tok-unknown", errorCode: "dev-" + String(repeating: "c", count: 200), at: 1) }
        collect { try store.register(Registration(deviceID: "dev-1", appID: "app", token: longToken, platform: .ios, authorization: .foreground, at: 1)) }
        collect { try store.register(Registration(deviceID: "dev-1", appID: "app", token: "tok-\0x", platform: .ios, authorization: .foreground, at: 1)) }
        collect { try store.register(Registration(deviceID: "", appID: "app", token: "tok-1", platform: .ios, authorization: .foreground, at: 1)) }
        collect { try store.setSubscription(userID: longUser, subscription: .optedIn, at: 1) }
        collect { _ = try store.tokens(userID: "user-\0") }
        collect { _ = try TokenStore(path: path, options: reliabilityOptions(shards: 2)) }  // locked
        try store.close()
        collect { _ = try store.token(deviceID: "dev-1", appID: "app") }  // closed
        collect { try Workload.register(store, 1) }
        #expect(errors.count == 13)
        #expect(Set(errors.map(\.code)).isSuperset(of: [.notFound, .tooLarge, .invalidArgument, .locked, .closed]))
        for e in errors { expectNoPersonalData(e) }
    }
}
