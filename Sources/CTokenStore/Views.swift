// The C view structs handed to callbacks, built on the stack from the store's zero-copy
// views. Their pointers point into the store and are valid only during the callback.

import TokenStore

/// `ts_token_fn`: `int (*)(void *ctx, const ts_token_view *view)`.
public typealias TSTokenFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?) -> Int32
/// `ts_change_fn`: `int (*)(void *ctx, const ts_change_view *view)`.
public typealias TSChangeFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?) -> Int32
/// `ts_user_fn`: `int (*)(void *ctx, const char *user_id, size_t user_id_len)`.
public typealias TSUserFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int) -> Int32
/// `ts_batch_fn`: `int (*)(void *ctx, size_t index, int status, const ts_token_view *view)`.
public typealias TSBatchFunction = @convention(c) (UnsafeMutableRawPointer?, Int, Int32, UnsafeRawPointer?) -> Int32

/// The C `ts_token_view`, field for field (declaration-order layout, 96 bytes on LP64).
struct CTokenView {
    var deviceID: UnsafePointer<CChar>
    var deviceIDLength: Int
    var appID: UnsafePointer<CChar>
    var appIDLength: Int
    var token: UnsafePointer<CChar>
    var tokenLength: Int
    var userID: UnsafePointer<CChar>
    var userIDLength: Int
    var platform: Int32
    var authorization: Int32
    var createdAt: Int64
    var updatedAt: Int64
    var quarantined: Int32
}

extension CTokenView {
    /// Points the C view at a store view's bytes.
    @inline(__always)
    init(_ view: TokenView) {
        deviceID = viewText(view.deviceID)
        deviceIDLength = view.deviceID.count
        appID = viewText(view.appID)
        appIDLength = view.appID.count
        token = viewText(view.token)
        tokenLength = view.token.count
        userID = viewText(view.userID)
        userIDLength = view.userID.count
        platform = Int32(c: view.platform)
        authorization = Int32(c: view.authorization)
        createdAt = view.createdAt
        updatedAt = view.updatedAt
        quarantined = view.isQuarantined ? 1 : 0
    }
}

/// The C `ts_change_view`, field for field (declaration-order layout, 96 bytes on LP64).
struct CChangeView {
    var at: Int64
    var kind: Int32
    var deviceID: UnsafePointer<CChar>
    var deviceIDLength: Int
    var appID: UnsafePointer<CChar>
    var appIDLength: Int
    var token: UnsafePointer<CChar>
    var tokenLength: Int
    var otherUserID: UnsafePointer<CChar>
    var otherUserIDLength: Int
    var detail: UnsafePointer<CChar>
    var detailLength: Int
}

extension CChangeView {
    /// Points the C view at a store view's bytes.
    @inline(__always)
    init(_ view: ChangeView) {
        at = view.at
        kind = Int32(c: view.kind)
        deviceID = viewText(view.deviceID)
        deviceIDLength = view.deviceID.count
        appID = viewText(view.appID)
        appIDLength = view.appID.count
        token = viewText(view.token)
        tokenLength = view.token.count
        otherUserID = viewText(view.otherUserID)
        otherUserIDLength = view.otherUserID.count
        detail = viewText(view.detail)
        detailLength = view.detail.count
    }
}

/// Calls a C token callback with a view; returns its answer.
@inline(__always)
func deliver(_ view: TokenView, to function: TSTokenFunction, context: UnsafeMutableRawPointer?) -> Int32 {
    var cView = CTokenView(view)
    return withUnsafePointer(to: &cView) { function(context, UnsafeRawPointer($0)) }
}

/// Calls a C token callback with an owned record, whose strings live for the call only.
func deliver(_ record: TokenRecord, to function: TSTokenFunction, context: UnsafeMutableRawPointer?) -> Int32 {
    var record = record
    var user = record.userID ?? ""
    return record.deviceID.withUTF8 { device in
        record.appID.withUTF8 { app in
            record.token.withUTF8 { token in
                user.withUTF8 { user in
                    var cView = CTokenView(
                        deviceID: viewText(UnsafeRawBufferPointer(device)), deviceIDLength: device.count,
                        appID: viewText(UnsafeRawBufferPointer(app)), appIDLength: app.count,
                        token: viewText(UnsafeRawBufferPointer(token)), tokenLength: token.count,
                        userID: viewText(UnsafeRawBufferPointer(user)), userIDLength: user.count,
                        platform: Int32(c: record.platform), authorization: Int32(c: record.authorization),
                        createdAt: record.createdAt, updatedAt: record.updatedAt,
                        quarantined: record.isQuarantined ? 1 : 0)
                    return withUnsafePointer(to: &cView) { function(context, UnsafeRawPointer($0)) }
                }
            }
        }
    }
}
