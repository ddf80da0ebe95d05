/* Every field of tokenstore.h's structs, measured by the C compiler. The Swift parity tests
 * check this list against the fields Swift imports, so a field added to the header and not
 * here fails them. */
#include "tokenstore_layout.h"

#include <tokenstore.h>

#define FIELD(type, field) {#type, #field, offsetof(type, field), sizeof(((type *)0)->field), sizeof(type)}

static const ts_layout_field fields[] = {
    FIELD(ts_options, version),
    FIELD(ts_options, shards),
    FIELD(ts_options, durability),
    FIELD(ts_options, sync_interval_ms),
    FIELD(ts_options, quarantine_misconfigured),
    FIELD(ts_options, changelog_limit),
    FIELD(ts_options, must_exist),
    FIELD(ts_options, checkpoint_log_bytes),

    FIELD(ts_token_view, device_id),
    FIELD(ts_token_view, device_id_len),
    FIELD(ts_token_view, app_id),
    FIELD(ts_token_view, app_id_len),
    FIELD(ts_token_view, token),
    FIELD(ts_token_view, token_len),
    FIELD(ts_token_view, user_id),
    FIELD(ts_token_view, user_id_len),
    FIELD(ts_token_view, platform),
    FIELD(ts_token_view, authorization),
    FIELD(ts_token_view, created_at_ms),
    FIELD(ts_token_view, updated_at_ms),
    FIELD(ts_token_view, quarantined),

    FIELD(ts_change_view, at_ms),
    FIELD(ts_change_view, kind),
    FIELD(ts_change_view, device_id),
    FIELD(ts_change_view, device_id_len),
    FIELD(ts_change_view, app_id),
    FIELD(ts_change_view, app_id_len),
    FIELD(ts_change_view, token),
    FIELD(ts_change_view, token_len),
    FIELD(ts_change_view, other_user_id),
    FIELD(ts_change_view, other_user_id_len),
    FIELD(ts_change_view, detail),
    FIELD(ts_change_view, detail_len),

    FIELD(ts_store_stats, version),
    FIELD(ts_store_stats, reserved),
    FIELD(ts_store_stats, tokens),
    FIELD(ts_store_stats, users),
    FIELD(ts_store_stats, quarantined),
    FIELD(ts_store_stats, by_platform),
    FIELD(ts_store_stats, by_authorization),
    FIELD(ts_store_stats, bounces_by_outcome),
    FIELD(ts_store_stats, bounces_by_category),
};

const ts_layout_field *ts_layout_fields(size_t *count) {
    *count = sizeof fields / sizeof fields[0];
    return fields;
}
