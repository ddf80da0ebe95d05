// The header's view structs (`ts_token_view`, `ts_change_view`) filled on the stack from the
// store's zero-copy views. Their pointers point into the store and are valid only during the
// callback.

import CTokenStoreHeader
import TokenStore

extension ts_token_view {
    /// Points the C view at a store view's bytes.
    @inline(__always)
    init(_ view: TokenView) {
        self.init(
            deviceID: view.deviceID, appID: view.appID, token: view.token, userID: view.userID,
            platform: view.platform, authorization: view.authorization, createdAt: view.createdAt,
            updatedAt: view.updatedAt, isQuarantined: view.isQuarantined)
    }

    /// Points the C view at the given bytes, which must outlive its use.
    @inline(__always)
    init(
        deviceID: UnsafeRawBufferPointer, appID: UnsafeRawBufferPointer, token: UnsafeRawBufferPointer,
        userID: UnsafeRawBufferPointer, platform: Platform, authorization: Authorization, createdAt: Int64,
        updatedAt: Int64, isQuarantined: Bool
    ) {
        self.init(
            device_id: viewText(deviceID), device_id_len: deviceID.count,
            app_id: viewText(appID), app_id_len: appID.count,
            token: viewText(token), token_len: token.count,
            user_id: viewText(userID), user_id_len: userID.count,
            platform: Int32(c: platform), authorization: Int32(c: authorization),
            created_at_ms: createdAt, updated_at_ms: updatedAt, quarantined: isQuarantined ? 1 : 0)
    }
}

extension ts_change_view {
    /// Points the C view at a store view's bytes.
    @inline(__always)
    init(_ view: ChangeView) {
        self.init(
            at_ms: view.at, kind: Int32(c: view.kind),
            device_id: viewText(view.deviceID), device_id_len: view.deviceID.count,
            app_id: viewText(view.appID), app_id_len: view.appID.count,
            token: viewText(view.token), token_len: view.token.count,
            other_user_id: viewText(view.otherUserID), other_user_id_len: view.otherUserID.count,
            detail: viewText(view.detail), detail_len: view.detail.count)
    }
}

/// Calls a C token callback with a view; returns its answer.
@inline(__always)
func deliver(_ view: TokenView, to function: ts_token_fn, context: UnsafeMutableRawPointer?) -> Int32 {
    var cView = ts_token_view(view)
    return function(context, &cView)
}

/// Calls a C token callback with an owned record, whose strings live for the call only.
func deliver(_ record: TokenRecord, to function: ts_token_fn, context: UnsafeMutableRawPointer?) -> Int32 {
    var record = record
    var user = record.userID ?? ""
    return record.deviceID.withUTF8 { device in
        record.appID.withUTF8 { app in
            record.token.withUTF8 { token in
                user.withUTF8 { user in
                    var cView = ts_token_view(
                        deviceID: UnsafeRawBufferPointer(device), appID: UnsafeRawBufferPointer(app),
                        token: UnsafeRawBufferPointer(token), userID: UnsafeRawBufferPointer(user),
                        platform: record.platform, authorization: record.authorization,
                        createdAt: record.createdAt, updatedAt: record.updatedAt,
                        isQuarantined: record.isQuarantined)
                    return function(context, &cView)
                }
            }
        }
    }
}
