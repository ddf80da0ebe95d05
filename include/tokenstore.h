/**
 * @file tokenstore.h
 * @brief TokenStore: an embeddable, sharded, crash-safe store of push tokens.
 *
 * TokenStore keeps one push token per (device_id, app_id) key, the user who
 * owns it, each user's subscription state and push changelog, and answers the
 * questions a push sender asks: which tokens may I push to now, and how many
 * users match a segment. This header is the C interface to libtokenstore; it
 * is the whole manual.
 *
 * @section model Object model
 *
 * A store is a directory. #ts_open is the constructor of a #ts_store handle
 * and #ts_close its destructor. A directory may be open in one process at a
 * time; a second process gets #TS_ELOCKED.
 *
 * @section status Status codes
 *
 * Every fallible function returns an @c int status: #TS_OK (0) on success,
 * #TS_STALE (positive) when a write was older than the event time already
 * stored for its key and was ignored (not an error), and a negative @c TS_E*
 * constant on failure. #ts_strerror turns any status into static text. The
 * status is the whole outcome; for the detail of a failure (which file failed
 * which check, which argument broke which limit), #ts_last_error keeps the
 * calling thread's last one, as @c dlerror does.
 *
 * @section strings Strings
 *
 * Every string argument is NUL-terminated UTF-8. An argument that is NULL
 * where a string is required, empty, longer than its limit
 * (@c TS_MAX_*_BYTES, in bytes, not counting the NUL) or not valid UTF-8 is
 * rejected with #TS_EINVAL and changes nothing. The library reads at most
 * limit + 1 bytes of any string argument, so an unterminated buffer longer
 * than the limit is rejected rather than over-read.
 *
 * Strings handed back through a view (#ts_token_view, #ts_change_view,
 * #ts_user_fn) are pointer + length pairs. They are @b not NUL-terminated,
 * are never NULL (an empty value points at an empty string), and are valid
 * only during the callback.
 *
 * @section time Time
 *
 * Every time is in milliseconds since the Unix epoch (@c int64_t). Every
 * write carries its event time @p at_ms; a write older than the event time
 * already stored for its key is ignored and answered with #TS_STALE. Ties
 * are broken by arrival.
 *
 * @section tombstones Tombstones
 *
 * A removal (#ts_uninstall, a removing #ts_bounce, #ts_sweep) leaves a
 * tombstone: the key, the removed token's hash and the removal's event time.
 * A #ts_register, #ts_change_user, #ts_set_authorization or #ts_uninstall on
 * that key with an older event time answers #TS_STALE and changes nothing; a
 * #ts_register at or after it applies and clears the tombstone (the other
 * three find no token: #TS_NOTFOUND). A #ts_register of a token that a
 * removing bounce killed, older than the bounce, answers #TS_STALE on any
 * key. Tombstones are never tokens: no count, segment, export or sendable
 * set includes them. They expire after the store's retention, fixed when the
 * store is created; #ts_sweep drops expired ones. A store created through
 * this API keeps them for the default, 30 days of event time: #ts_options
 * has no field for it in this layout. A store created by the Swift API or
 * the command-line tool with another retention keeps its own when opened
 * here.
 *
 * @section threads Threads
 *
 * Every function is safe to call from many threads at once on one handle,
 * except #ts_close, which must be the last call on a handle: no other thread
 * may use the handle during or after it. Each call locks only the shards it
 * touches.
 *
 * Callbacks (#ts_token_fn, #ts_batch_fn, #ts_change_fn, #ts_user_fn) run
 * while the store holds locks. A callback @b must @b not call any function on
 * the same store: doing so may deadlock or abort the process. Copy what you
 * need and make further calls after the iterating function has returned.
 *
 * @section memory Ownership
 *
 * The library never keeps a pointer the caller passed in after the call
 * returns. Memory the library hands back for the caller to keep (only
 * #ts_export_user_json does) is released with #ts_free, never with the
 * caller's own @c free. Strings returned by #ts_version and #ts_strerror are
 * static and are never freed.
 *
 * @section caveats Caveats
 *
 * - A handle must not be used after #ts_close, and must not be closed twice;
 *   the library cannot detect either (the pointer is freed).
 * - Do not open the same directory twice in one process; the second open
 *   fails with #TS_ELOCKED, but a directory opened through two different
 *   paths (symbolic links) is the same store.
 * - Callbacks must not re-enter the store, must not keep the pointers they
 *   receive, and should be short: they hold a shard lock that writers of the
 *   same shard wait for.
 * - @c fork() while a store is open: only the parent may use the handle.
 * - The store path must be valid UTF-8.
 * - #ts_sweep stamps the changelog entries it writes with the current wall
 *   clock; use #ts_sweep_at to pass the event time explicitly.
 * - The library links its own copy of the Swift runtime, statically and with
 *   hidden symbols; it needs no Swift installation on the host and does not
 *   clash with another Swift runtime in the same process.
 */
#ifndef TOKENSTORE_H
#define TOKENSTORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup version Version
 *  @{ */

/** Library major version: changes when the ABI breaks. */
#define TS_VERSION_MAJOR 0
/** Library minor version: changes when functions or fields are added. */
#define TS_VERSION_MINOR 2
/** Library patch version: changes for fixes only. */
#define TS_VERSION_PATCH 0
/** The version as a string literal, "MAJOR.MINOR.PATCH". */
#define TS_VERSION_STRING "0.2.0"

/**
 * @brief The library's version as "MAJOR.MINOR.PATCH".
 *
 * Compare with #TS_VERSION_STRING to check that the header you compiled
 * against matches the library you run with.
 *
 * @return static text, never NULL, never freed.
 */
const char *ts_version(void);

/** @} */

/** @defgroup errors Status codes
 *
 *  Every fallible call returns one of these. The negative values equal the
 *  raw values of the Swift API's @c TokenStoreError.Code.
 *  @{ */

/** Success. */
#define TS_OK 0
/** The write was older than the event time stored for its key and was
 *  ignored. Not an error: the newer state stands. */
#define TS_STALE 1
/** No record matches the key, token or user. */
#define TS_NOTFOUND (-1)
/** An argument is NULL, empty, too long, not UTF-8, or out of range. Nothing
 *  was changed. */
#define TS_EINVAL (-2)
/** A system call failed, or memory could not be allocated. */
#define TS_EIO (-3)
/** A store file failed a checksum or structural check. */
#define TS_ECORRUPT (-4)
/** Another process holds the store open. */
#define TS_ELOCKED (-5)
/** The disk is full. */
#define TS_ENOSPC (-6)
/** The store was written by an unknown on-disk format version. */
#define TS_EVERSION (-7)
/** An id or token exceeds its limit. The C interface rejects oversize
 *  strings with #TS_EINVAL before they reach the store, so C callers do not
 *  normally see this code. */
#define TS_ETOOBIG (-8)
/** The store was closed. Shared with the Swift API; C callers do not see it,
 *  because #ts_close frees the handle and a freed handle must not be used. */
#define TS_ECLOSED (-9)

/**
 * @brief A description of a status code.
 *
 * A failure's text is the Swift API's description of the same
 * @c TokenStoreError.Code, so that C and Swift callers log the same words.
 *
 * @param[in] status any value returned by a TokenStore function; unknown
 *            values get a generic description.
 * @return static text, never NULL, never freed.
 */
const char *ts_strerror(int status);

/**
 * @brief The detail of the calling thread's last failed call.
 *
 * After a function returns a negative status, this says what failed, for a
 * log line or an error message: the file and the check for a damaged store
 * (@c "shard-0001.heap: header checksum"), the argument and its limit for a
 * rejected call (@c "ts_options.shards: not a power of two from 1 to 4096"),
 * the system call and file for an I/O error. It never contains a token or an
 * id, so it is safe to log.
 *
 * Each thread has its own: a failure on one thread never changes another's.
 * Only failures set it; a successful call leaves it as it was, so read it
 * right after the failing call, as you would @c errno.
 *
 * @return text owned by the library, never NULL (empty when no call of this
 *         thread has failed yet); valid until this thread's next call into
 *         the library. Do not free it.
 */
const char *ts_last_error(void);

/** @} */

/** @defgroup limits Limits
 *
 *  Longest accepted string arguments, in UTF-8 bytes without the NUL.
 *  @{ */

/** Longest device id. */
#define TS_MAX_DEVICE_ID_BYTES 256
/** Longest app id. */
#define TS_MAX_APP_ID_BYTES 256
/** Longest user id. */
#define TS_MAX_USER_ID_BYTES 256
/** Longest token. Web Push subscriptions need a few hundred bytes. */
#define TS_MAX_TOKEN_BYTES 4096
/** Longest provider error code passed to #ts_bounce. */
#define TS_MAX_ERROR_CODE_BYTES 128
/** Longest store path. */
#define TS_MAX_PATH_BYTES 4096

/** @} */

/** @defgroup enums Enumerations
 *
 *  Plain @c int constants. Any other value passed to a function is rejected
 *  with #TS_EINVAL.
 *  @{ */

/** Platform: APNs. */
#define TS_PLATFORM_IOS 1
/** Platform: FCM. */
#define TS_PLATFORM_ANDROID 2
/** Platform: Web Push. */
#define TS_PLATFORM_WEB 3

/** Authorization: visible notifications allowed. */
#define TS_AUTH_FOREGROUND 1
/** Authorization: iOS 12+ quiet delivery; counts as foreground-enabled. */
#define TS_AUTH_PROVISIONAL 2
/** Authorization: a token exists, visible notifications are off. */
#define TS_AUTH_BACKGROUND 3

/** Subscription: the default for a new user. */
#define TS_SUB_SUBSCRIBED 1
/** Subscription: an explicit yes. */
#define TS_SUB_OPTED_IN 2
/** Subscription: an explicit no. */
#define TS_SUB_UNSUBSCRIBED 3

/** Durability: never force the log to disk; the OS flushes when it likes. */
#define TS_DURABILITY_NONE 0
/** Durability: force the log every @c sync_interval_ms from a background
 *  thread. A power loss loses at most that window. */
#define TS_DURABILITY_INTERVAL 1
/** Durability: force the log before every write returns. */
#define TS_DURABILITY_ALWAYS 2

/** Bounce outcome: the token was removed. */
#define TS_BOUNCE_REMOVED 1
/** Bounce outcome: the token was kept but is left out of sends until it
 *  registers again. */
#define TS_BOUNCE_QUARANTINED 2
/** Bounce outcome: the token was kept and the failure counted. */
#define TS_BOUNCE_KEPT 3
/** Bounce outcome: the bounce predates the token's latest registration and
 *  was ignored. */
#define TS_BOUNCE_STALE 4

/** Bounce category: the token is dead. */
#define TS_CATEGORY_DEAD 1
/** Bounce category: sender or credential mismatch. */
#define TS_CATEGORY_MISCONFIGURED 2
/** Bounce category: rate limit or server error. */
#define TS_CATEGORY_TRANSIENT 3
/** Bounce category: the payload was at fault, not the token. */
#define TS_CATEGORY_PAYLOAD 4
/** Bounce category: a code the store does not know. */
#define TS_CATEGORY_UNKNOWN 5

/** Segment: not unsubscribed, with a foreground or provisional token for
 *  any app. */
#define TS_SEGMENT_FOREGROUND_PUSH_ENABLED 1
/** Segment: a foreground or provisional token for the given app;
 *  subscription is not considered. Needs @c app_id. */
#define TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP 2
/** Segment: not unsubscribed, with any token. */
#define TS_SEGMENT_BACKGROUND_OR_FOREGROUND_PUSH_ENABLED 3
/** Segment: subscription is #TS_SUB_SUBSCRIBED. */
#define TS_SEGMENT_SUBSCRIBED 4
/** Segment: subscription is #TS_SUB_OPTED_IN. */
#define TS_SEGMENT_OPTED_IN 5
/** Segment: subscription is #TS_SUB_UNSUBSCRIBED. */
#define TS_SEGMENT_UNSUBSCRIBED 6

/** Push kind: a visible notification. Goes to foreground and provisional
 *  tokens of users who are not unsubscribed. */
#define TS_PUSH_VISIBLE 1
/** Push kind: a silent, background push. Goes to any token. */
#define TS_PUSH_SILENT 2

/** Changelog: a token was registered on a key the user had none on. */
#define TS_CHANGE_REGISTERED 1
/** Changelog: the key's token was replaced by a new one. */
#define TS_CHANGE_TOKEN_REPLACED 2
/** Changelog: a token moved to this user from @c other_user_id. */
#define TS_CHANGE_MOVED_IN 3
/** Changelog: a token moved from this user to @c other_user_id. */
#define TS_CHANGE_MOVED_OUT 4
/** Changelog: the token's authorization changed; @c detail holds the new
 *  value ("foreground", "provisional" or "background"). */
#define TS_CHANGE_AUTHORIZATION 5
/** Changelog: a bounce removed or quarantined the token; @c detail holds the
 *  provider's error code. */
#define TS_CHANGE_BOUNCED 6
/** Changelog: the app was uninstalled. */
#define TS_CHANGE_UNINSTALLED 7
/** Changelog: a sweep expired the token. */
#define TS_CHANGE_EXPIRED 8
/** Changelog: the subscription changed; @c detail holds the new value
 *  ("subscribed", "opted_in" or "unsubscribed"). */
#define TS_CHANGE_SUBSCRIPTION 9

/** @} */

/** @defgroup store Opening and closing
 *  @{ */

/** An open store. Opaque: only pointers to it exist. */
typedef struct ts_store ts_store;

/** The #ts_options layout this header describes; #ts_options_init stores it
 *  in ts_options::version. */
#define TS_OPTIONS_VERSION 1

/**
 * @brief Settings chosen when a store is opened.
 *
 * Always initialise with #ts_options_init, then change fields. The first
 * field records which layout the caller was compiled against, so that a
 * library newer than the caller's header never reads past the end of the
 * caller's struct; fields may be added at the end in later versions.
 */
typedef struct ts_options {
    /** Layout version; #ts_options_init sets #TS_OPTIONS_VERSION. #ts_open
     *  rejects 0 and unknown versions with #TS_EINVAL. */
    uint32_t version;
    /** Lock stripes: a power of two from 1 to 4096. Default 64. Fixed when the
     *  store is created; a different value on reopen is ignored. */
    uint32_t shards;
    /** One of the @c TS_DURABILITY_* constants. Default
     *  #TS_DURABILITY_INTERVAL. Every mode survives a process crash without
     *  losing an acknowledged write; they differ on OS crash or power loss. */
    int durability;
    /** Interval for #TS_DURABILITY_INTERVAL, in ms, at least 1. Default 1000.
     *  Ignored by the other modes. */
    uint32_t sync_interval_ms;
    /** Non-zero: quarantine tokens on sender/credential mismatch bounces
     *  instead of removing them. Default 0. */
    int quarantine_misconfigured;
    /** Most changelog entries kept per user, 1 to 4096; older ones are dropped
     *  first. Default 64. */
    int changelog_limit;
    /** Non-zero: open only an existing store; #ts_open fails with
     *  #TS_NOTFOUND when the directory holds none. Default 0 (create). */
    int must_exist;
    /** Write-ahead log bytes after which the store checkpoints, bounding
     *  recovery time; at least 4096 (the store may raise small values to its
     *  own floor). Default 64 MiB. */
    uint64_t checkpoint_log_bytes;
} ts_options;

/**
 * @brief Fills @p opts with the defaults and the layout version.
 *
 * @param[out] opts the options to initialise; NULL is a no-op.
 */
void ts_options_init(ts_options *opts);

/**
 * @brief Opens the store in directory @p path, creating it when absent.
 *
 * Recovery after a crash runs here and costs the work since the last
 * checkpoint.
 *
 * @param[out] out receives the handle on success and NULL on failure.
 * @param[in] path the store directory (UTF-8).
 * @param[in] opts settings, or NULL for the defaults. Read only during the
 *            call.
 * @return #TS_OK; #TS_EINVAL for a NULL @p out, a bad path or bad options;
 *         #TS_ELOCKED if another process holds the store; #TS_EVERSION for
 *         an unknown format; #TS_ECORRUPT for a damaged file; #TS_NOTFOUND
 *         with @c must_exist and no store; #TS_EIO; #TS_ENOSPC.
 */
int ts_open(ts_store **out, const char *path, const ts_options *opts);

/**
 * @brief Flushes, checkpoints and closes the store, and frees the handle.
 *
 * The handle is freed whatever the status; it must not be used again. No
 * other thread may be using it.
 *
 * @param[in] store the handle; NULL is a no-op returning #TS_OK.
 * @return #TS_OK, or the error of the final flush (#TS_EIO, #TS_ENOSPC);
 *         the handle is freed either way.
 */
int ts_close(ts_store *store);

/**
 * @brief Forces every acknowledged write to disk, whatever the durability.
 *
 * @return #TS_OK; #TS_EINVAL for a NULL store; #TS_EIO; #TS_ENOSPC.
 */
int ts_sync(ts_store *store);

/**
 * @brief Writes the in-memory state to the shard files and trims the log,
 *        bounding recovery work.
 *
 * @return #TS_OK; #TS_EINVAL for a NULL store; #TS_EIO; #TS_ENOSPC.
 */
int ts_checkpoint(ts_store *store);

/** @} */

/** @defgroup writes Writes
 *
 *  Each write returns #TS_OK when applied, #TS_STALE when ignored as older
 *  than the key's stored event time or its tombstone (see @ref tombstones), #TS_EINVAL for a bad argument (nothing
 *  is changed), and #TS_EIO, #TS_ENOSPC or #TS_ECLOSED from the store.
 *  @{ */

/**
 * @brief Upserts the token of key (@p device_id, @p app_id); the SDK calls it
 *        every session.
 *
 * A token that another key holds moves here (a token lives on one key). A
 * different token on this key is replaced. If @p user_id differs from the
 * key's owner, the token moves to @p user_id as in #ts_change_user.
 * Registering the same values again only refreshes @c updated_at. It is
 * #TS_STALE when older than the key's tombstone, or than the removing bounce
 * that killed @p token on any key (see @ref tombstones).
 *
 * @param[in] s the store.
 * @param[in] device_id the device.
 * @param[in] app_id the app.
 * @param[in] token the provider's token; compared as bytes.
 * @param[in] platform a @c TS_PLATFORM_* constant.
 * @param[in] authorization a @c TS_AUTH_* constant.
 * @param[in] user_id the logged-in user, or NULL to keep the key's current
 *            owner (an unowned key stays anonymous).
 * @param[in] at_ms the event time.
 * @return #TS_OK, #TS_STALE, #TS_EINVAL, or a store error.
 */
int ts_register(ts_store *s, const char *device_id, const char *app_id, const char *token,
                int platform, int authorization, const char *user_id, int64_t at_ms);

/**
 * @brief Moves the key's token to @p user_id: login or logout on a shared
 *        device.
 *
 * Both users' changelogs record the move.
 *
 * @param[in] user_id the new owner, or NULL to make the token anonymous
 *            (logout).
 * @return #TS_OK, #TS_STALE, #TS_NOTFOUND when the key holds no token,
 *         #TS_EINVAL, or a store error.
 */
int ts_change_user(ts_store *s, const char *device_id, const char *app_id, const char *user_id,
                   int64_t at_ms);

/**
 * @brief Records that visible notifications were turned off
 *        (#TS_AUTH_BACKGROUND) or back on.
 *
 * @param[in] authorization a @c TS_AUTH_* constant.
 * @return #TS_OK, #TS_STALE, #TS_NOTFOUND when the key holds no token,
 *         #TS_EINVAL, or a store error.
 */
int ts_set_authorization(ts_store *s, const char *device_id, const char *app_id, int authorization,
                         int64_t at_ms);

/**
 * @brief Sets a user's subscription, creating the user if needed. The last
 *        value set wins; the store never changes it by itself.
 *
 * @param[in] subscription a @c TS_SUB_* constant.
 * @return #TS_OK, #TS_STALE, #TS_EINVAL, or a store error.
 */
int ts_set_subscription(ts_store *s, const char *user_id, int subscription, int64_t at_ms);

/**
 * @brief Applies a provider's rejection of @p token.
 *
 * Dead tokens are removed; sender/credential mismatches are removed, or
 * quarantined when the store was opened with @c quarantine_misconfigured;
 * transient, payload and unknown errors keep the token. A removing bounce
 * whose @p provider_ts_ms is strictly earlier than the token's latest
 * registration is stale and ignored (APNs 410 rule). A bounce never changes
 * the user's subscription. A removing bounce leaves a tombstone that keeps
 * the token dead on every key for registrations older than @p at_ms.
 *
 * @param[in] token the rejected token.
 * @param[in] error_code the provider's code, e.g. "Unregistered",
 *            "NotRegistered", "MismatchSenderId", "410", "429".
 * @param[in] provider_ts_ms when the provider confirmed the token invalid;
 *            0 when unknown.
 * @param[in] at_ms the event time.
 * @param[out] out_outcome receives a @c TS_BOUNCE_* constant; set to 0 on
 *             failure. Required.
 * @return #TS_OK whenever the bounce was processed (including
 *         #TS_BOUNCE_STALE), #TS_NOTFOUND when no key holds the token,
 *         #TS_EINVAL, or a store error.
 */
int ts_bounce(ts_store *s, const char *token, const char *error_code, int64_t provider_ts_ms,
              int64_t at_ms, int *out_outcome);

/**
 * @brief #ts_bounce that also reports how the error code was classified.
 *
 * @param[out] out_outcome receives a @c TS_BOUNCE_* constant; 0 on failure.
 *             Required.
 * @param[out] out_category receives a @c TS_CATEGORY_* constant;
 *             #TS_CATEGORY_UNKNOWN flags a code the store does not know. 0 on
 *             failure. Required.
 * @return as #ts_bounce.
 */
int ts_bounce_ex(ts_store *s, const char *token, const char *error_code, int64_t provider_ts_ms,
                 int64_t at_ms, int *out_outcome, int *out_category);

/**
 * @brief Removes the key's token because the app was uninstalled, leaving a
 *        tombstone at @p at_ms.
 *
 * @return #TS_OK, #TS_STALE, #TS_NOTFOUND when the key holds no token,
 *         #TS_EINVAL, or a store error.
 */
int ts_uninstall(ts_store *s, const char *device_id, const char *app_id, int64_t at_ms);

/**
 * @brief Expires every token whose @c updated_at is strictly older than
 *        @p older_than_ms.
 *
 * The changelog entries it writes, and the tombstones it leaves, carry the
 * current wall-clock time; it then drops the tombstones older than that time
 * by more than the store's retention. Each shard is locked in turn, never
 * all at once.
 *
 * @param[in] platform a @c TS_PLATFORM_* constant, or 0 for all platforms.
 * @param[in] older_than_ms the bound.
 * @param[out] out_removed receives how many tokens were removed; 0 on
 *             failure. Required.
 * @return #TS_OK, #TS_EINVAL, or a store error.
 */
int ts_sweep(ts_store *s, int platform, int64_t older_than_ms, uint64_t *out_removed);

/**
 * @brief #ts_sweep with an explicit event time @p at_ms for the changelog,
 *        the tombstones and their expiry.
 */
int ts_sweep_at(ts_store *s, int platform, int64_t older_than_ms, int64_t at_ms,
                uint64_t *out_removed);

/** @} */

/** @defgroup reads Reads
 *
 *  Reads hand records to a callback as zero-copy views into the store. The
 *  views, and every pointer in them, are valid only during the callback.
 *  Callbacks must not call into the same store (see @ref threads).
 *
 *  Every reading function returns #TS_OK once iteration finished or the
 *  callback stopped it, #TS_EINVAL for a bad argument (NULL callback
 *  included), or a store error. The callback's own return value is not
 *  passed through.
 *  @{ */

/**
 * @brief A token as stored, seen through a callback.
 *
 * String members are pointer + length, not NUL-terminated, never NULL, and
 * valid only during the callback. Copy what you keep.
 */
typedef struct ts_token_view {
    const char *device_id;   /**< The device. */
    size_t device_id_len;    /**< Bytes in @c device_id. */
    const char *app_id;      /**< The app. */
    size_t app_id_len;       /**< Bytes in @c app_id. */
    const char *token;       /**< The provider token. */
    size_t token_len;        /**< Bytes in @c token. */
    const char *user_id;     /**< The owner. */
    size_t user_id_len;      /**< Bytes in @c user_id; 0 = anonymous. */
    int platform;            /**< A @c TS_PLATFORM_* constant. */
    int authorization;       /**< A @c TS_AUTH_* constant. */
    int64_t created_at_ms;   /**< When the key first got a token. */
    int64_t updated_at_ms;   /**< The last registration or session. */
    int quarantined;         /**< Non-zero when a misconfiguration bounce
                                  quarantined the token (since 0.1). */
} ts_token_view;

/**
 * @brief Receives one token.
 *
 * @param[in] ctx the caller's pointer, passed through unchanged.
 * @param[in] view the token; valid only during the call.
 * @return 0 to go on, non-zero to stop.
 */
typedef int (*ts_token_fn)(void *ctx, const ts_token_view *view);

/**
 * @brief Calls @p fn once with the token of key (@p device_id, @p app_id).
 *
 * @return #TS_OK after the call, #TS_NOTFOUND (and no call) when the key
 *         holds no token, #TS_EINVAL, or a store error.
 */
int ts_get(ts_store *s, const char *device_id, const char *app_id, ts_token_fn fn, void *ctx);

/**
 * @brief Calls @p fn for each token @p user_id owns, until it returns
 *        non-zero.
 *
 * An unknown user owns nothing: #TS_OK with no call.
 */
int ts_user_tokens(ts_store *s, const char *user_id, ts_token_fn fn, void *ctx);

/**
 * @brief Calls @p fn for each token a campaign may push to now for this user
 *        and app, until it returns non-zero.
 *
 * Visible pushes take foreground and provisional tokens of a user who is not
 * unsubscribed; silent pushes take any token. Quarantined tokens are never
 * sendable.
 *
 * @param[in] push_kind #TS_PUSH_VISIBLE or #TS_PUSH_SILENT.
 */
int ts_sendable_tokens(ts_store *s, const char *user_id, const char *app_id, int push_kind,
                       ts_token_fn fn, void *ctx);

/**
 * @brief Reads a user's subscription state.
 *
 * @param[out] out_subscription receives a @c TS_SUB_* constant. Required.
 * @param[out] out_opted_in_at_ms receives when the user last opted in, 0 if
 *             never. May be NULL.
 * @param[out] out_unsubscribed_at_ms receives when the user last
 *             unsubscribed, 0 if never. May be NULL.
 * @return #TS_OK, #TS_NOTFOUND for an unknown user (outputs set to 0),
 *         #TS_EINVAL, or a store error.
 */
int ts_get_user(ts_store *s, const char *user_id, int *out_subscription,
                int64_t *out_opted_in_at_ms, int64_t *out_unsubscribed_at_ms);

/**
 * @brief Counts the users in a segment.
 *
 * @param[in] segment a @c TS_SEGMENT_* constant.
 * @param[in] app_id the app for #TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP;
 *            must be NULL for every other segment.
 * @param[out] out_count receives the count; 0 on failure. Required.
 */
int ts_segment_count(ts_store *s, int segment, const char *app_id, uint64_t *out_count);

/**
 * @brief Receives one user id.
 *
 * @param[in] ctx the caller's pointer.
 * @param[in] user_id the id, not NUL-terminated, valid only during the call.
 * @param[in] user_id_len its length in bytes.
 * @return 0 to go on, non-zero to stop.
 */
typedef int (*ts_user_fn)(void *ctx, const char *user_id, size_t user_id_len);

/**
 * @brief Calls @p fn for each user in a segment, until it returns non-zero.
 *
 * Arguments as #ts_segment_count. Each shard is locked while its users
 * stream.
 */
int ts_segment_users(ts_store *s, int segment, const char *app_id, ts_user_fn fn, void *ctx);

/**
 * @brief Calls @p fn once for each token that a campaign for
 *        @p campaign_app_id may push to now, over every user in the segment,
 *        until it returns non-zero.
 *
 * The set equals the union, over the users that #ts_segment_users lists, of
 * #ts_sendable_tokens(user, @p campaign_app_id, @p push_kind). Each token
 * comes once, in no particular order. Views as in #ts_get. Segment membership
 * and the tokens are read in one pass over the user index, instead of
 * collecting the users and looking each one up again.
 *
 * Each shard's users stream while every shard is locked shared (a user's
 * tokens live in any shard): other readers go on, writers wait for at most one
 * shard's pass. Keep @p fn short. Since 0.2.
 *
 * @param[in] segment a @c TS_SEGMENT_* constant.
 * @param[in] segment_app_id the app for
 *            #TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP; must be NULL for
 *            every other segment (as in #ts_segment_count).
 * @param[in] campaign_app_id the app the campaign sends for. Required.
 * @param[in] push_kind #TS_PUSH_VISIBLE or #TS_PUSH_SILENT.
 * @param[in] fn receives each token. Required.
 * @return #TS_OK once every token was streamed or @p fn stopped the call;
 *         #TS_EINVAL (and no call) for a NULL store or @p fn, a bad id or an
 *         unknown constant; or a store error.
 */
int ts_campaign_tokens(ts_store *s, int segment, const char *segment_app_id,
                       const char *campaign_app_id, int push_kind, ts_token_fn fn, void *ctx);

/**
 * @brief Receives the outcome of one key of #ts_get_many.
 *
 * @param[in] ctx the caller's pointer, passed through unchanged.
 * @param[in] index the key's position in the arrays passed to #ts_get_many.
 * @param[in] status #TS_OK when the key holds a token, #TS_NOTFOUND when not.
 * @param[in] view the token when @p status is #TS_OK, NULL otherwise; valid
 *            only during the call.
 * @return 0 to go on, non-zero to stop.
 */
typedef int (*ts_batch_fn)(void *ctx, size_t index, int status, const ts_token_view *view);

/**
 * @brief Looks up @p n keys at once: key @c i is
 *        (@p device_ids[i], @p app_ids[i]).
 *
 * @p fn is called once per key, in index order, with the key's status
 * (#TS_OK or #TS_NOTFOUND) and its view (NULL when not found), until it
 * returns non-zero. Each key's answer equals #ts_get's. Keys are looked up in
 * batches of 64 whose memory accesses overlap, which makes a batch cheaper
 * than as many #ts_get calls; each batch holds the shards of its keys locked
 * shared while @p fn runs. Since 0.2.
 *
 * @param[in] n the number of keys; 0 returns #TS_OK with no call.
 * @param[in] device_ids @p n device ids. Required, even when @p n is 0.
 * @param[in] app_ids @p n app ids. Required, even when @p n is 0.
 * @param[in] fn receives each key's outcome. Required.
 * @return #TS_OK once every key was answered or @p fn stopped the call (a key
 *         that is not found is not an error); #TS_EINVAL, with no call, for a
 *         NULL store, array or @p fn, or when any element is NULL, empty, too
 *         long or not UTF-8; or a store error.
 */
int ts_get_many(ts_store *s, size_t n, const char *const *device_ids, const char *const *app_ids,
                ts_batch_fn fn, void *ctx);

/**
 * @brief One changelog entry, seen through a callback.
 *
 * String members are pointer + length, not NUL-terminated, never NULL, and
 * valid only during the callback.
 */
typedef struct ts_change_view {
    int64_t at_ms;              /**< The event time of the write. */
    int kind;                   /**< A @c TS_CHANGE_* constant. */
    const char *device_id;      /**< The key's device. */
    size_t device_id_len;       /**< Bytes in @c device_id. */
    const char *app_id;         /**< The key's app. */
    size_t app_id_len;          /**< Bytes in @c app_id. */
    const char *token;          /**< The token concerned. */
    size_t token_len;           /**< Bytes in @c token. */
    const char *other_user_id;  /**< The user it moved to or from. */
    size_t other_user_id_len;   /**< 0 = anonymous or not applicable. */
    const char *detail;         /**< The bounce code, or the new state. */
    size_t detail_len;          /**< 0 = not applicable. */
} ts_change_view;

/**
 * @brief Receives one changelog entry.
 *
 * @return 0 to go on, non-zero to stop.
 */
typedef int (*ts_change_fn)(void *ctx, const ts_change_view *view);

/**
 * @brief Calls @p fn for each entry of a user's push changelog, oldest
 *        first, until it returns non-zero.
 *
 * An unknown user has no changelog: #TS_OK with no call.
 */
int ts_changelog(ts_store *s, const char *user_id, ts_change_fn fn, void *ctx);

/**
 * @brief Exports a user as JSON in the @c push_tokens shape:
 *        {"external_id":…, "push_subscribe":…, "push_tokens":[…]}.
 *
 * @param[out] out_json receives a NUL-terminated UTF-8 string that the
 *             caller owns and releases with #ts_free; NULL on failure.
 *             Required.
 * @param[out] out_len receives its length in bytes without the NUL; 0 on
 *             failure. May be NULL.
 * @return #TS_OK, #TS_NOTFOUND for an unknown user, #TS_EINVAL, #TS_EIO when
 *         memory cannot be allocated, or a store error.
 */
int ts_export_user_json(ts_store *s, const char *user_id, char **out_json, size_t *out_len);

/**
 * @brief Releases memory the library allocated (see #ts_export_user_json).
 *
 * @param[in] p the pointer; NULL is a no-op.
 */
void ts_free(void *p);

/**
 * @brief Counts the live tokens.
 *
 * @param[out] out_tokens receives the count; 0 on failure. Required.
 */
int ts_count(ts_store *s, uint64_t *out_tokens);

/** The #ts_store_stats layout this header describes. */
#define TS_STATS_VERSION 1

/**
 * @brief Counts over the whole store.
 *
 * Set @c version to #TS_STATS_VERSION before calling #ts_stats. Arrays are
 * indexed by the enum constant; index 0 is unused and 0.
 */
typedef struct ts_store_stats {
    uint32_t version;                  /**< Set by the caller to #TS_STATS_VERSION. */
    uint32_t reserved;                 /**< Set to 0 by #ts_stats. */
    uint64_t tokens;                   /**< Live tokens. */
    uint64_t users;                    /**< Users known to the store. */
    uint64_t quarantined;              /**< Tokens held in quarantine. */
    uint64_t by_platform[4];           /**< Tokens per @c TS_PLATFORM_*. */
    uint64_t by_authorization[4];      /**< Tokens per @c TS_AUTH_*. */
    uint64_t bounces_by_outcome[5];    /**< Bounces per @c TS_BOUNCE_*. */
    uint64_t bounces_by_category[6];   /**< Bounces per @c TS_CATEGORY_*. */
} ts_store_stats;

/**
 * @brief Fills @p out with counts over the whole store.
 *
 * @param[in,out] out a struct whose @c version the caller set; the rest is
 *                written. Left untouched on #TS_EINVAL.
 * @return #TS_OK; #TS_EINVAL for a NULL pointer or an unknown version; or a
 *         store error.
 */
int ts_stats(ts_store *s, ts_store_stats *out);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* TOKENSTORE_H */
