// The C callbacks the harness passes to the reading functions. Each checks the view against
// the header's promises (pointers never NULL, lengths within limits, valid UTF-8, known enum
// values) and touches every byte it is given, so AddressSanitizer sees a bad pointer.

import CTokenStore

/// `ts_token_view`, field for field, with optional pointers so a NULL can be seen.
struct TokenViewMirror {
    var deviceID: UnsafePointer<CChar>?
    var deviceIDLength: Int
    var appID: UnsafePointer<CChar>?
    var appIDLength: Int
    var token: UnsafePointer<CChar>?
    var tokenLength: Int
    var userID: UnsafePointer<CChar>?
    var userIDLength: Int
    var platform: Int32
    var authorization: Int32
    var createdAt: Int64
    var updatedAt: Int64
    var quarantined: Int32
}

/// `ts_change_view`, field for field.
struct ChangeViewMirror {
    var at: Int64
    var kind: Int32
    var deviceID: UnsafePointer<CChar>?
    var deviceIDLength: Int
    var appID: UnsafePointer<CChar>?
    var appIDLength: Int
    var token: UnsafePointer<CChar>?
    var tokenLength: Int
    var otherUserID: UnsafePointer<CChar>?
    var otherUserIDLength: Int
    var detail: UnsafePointer<CChar>?
    var detailLength: Int
}

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
let tokenCallback: TSTokenFunction = { context, raw in
    guard let raw else { fuzzFailure("token callback: NULL view") }
    let view = raw.loadUnaligned(as: TokenViewMirror.self)
    var sum: UInt64 = 0
    checkViewText(view.deviceID, view.deviceIDLength, limit: 256, allowEmpty: false, "token view device_id", &sum)
    checkViewText(view.appID, view.appIDLength, limit: 256, allowEmpty: false, "token view app_id", &sum)
    checkViewText(view.token, view.tokenLength, limit: 4096, allowEmpty: false, "token view token", &sum)
    checkViewText(view.userID, view.userIDLength, limit: 256, allowEmpty: true, "token view user_id", &sum)
    fuzzCheck((1...3).contains(view.platform), "token view: platform \(view.platform)")
    fuzzCheck((1...3).contains(view.authorization), "token view: authorization \(view.authorization)")
    fuzzCheck(view.quarantined == 0 || view.quarantined == 1, "token view: quarantined \(view.quarantined)")
    return answer(context, sum: sum)
}

/// `ts_change_fn`.
let changeCallback: TSChangeFunction = { context, raw in
    guard let raw else { fuzzFailure("change callback: NULL view") }
    let view = raw.loadUnaligned(as: ChangeViewMirror.self)
    var sum: UInt64 = 0
    fuzzCheck((1...9).contains(view.kind), "change view: kind \(view.kind)")
    checkViewText(view.deviceID, view.deviceIDLength, limit: 256, allowEmpty: true, "change view device_id", &sum)
    checkViewText(view.appID, view.appIDLength, limit: 256, allowEmpty: true, "change view app_id", &sum)
    checkViewText(view.token, view.tokenLength, limit: 4096, allowEmpty: true, "change view token", &sum)
    checkViewText(view.otherUserID, view.otherUserIDLength, limit: 256, allowEmpty: true, "change view other_user_id", &sum)
    checkViewText(view.detail, view.detailLength, limit: 128, allowEmpty: true, "change view detail", &sum)
    return answer(context, sum: sum)
}

/// `ts_user_fn`.
let userCallback: TSUserFunction = { context, pointer, length in
    var sum: UInt64 = 0
    checkViewText(pointer, length, limit: 256, allowEmpty: false, "segment user id", &sum)
    return answer(context, sum: sum)
}
