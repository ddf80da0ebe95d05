// The C callbacks the harness passes to the reading functions. Each checks the view against
// the header's promises (pointers never NULL, lengths within limits, valid UTF-8, known enum
// values) and touches every byte it is given, so AddressSanitizer sees a bad pointer. The
// views are the header's structs, whose pointer fields Swift imports as optionals, so that a
// NULL is seen rather than trapped on.

import CTokenStore
import CTokenStoreHeader

/// What a callback saw, reached through `ctx`; `ctx` may also be NULL.
struct CallbackState {
    /// Calls so far.
    var calls = 0
    /// The callback returns non-zero (stop) on this call.
    var stopAt = Int.max
    /// Sum of every byte seen, so the reads cannot be optimised away.
    var checksum: UInt64 = 0
}

/// Checks one string of a view and folds its bytes into `sum`.
@inline(never)
func checkViewText(
    _ pointer: UnsafePointer<CChar>?, _ length: Int, limit: Int, allowEmpty: Bool, _ what: String, _ sum: inout UInt64
) {
    guard let pointer else { fuzzFailure("\(what): NULL pointer in a view") }
    fuzzCheck(length >= 0 && length <= limit, "\(what): length \(length) outside 0...\(limit)")
    fuzzCheck(allowEmpty || length > 0, "\(what): empty in a view")
    let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
    for b in bytes { sum = sum &* 31 &+ UInt64(b) }
    fuzzCheck(String(validating: bytes, as: UTF8.self) != nil, "\(what): not UTF-8 in a view")
}

/// Records a call in the state behind `ctx` and answers go on (0) or stop (1).
@inline(__always)
func answer(_ context: UnsafeMutableRawPointer?, sum: UInt64) -> Int32 {
    guard let context else { return 0 }
    let state = context.assumingMemoryBound(to: CallbackState.self)
    state.pointee.calls += 1
    state.pointee.checksum &+= sum
    return state.pointee.calls >= state.pointee.stopAt ? 1 : 0
}

/// `ts_token_fn`.
let tokenCallback: ts_token_fn = { context, pointer in
    guard let view = pointer?.pointee else { fuzzFailure("token callback: NULL view") }
    var sum: UInt64 = 0
    checkViewText(view.device_id, view.device_id_len, limit: StringRole.device.limit, allowEmpty: false,
        "token view device_id", &sum)
    checkViewText(view.app_id, view.app_id_len, limit: StringRole.app.limit, allowEmpty: false, "token view app_id", &sum)
    checkViewText(view.token, view.token_len, limit: StringRole.token.limit, allowEmpty: false, "token view token", &sum)
    checkViewText(view.user_id, view.user_id_len, limit: StringRole.user.limit, allowEmpty: true, "token view user_id", &sum)
    fuzzCheck((TS_PLATFORM_IOS...TS_PLATFORM_WEB).contains(view.platform), "token view: platform \(view.platform)")
    fuzzCheck((TS_AUTH_FOREGROUND...TS_AUTH_BACKGROUND).contains(view.authorization),
        "token view: authorization \(view.authorization)")
    fuzzCheck(view.quarantined == 0 || view.quarantined == 1, "token view: quarantined \(view.quarantined)")
    return answer(context, sum: sum)
}

/// `ts_change_fn`.
let changeCallback: ts_change_fn = { context, pointer in
    guard let view = pointer?.pointee else { fuzzFailure("change callback: NULL view") }
    var sum: UInt64 = 0
    fuzzCheck((TS_CHANGE_REGISTERED...TS_CHANGE_SUBSCRIPTION).contains(view.kind), "change view: kind \(view.kind)")
    checkViewText(view.device_id, view.device_id_len, limit: StringRole.device.limit, allowEmpty: true,
        "change view device_id", &sum)
    checkViewText(view.app_id, view.app_id_len, limit: StringRole.app.limit, allowEmpty: true, "change view app_id", &sum)
    checkViewText(view.token, view.token_len, limit: StringRole.token.limit, allowEmpty: true, "change view token", &sum)
    checkViewText(view.other_user_id, view.other_user_id_len, limit: StringRole.user.limit, allowEmpty: true,
        "change view other_user_id", &sum)
    checkViewText(view.detail, view.detail_len, limit: StringRole.errorCode.limit, allowEmpty: true,
        "change view detail", &sum)
    return answer(context, sum: sum)
}

/// `ts_user_fn`.
let userCallback: ts_user_fn = { context, pointer, length in
    var sum: UInt64 = 0
    checkViewText(pointer, length, limit: StringRole.user.limit, allowEmpty: false, "segment user id", &sum)
    return answer(context, sum: sum)
}
