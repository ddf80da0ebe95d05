// Fuzz harness 1 (issue 7): random sequences of C ABI calls with hostile arguments.
//
// Each input is a program: up to 64 steps, each an opcode byte, a flags byte and the bytes
// its arguments decode from (HostileArguments.swift). Every call's status is checked against
// tokenstore.h:
// - a NULL store, a bad string (NULL where required, empty, past its limit, unterminated,
//   not UTF-8), an unknown enum or a negative time gives TS_EINVAL and changes nothing (the
//   store's digest is equal before and after);
// - well-formed arguments never give TS_EINVAL, and on the healthy harness store only the
//   statuses the header lists for the call;
// - out-parameters are 0/NULL on failure and in range on success; callbacks get views whose
//   pointers are non-NULL, lengths within limits and text UTF-8;
// - after a Swift-side close, every call on the live handle gives TS_ECLOSED;
// - every failure leaves a short ts_last_error detail;
// - after each input, `verify` finds nothing.

#if canImport(Glibc)
import Glibc
#endif
import CTokenStore
import CTokenStoreHeader
import TokenStore

@_cdecl("LLVMFuzzerTestOneInput")
public func cabiFuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let store = CABIStore.shared
    if FuzzEnvironment.freshStorePerInput { store.close(wipe: true) }
    store.ensureOpen()
    var input = FuzzInput(UnsafeBufferPointer(start: data, count: size))
    var steps = 0
    while !input.isEmpty && steps < 64 {
        CABIProgram.step(&input, store)
        steps += 1
    }
    store.ensureOpen()
    if let swift = store.swiftStore {
        let problems: [String]
        do { problems = try swift.verify() } catch { fuzzFailure("verify threw \(error)") }
        fuzzCheck(problems.isEmpty, "verify after the input: \(problems.prefix(3).joined(separator: "; "))")
        // Keep the store small: start again once it has grown.
        if let count = try? swift.count(), count > 400 { store.close(wipe: true) }
    }
    return 0
}

/// The operations an input's steps choose from.
enum CABIProgram {
    /// The number of opcodes.
    static let opcodes = 26

    /// Decodes and runs one step.
    static func step(_ input: inout FuzzInput, _ store: CABIStore) {
        let opcode = Int(input.byte()) % opcodes
        let flags = input.byte()
        // One call in 32 goes to a NULL store.
        let handle: OpaquePointer? = flags & 0x1F == 0x1F ? nil : store.handle
        var call = Call(store: store, handle: handle)
        FuzzEnvironment.trace("step \(opcode) flags \(flags) \(handle == nil ? "NULL store" : "")")
        switch opcode {
        case 0: register(&input, &call)
        case 1: changeUser(&input, &call)
        case 2: setAuthorization(&input, &call)
        case 3: setSubscription(&input, &call)
        case 4, 5: bounce(&input, &call, extended: opcode == 5)
        case 6: uninstall(&input, &call)
        case 7, 8: sweep(&input, &call, explicitTime: opcode == 8)
        case 9: get(&input, &call)
        case 10: userTokens(&input, &call)
        case 11: sendableTokens(&input, &call)
        case 12: getUser(&input, &call)
        case 13, 14: segment(&input, &call, stream: opcode == 14)
        case 15: changelog(&input, &call)
        case 16: exportJSON(&input, &call)
        case 17: count(&input, &call)
        case 18: stats(&input, &call)
        case 19:
            call.finish(ts_sync(handle), wellFormed: true, allowed: [TS_OK], "ts_sync")
        case 20:
            call.finish(ts_checkpoint(handle), wellFormed: true, allowed: [TS_OK], "ts_checkpoint")
        case 21: staticText(&input)
        case 22: OpenProgram.hostileOpen(&input, store)
        case 23: reopen(&input, store)
        case 24:
            // Close the Swift object behind the live handle: every later call must see TS_ECLOSED.
            if let swift = store.swiftStore, !store.swiftClosed {
                do { try swift.close() } catch { fuzzFailure("Swift close failed: \(error)") }
                store.swiftClosed = true
            }
        default:
            fuzzCheck(ts_close(nil) == TS_OK, "ts_close(NULL) is not a no-op")
            ts_free(nil)
            ts_options_init(nil)
        }
    }

    // MARK: Writes

    static func register(_ input: inout FuzzInput, _ call: inout Call) {
        let arena = ArgumentArena()
        let device = input.string(.device, arena), app = input.string(.app, arena)
        let token = input.string(.token, arena)
        let platform = input.enumValue(validCount: 3), authorization = input.enumValue(validCount: 3)
        let user = input.string(.user, arena)
        let at = input.time()
        let ok = device.isWellFormed && app.isWellFormed && token.isWellFormed && (TS_PLATFORM_IOS...TS_PLATFORM_WEB).contains(platform)
            && (TS_AUTH_FOREGROUND...TS_AUTH_BACKGROUND).contains(authorization) && (user.isNull || user.isWellFormed) && at >= 0
        call.begin(wellFormed: ok)
        let status = ts_register(call.handle, device.pointer, app.pointer, token.pointer, platform, authorization, user.pointer, at)
        call.finish(status, wellFormed: ok, allowed: [TS_OK, TS_STALE], "ts_register")
    }

    static func changeUser(_ input: inout FuzzInput, _ call: inout Call) {
        let arena = ArgumentArena()
        let device = input.string(.device, arena), app = input.string(.app, arena), user = input.string(.user, arena)
        let at = input.time()
        let ok = device.isWellFormed && app.isWellFormed && (user.isNull || user.isWellFormed) && at >= 0
        call.begin(wellFormed: ok)
        let status = ts_change_user(call.handle, device.pointer, app.pointer, user.pointer, at)
        call.finish(status, wellFormed: ok, allowed: [TS_OK, TS_STALE, TS_NOTFOUND], "ts_change_user")
    }

    static func setAuthorization(_ input: inout FuzzInput, _ call: inout Call) {
        let arena = ArgumentArena()
        let device = input.string(.device, arena), app = input.string(.app, arena)
        let authorization = input.enumValue(validCount: 3)
        let at = input.time()
        let ok = device.isWellFormed && app.isWellFormed && (TS_AUTH_FOREGROUND...TS_AUTH_BACKGROUND).contains(authorization) && at >= 0
        call.begin(wellFormed: ok)
        let status = ts_set_authorization(call.handle, device.pointer, app.pointer, authorization, at)
        call.finish(status, wellFormed: ok, allowed: [TS_OK, TS_STALE, TS_NOTFOUND], "ts_set_authorization")
    }

    static func setSubscription(_ input: inout FuzzInput, _ call: inout Call) {
        let arena = ArgumentArena()
        let user = input.string(.user, arena)
        let subscription = input.enumValue(validCount: 3)
        let at = input.time()
        let ok = user.isWellFormed && (TS_SUB_SUBSCRIBED...TS_SUB_UNSUBSCRIBED).contains(subscription) && at >= 0
        call.begin(wellFormed: ok)
        let status = ts_set_subscription(call.handle, user.pointer, subscription, at)
        call.finish(status, wellFormed: ok, allowed: [TS_OK, TS_STALE], "ts_set_subscription")
    }

    static func bounce(_ input: inout FuzzInput, _ call: inout Call, extended: Bool) {
        let arena = ArgumentArena()
        let token = input.string(.token, arena), code = input.string(.errorCode, arena)
        let provider = input.byte() % 3 == 0 ? 0 : input.time()
        let at = input.time()
        let passOutcome = input.passesPointer(), passCategory = input.passesPointer()
        var outcome: Int32 = 0x5A5A, category: Int32 = 0x5A5A
        let ok = token.isWellFormed && code.isWellFormed && provider >= 0 && at >= 0 && passOutcome
            && (!extended || passCategory)
        call.begin(wellFormed: ok)
        let status = withUnsafeMutablePointer(to: &outcome) { o in
            withUnsafeMutablePointer(to: &category) { c in
                extended
                    ? ts_bounce_ex(call.handle, token.pointer, code.pointer, provider, at, passOutcome ? o : nil, passCategory ? c : nil)
                    : ts_bounce(call.handle, token.pointer, code.pointer, provider, at, passOutcome ? o : nil)
            }
        }
        call.finish(status, wellFormed: ok, allowed: [TS_OK, TS_NOTFOUND], extended ? "ts_bounce_ex" : "ts_bounce")
        if passOutcome {
            if status == TS_OK {
                fuzzCheck((TS_BOUNCE_REMOVED...TS_BOUNCE_STALE).contains(outcome), "ts_bounce: outcome \(outcome) on TS_OK")
            } else if passCategory || !extended {
                fuzzCheck(outcome == 0, "ts_bounce: outcome \(outcome) not 0 on failure \(status)")
            }
        }
        if extended && passCategory && passOutcome {
            if status == TS_OK {
                fuzzCheck((TS_CATEGORY_DEAD...TS_CATEGORY_UNKNOWN).contains(category), "ts_bounce_ex: category \(category) on TS_OK")
            } else {
                fuzzCheck(category == 0, "ts_bounce_ex: category \(category) not 0 on failure \(status)")
            }
        }
    }

    static func uninstall(_ input: inout FuzzInput, _ call: inout Call) {
        let arena = ArgumentArena()
        let device = input.string(.device, arena), app = input.string(.app, arena)
        let at = input.time()
        let ok = device.isWellFormed && app.isWellFormed && at >= 0
        call.begin(wellFormed: ok)
        let status = ts_uninstall(call.handle, device.pointer, app.pointer, at)
        call.finish(status, wellFormed: ok, allowed: [TS_OK, TS_STALE, TS_NOTFOUND], "ts_uninstall")
    }

    static func sweep(_ input: inout FuzzInput, _ call: inout Call, explicitTime: Bool) {
        let platform = input.byte() % 4 == 0 ? 0 : input.enumValue(validCount: 3)
        let olderThan = input.time()
        let at = explicitTime ? input.time() : 0
        let passOut = input.passesPointer()
        var removed: UInt64 = 0x5A5A
        let ok = (platform == 0 || (TS_PLATFORM_IOS...TS_PLATFORM_WEB).contains(platform)) && passOut && at >= 0
        call.begin(wellFormed: ok)
        let status = withUnsafeMutablePointer(to: &removed) { r in
            explicitTime
                ? ts_sweep_at(call.handle, platform, olderThan, at, passOut ? r : nil)
                : ts_sweep(call.handle, platform, olderThan, passOut ? r : nil)
        }
        call.finish(status, wellFormed: ok, allowed: [TS_OK], explicitTime ? "ts_sweep_at" : "ts_sweep")
        if passOut && status != TS_OK { fuzzCheck(removed == 0, "ts_sweep: removed \(removed) on failure") }
    }

    // MARK: Reads

    /// A callback (or NULL), and the state its `ctx` points at (or NULL).
    struct Reader {
        var passCallback: Bool
        var passContext: Bool
        var state = CallbackState()

        init(_ input: inout FuzzInput) {
            let choice = input.byte()
            passCallback = choice % 16 != 0
            passContext = choice % 8 != 1
            state.stopAt = choice & 0x80 != 0 ? 1 + Int(choice % 3) : Int.max
        }

        /// `body` gets the `ctx` and whether to pass the callback.
        mutating func withContext(_ body: (UnsafeMutableRawPointer?, Bool) -> Int32) -> Int32 {
            let pass = passContext, callback = passCallback
            return withUnsafeMutablePointer(to: &state) { body(pass ? UnsafeMutableRawPointer($0) : nil, callback) }
        }

        /// Checks the calls made against the status.
        func check(_ status: Int32, exactlyOne: Bool = false, _ name: String) {
            guard passContext else { return }
            if status != TS_OK {
                fuzzCheck(state.calls == 0, "\(name): callback called on failure \(status)")
            } else if exactlyOne {
                fuzzCheck(state.calls == 1, "\(name): \(state.calls) callback calls on TS_OK")
            }
            fuzzCheck(state.calls <= state.stopAt, "\(name): iteration went on after the callback said stop")
        }
    }

    static func get(_ input: inout FuzzInput, _ call: inout Call) {
        let arena = ArgumentArena()
        let device = input.string(.device, arena), app = input.string(.app, arena)
        var reader = Reader(&input)
        let ok = device.isWellFormed && app.isWellFormed && reader.passCallback
        call.begin(wellFormed: ok)
        let status = reader.withContext {
            ts_get(call.handle, device.pointer, app.pointer, $1 ? tokenCallback : nil, $0)
        }
        call.finish(status, wellFormed: ok, allowed: [TS_OK, TS_NOTFOUND], "ts_get")
        reader.check(status, exactlyOne: true, "ts_get")
    }

    static func userTokens(_ input: inout FuzzInput, _ call: inout Call) {
        let arena = ArgumentArena()
        let user = input.string(.user, arena)
        var reader = Reader(&input)
        let ok = user.isWellFormed && reader.passCallback
        call.begin(wellFormed: ok)
        let status = reader.withContext {
            ts_user_tokens(call.handle, user.pointer, $1 ? tokenCallback : nil, $0)
        }
        call.finish(status, wellFormed: ok, allowed: [TS_OK], "ts_user_tokens")
        reader.check(status, "ts_user_tokens")
    }

    static func sendableTokens(_ input: inout FuzzInput, _ call: inout Call) {
        let arena = ArgumentArena()
        let user = input.string(.user, arena), app = input.string(.app, arena)
        let kind = input.enumValue(validCount: 2)
        var reader = Reader(&input)
        let ok = user.isWellFormed && app.isWellFormed && (TS_PUSH_VISIBLE...TS_PUSH_SILENT).contains(kind) && reader.passCallback
        call.begin(wellFormed: ok)
        let status = reader.withContext {
            ts_sendable_tokens(call.handle, user.pointer, app.pointer, kind, $1 ? tokenCallback : nil, $0)
        }
        call.finish(status, wellFormed: ok, allowed: [TS_OK], "ts_sendable_tokens")
        reader.check(status, "ts_sendable_tokens")
    }

    static func getUser(_ input: inout FuzzInput, _ call: inout Call) {
        let arena = ArgumentArena()
        let user = input.string(.user, arena)
        let passSubscription = input.passesPointer(), passOptedIn = input.byte() % 2 == 0
        let passUnsubscribed = input.byte() % 2 == 0
        var subscription: Int32 = 0x5A5A
        var optedIn: Int64 = 0x5A5A, unsubscribed: Int64 = 0x5A5A
        let ok = user.isWellFormed && passSubscription
        call.begin(wellFormed: ok)
        let status = withUnsafeMutablePointer(to: &subscription) { s in
            withUnsafeMutablePointer(to: &optedIn) { o in
                withUnsafeMutablePointer(to: &unsubscribed) { u in
                    ts_get_user(call.handle, user.pointer, passSubscription ? s : nil, passOptedIn ? o : nil,
                        passUnsubscribed ? u : nil)
                }
            }
        }
        call.finish(status, wellFormed: ok, allowed: [TS_OK, TS_NOTFOUND], "ts_get_user")
        guard passSubscription else { return }
        if status == TS_OK {
            fuzzCheck((TS_SUB_SUBSCRIBED...TS_SUB_UNSUBSCRIBED).contains(subscription), "ts_get_user: subscription \(subscription)")
            if passOptedIn { fuzzCheck(optedIn >= 0, "ts_get_user: opted_in_at \(optedIn)") }
            if passUnsubscribed { fuzzCheck(unsubscribed >= 0, "ts_get_user: unsubscribed_at \(unsubscribed)") }
        } else if status == TS_NOTFOUND {
            fuzzCheck(subscription == 0, "ts_get_user: subscription not 0 for an unknown user")
            if passOptedIn { fuzzCheck(optedIn == 0, "ts_get_user: opted_in_at not 0 for an unknown user") }
            if passUnsubscribed { fuzzCheck(unsubscribed == 0, "ts_get_user: unsubscribed_at not 0 for an unknown user") }
        }
    }

    static func segment(_ input: inout FuzzInput, _ call: inout Call, stream: Bool) {
        let arena = ArgumentArena()
        let segment = input.enumValue(validCount: 6)
        let app = input.byte() % 3 == 0 ? CStringArgument(pointer: nil, isWellFormed: false) : input.string(.app, arena)
        let appOK = segment == TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP ? app.isWellFormed : app.isNull
        if stream {
            var reader = Reader(&input)
            let ok = (TS_SEGMENT_FOREGROUND_PUSH_ENABLED...TS_SEGMENT_UNSUBSCRIBED).contains(segment) && appOK && reader.passCallback
            call.begin(wellFormed: ok)
            let status = reader.withContext {
                ts_segment_users(call.handle, segment, app.pointer, $1 ? userCallback : nil, $0)
            }
            call.finish(status, wellFormed: ok, allowed: [TS_OK], "ts_segment_users")
            reader.check(status, "ts_segment_users")
        } else {
            let passOut = input.passesPointer()
            var count: UInt64 = 0x5A5A
            let ok = (TS_SEGMENT_FOREGROUND_PUSH_ENABLED...TS_SEGMENT_UNSUBSCRIBED).contains(segment) && appOK && passOut
            call.begin(wellFormed: ok)
            let status = withUnsafeMutablePointer(to: &count) {
                ts_segment_count(call.handle, segment, app.pointer, passOut ? $0 : nil)
            }
            call.finish(status, wellFormed: ok, allowed: [TS_OK], "ts_segment_count")
            if passOut && status != TS_OK { fuzzCheck(count == 0, "ts_segment_count: count not 0 on failure") }
            if status == TS_OK { fuzzCheck(count < 1 << 32, "ts_segment_count: count \(count)") }
        }
    }

    static func changelog(_ input: inout FuzzInput, _ call: inout Call) {
        let arena = ArgumentArena()
        let user = input.string(.user, arena)
        var reader = Reader(&input)
        let ok = user.isWellFormed && reader.passCallback
        call.begin(wellFormed: ok)
        let status = reader.withContext {
            ts_changelog(call.handle, user.pointer, $1 ? changeCallback : nil, $0)
        }
        call.finish(status, wellFormed: ok, allowed: [TS_OK], "ts_changelog")
        reader.check(status, "ts_changelog")
    }

    static func exportJSON(_ input: inout FuzzInput, _ call: inout Call) {
        let arena = ArgumentArena()
        let user = input.string(.user, arena)
        let passJSON = input.passesPointer(), passLength = input.byte() % 4 != 0
        var json: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer(bitPattern: 0x5A5A)
        var length = 0x5A5A
        let ok = user.isWellFormed && passJSON
        call.begin(wellFormed: ok)
        let status = withUnsafeMutablePointer(to: &json) { j in
            withUnsafeMutablePointer(to: &length) { l in
                ts_export_user_json(call.handle, user.pointer, passJSON ? j : nil, passLength ? l : nil)
            }
        }
        call.finish(status, wellFormed: ok, allowed: [TS_OK, TS_NOTFOUND], "ts_export_user_json")
        guard passJSON else { return }
        if status == TS_OK {
            guard let json else { fuzzFailure("ts_export_user_json: NULL on TS_OK") }
            let measured = strlen(json)
            if passLength { fuzzCheck(measured == length, "ts_export_user_json: length \(length), strlen \(measured)") }
            let text = UnsafeRawBufferPointer(start: json, count: measured)
            fuzzCheck(String(validating: text, as: UTF8.self) != nil, "ts_export_user_json: not UTF-8")
            fuzzCheck(text.first == UInt8(ascii: "{") && text.last == UInt8(ascii: "}"), "ts_export_user_json: not an object")
            ts_free(json)
        } else {
            fuzzCheck(json == nil, "ts_export_user_json: out_json not NULL on failure")
            if passLength { fuzzCheck(length == 0, "ts_export_user_json: out_len not 0 on failure") }
        }
    }

    static func count(_ input: inout FuzzInput, _ call: inout Call) {
        let passOut = input.passesPointer()
        var count: UInt64 = 0x5A5A
        call.begin(wellFormed: passOut)
        let status = withUnsafeMutablePointer(to: &count) { ts_count(call.handle, passOut ? $0 : nil) }
        call.finish(status, wellFormed: passOut, allowed: [TS_OK], "ts_count")
        if passOut && status != TS_OK { fuzzCheck(count == 0, "ts_count: not 0 on failure") }
    }

    static func stats(_ input: inout FuzzInput, _ call: inout Call) {
        let arena = ArgumentArena()
        let choice = input.byte() % 6
        let size = MemoryLayout<ts_store_stats>.size
        // 0: NULL; 1: a 4-byte struct with an unknown version; 2: version 0; else the version,
        // and every other byte garbage.
        let out: UnsafeMutableRawPointer?
        switch choice {
        case 0: out = nil
        case 1:
            out = arena.memory(4)
            out!.storeBytes(of: 2 + UInt32(input.byte()), as: UInt32.self)
        case 2: out = arena.memory(size)
        default:
            out = arena.memory(size)
            for offset in stride(from: 4, to: size, by: 4) { out!.storeBytes(of: UInt32(0x5A5A_5A5A), toByteOffset: offset, as: UInt32.self) }
            out!.storeBytes(of: UInt32(TS_STATS_VERSION), as: UInt32.self)
        }
        let ok = choice >= 3
        call.begin(wellFormed: ok)
        let status = ts_stats(call.handle, out?.assumingMemoryBound(to: ts_store_stats.self))
        call.finish(status, wellFormed: ok, allowed: [TS_OK], "ts_stats")
        if choice == 1 { fuzzCheck(out!.load(as: UInt32.self) >= 2, "ts_stats: wrote into an unknown-version struct") }
        if status == TS_OK, let out {
            let stats = out.load(as: ts_store_stats.self)
            fuzzCheck(stats.reserved == 0, "ts_stats: reserved not 0")
            let byPlatform = withUnsafeBytes(of: stats.by_platform) { Array($0.bindMemory(to: UInt64.self)) }
            let sum = byPlatform.reduce(0, &+)
            fuzzCheck(sum == stats.tokens, "ts_stats: tokens \(stats.tokens) but per-platform sum \(sum)")
            fuzzCheck(byPlatform[0] == 0, "ts_stats: by_platform[0] not 0")
        }
    }

    static func staticText(_ input: inout FuzzInput) {
        let status = Int32(bitPattern: input.u32())
        for s in [status, Int32(Int8(truncatingIfNeeded: status))] {
            let text: UnsafePointer<CChar> = ts_strerror(s)
            fuzzCheck(strlen(text) > 0, "ts_strerror: empty text")
        }
        fuzzCheck(String(cString: ts_version()) == TS_VERSION_STRING, "ts_version differs from TS_VERSION_STRING")
    }

    /// Closes the handle with `ts_close` and opens the store again with options from the input.
    static func reopen(_ input: inout FuzzInput, _ store: CABIStore) {
        var options = CABIStore.defaultOptions
        options.durability = Int32(input.byte() % 3)
        options.sync_interval_ms = 1 + UInt32(input.byte())
        options.changelog_limit = 1 + Int32(input.byte() % 16)
        options.quarantine_misconfigured = Int32(input.byte() % 2)
        options.shards = 1 << UInt32(input.byte() % 3)  // ignored by an existing store
        store.close(wipe: false)
        store.ensureOpen(options)
    }
}

/// One call's bookkeeping: the digest before a call that must change nothing, and the checks
/// on its status afterwards.
struct Call {
    let store: CABIStore
    let handle: OpaquePointer?
    private var before: UInt64? = nil

    init(store: CABIStore, handle: OpaquePointer?) {
        self.store = store
        self.handle = handle
    }

    /// Takes the digest when the call is expected to be rejected.
    mutating func begin(wellFormed: Bool) {
        before = nil
        if !wellFormed && handle != nil && !store.swiftClosed { before = store.digest() }
    }

    /// Checks `status` against the header.
    func finish(_ status: Int32, wellFormed: Bool, allowed: Set<Int32>, _ name: String) {
        fuzzCheck((TS_ECLOSED...TS_STALE).contains(status), "\(name): status \(status) is not a TS_* code")
        if status < 0 {
            // Every failure leaves this thread a detail, of the library's own words only: the
            // static texts of the boundary and the store's error details, which hold no token
            // or id (the inputs' strings never reach them).
            let detail = String(cString: ts_last_error())
            fuzzCheck(!detail.isEmpty, "\(name): failed with \(status) and no ts_last_error detail")
            fuzzCheck(detail.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F || $0 >= 0x80 } && detail.count <= 512,
                      "\(name): ts_last_error is not a short line of text")
        }
        if handle == nil {
            fuzzCheck(status == TS_EINVAL, "\(name): NULL store gave \(status), not TS_EINVAL")
        } else if !wellFormed {
            fuzzCheck(status == TS_EINVAL, "\(name): bad argument gave \(status), not TS_EINVAL")
            if let before { fuzzCheck(store.digest() == before, "\(name): a rejected call changed the store") }
        } else if store.swiftClosed {
            fuzzCheck(status == TS_ECLOSED, "\(name): call on a closed store gave \(status), not TS_ECLOSED")
        } else {
            fuzzCheck(allowed.contains(status), "\(name): well-formed call gave \(status) (\(String(cString: ts_strerror(status))))")
        }
    }
}
