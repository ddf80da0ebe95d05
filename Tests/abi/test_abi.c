/* Functional and bad-input tests of every function in tokenstore.h, linked against the
 * release libtokenstore.so.
 *
 * Usage: test_abi SCRATCH_DIR   (stores are created in fresh subdirectories of it)
 */
#define _POSIX_C_SOURCE 200809L

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "abi_test.h"

static const char *scratch;
static const char *self_path;
static int store_serial;

/* ---- helpers ---------------------------------------------------------------------- */

/* A fresh store directory path under the scratch dir. */
static void fresh_path(char *buf, size_t size, const char *name) {
    snprintf(buf, size, "%s/%s-%d", scratch, name, ++store_serial);
}

/* Opens a fresh store, stopping the test on failure. */
static ts_store *open_fresh(const char *name, const ts_options *opts) {
    char path[1024];
    ts_store *s = NULL;
    int rc;
    fresh_path(path, sizeof path, name);
    rc = ts_open(&s, path, opts);
    if (rc != TS_OK) fprintf(stderr, "ts_open(%s): %s\n", path, ts_strerror(rc));
    REQUIRE(rc == TS_OK && s != NULL);
    return s;
}

static uint64_t count_tokens(ts_store *s) {
    uint64_t n = 12345;
    CHECK_RC(ts_count(s, &n), TS_OK);
    return n;
}

/* Copies of what token callbacks saw. */
typedef struct seen_token {
    char device_id[300], app_id[300], token[4200], user_id[300];
    size_t user_id_len;
    int user_id_non_null;
    int platform, authorization, quarantined;
    int64_t created_at_ms, updated_at_ms;
} seen_token;

typedef struct token_sink {
    int calls;
    int stop_after; /* 0 = never stop */
    seen_token items[16];
} token_sink;

static void copy_text(char *dst, size_t cap, const char *src, size_t len) {
    if (len >= cap) len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static int collect_token(void *ctx, const ts_token_view *v) {
    token_sink *sink = (token_sink *)ctx;
    if (sink->calls < 16) {
        seen_token *t = &sink->items[sink->calls];
        CHECK(v->device_id != NULL && v->app_id != NULL && v->token != NULL && v->user_id != NULL);
        copy_text(t->device_id, sizeof t->device_id, v->device_id, v->device_id_len);
        copy_text(t->app_id, sizeof t->app_id, v->app_id, v->app_id_len);
        copy_text(t->token, sizeof t->token, v->token, v->token_len);
        copy_text(t->user_id, sizeof t->user_id, v->user_id, v->user_id_len);
        t->user_id_len = v->user_id_len;
        t->user_id_non_null = v->user_id != NULL;
        t->platform = v->platform;
        t->authorization = v->authorization;
        t->quarantined = v->quarantined;
        t->created_at_ms = v->created_at_ms;
        t->updated_at_ms = v->updated_at_ms;
    }
    sink->calls++;
    return sink->stop_after && sink->calls >= sink->stop_after;
}

typedef struct seen_change {
    int64_t at_ms;
    int kind;
    char device_id[300], app_id[300], token[4200], other_user_id[300], detail[300];
} seen_change;

typedef struct change_sink {
    int calls;
    int stop_after;
    seen_change items[32];
} change_sink;

static int collect_change(void *ctx, const ts_change_view *v) {
    change_sink *sink = (change_sink *)ctx;
    if (sink->calls < 32) {
        seen_change *c = &sink->items[sink->calls];
        CHECK(v->device_id != NULL && v->app_id != NULL && v->token != NULL &&
              v->other_user_id != NULL && v->detail != NULL);
        c->at_ms = v->at_ms;
        c->kind = v->kind;
        copy_text(c->device_id, sizeof c->device_id, v->device_id, v->device_id_len);
        copy_text(c->app_id, sizeof c->app_id, v->app_id, v->app_id_len);
        copy_text(c->token, sizeof c->token, v->token, v->token_len);
        copy_text(c->other_user_id, sizeof c->other_user_id, v->other_user_id, v->other_user_id_len);
        copy_text(c->detail, sizeof c->detail, v->detail, v->detail_len);
    }
    sink->calls++;
    return sink->stop_after && sink->calls >= sink->stop_after;
}

/* Finds a change of a kind in a sink; NULL if absent. */
static const seen_change *find_change(const change_sink *sink, int kind) {
    int i;
    for (i = 0; i < sink->calls && i < 32; i++)
        if (sink->items[i].kind == kind) return &sink->items[i];
    return NULL;
}

typedef struct user_sink {
    int calls;
    int stop_after;
    char users[16][300];
} user_sink;

static int collect_user(void *ctx, const char *user_id, size_t len) {
    user_sink *sink = (user_sink *)ctx;
    CHECK(user_id != NULL && len > 0);
    if (sink->calls < 16) copy_text(sink->users[sink->calls], 300, user_id, len);
    sink->calls++;
    return sink->stop_after && sink->calls >= sink->stop_after;
}

static int has_user(const user_sink *sink, const char *user) {
    int i;
    for (i = 0; i < sink->calls && i < 16; i++)
        if (strcmp(sink->users[i], user) == 0) return 1;
    return 0;
}

static int never_called(void *ctx, const ts_token_view *v) {
    (void)v;
    ++*(int *)ctx;
    return 0;
}

static int never_called_change(void *ctx, const ts_change_view *v) {
    (void)v;
    ++*(int *)ctx;
    return 0;
}

static int never_called_user(void *ctx, const char *u, size_t n) {
    (void)u;
    (void)n;
    ++*(int *)ctx;
    return 0;
}

static uint64_t segment_count(ts_store *s, int segment, const char *app) {
    uint64_t n = 999;
    CHECK_RC(ts_segment_count(s, segment, app, &n), TS_OK);
    return n;
}

/* Tokens shaped like the providers'. */
#define APNS_A "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
#define APNS_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
#define FCM_A "fcm:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx_ABCDEF0123456789"
#define WEB_A "https://fcm.googleapis.com/fcm/send/abc123?p256dh=BNc&auth=xyz"

/* ---- version, strerror, options ----------------------------------------------------- */

static void test_version(void) {
    char expected[64];
    const char *v = ts_version();
    snprintf(expected, sizeof expected, "%d.%d.%d", TS_VERSION_MAJOR, TS_VERSION_MINOR,
             TS_VERSION_PATCH);
    REQUIRE(v != NULL);
    CHECK(strcmp(v, expected) == 0);
    CHECK(strcmp(v, TS_VERSION_STRING) == 0);
    CHECK(ts_version() == v); /* static: the same pointer every time */
}

static void test_strerror(void) {
    static const int codes[] = {TS_OK,       TS_STALE,    TS_NOTFOUND, TS_EINVAL,
                                TS_EIO,      TS_ECORRUPT, TS_ELOCKED,  TS_ENOSPC,
                                TS_EVERSION, TS_ETOOBIG,  TS_ECLOSED};
    size_t i, j, n = sizeof codes / sizeof codes[0];
    static const int odd[] = {2, -10, 100, INT_MIN, INT_MAX};
    for (i = 0; i < n; i++) {
        const char *text = ts_strerror(codes[i]);
        REQUIRE(text != NULL);
        CHECK(strlen(text) > 0);
        CHECK(ts_strerror(codes[i]) == text);
        for (j = 0; j < i; j++) CHECK(strcmp(ts_strerror(codes[j]), text) != 0);
    }
    for (i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        const char *text = ts_strerror(odd[i]);
        CHECK(text != NULL && strlen(text) > 0);
    }
    /* The values are part of the ABI. */
    CHECK(TS_OK == 0 && TS_STALE == 1 && TS_NOTFOUND == -1 && TS_EINVAL == -2 && TS_EIO == -3);
    CHECK(TS_ECORRUPT == -4 && TS_ELOCKED == -5 && TS_ENOSPC == -6 && TS_EVERSION == -7);
    CHECK(TS_ETOOBIG == -8 && TS_ECLOSED == -9);
}

static void test_layouts(void) {
    /* These layouts are the ABI; they may only grow at the end. The Swift shims use the
     * header's own structs, and the CBoundary parity suite checks Swift's layout of them
     * against the C compiler's. */
    CHECK(offsetof(ts_options, version) == 0);
    CHECK(offsetof(ts_options, shards) == 4);
    CHECK(offsetof(ts_options, durability) == 8);
    CHECK(offsetof(ts_options, sync_interval_ms) == 12);
    CHECK(offsetof(ts_options, quarantine_misconfigured) == 16);
    CHECK(offsetof(ts_options, changelog_limit) == 20);
    CHECK(offsetof(ts_options, must_exist) == 24);
    CHECK(offsetof(ts_options, checkpoint_log_bytes) == 32);
    CHECK(sizeof(ts_options) == 40);
    if (sizeof(void *) == 8) {
        CHECK(offsetof(ts_token_view, platform) == 64);
        CHECK(offsetof(ts_token_view, created_at_ms) == 72);
        CHECK(offsetof(ts_token_view, quarantined) == 88);
        CHECK(sizeof(ts_token_view) == 96);
        CHECK(offsetof(ts_change_view, device_id) == 16);
        CHECK(offsetof(ts_change_view, detail_len) == 88);
        CHECK(sizeof(ts_change_view) == 96);
    }
    CHECK(offsetof(ts_store_stats, tokens) == 8);
    CHECK(offsetof(ts_store_stats, by_platform) == 32);
    CHECK(offsetof(ts_store_stats, by_authorization) == 64);
    CHECK(offsetof(ts_store_stats, bounces_by_outcome) == 96);
    CHECK(offsetof(ts_store_stats, bounces_by_category) == 136);
    CHECK(sizeof(ts_store_stats) == 184);
}

static void test_options_init(void) {
    ts_options o;
    memset(&o, 0xAB, sizeof o);
    ts_options_init(&o);
    CHECK(o.version == TS_OPTIONS_VERSION);
    CHECK(o.shards == 64);
    CHECK(o.durability == TS_DURABILITY_INTERVAL);
    CHECK(o.sync_interval_ms == 1000);
    CHECK(o.quarantine_misconfigured == 0);
    CHECK(o.changelog_limit == 64);
    CHECK(o.must_exist == 0);
    CHECK(o.checkpoint_log_bytes == (uint64_t)64 << 20);
    ts_options_init(NULL); /* no-op, no crash */
}

/* ---- open / close -------------------------------------------------------------------- */

static void test_open_bad_arguments(void) {
    char path[1024];
    char long_path[TS_MAX_PATH_BYTES + 2];
    ts_store *s = (ts_store *)&s; /* garbage: ts_open must overwrite it */
    ts_options o;

    fresh_path(path, sizeof path, "open-bad");
    CHECK_RC(ts_open(NULL, path, NULL), TS_EINVAL);
    CHECK_RC(ts_open(&s, NULL, NULL), TS_EINVAL);
    CHECK(s == NULL);
    s = (ts_store *)&s;
    CHECK_RC(ts_open(&s, "", NULL), TS_EINVAL);
    CHECK(s == NULL);
    CHECK_RC(ts_open(&s, "/tmp/\xff\xfe-not-utf8", NULL), TS_EINVAL);
    memset(long_path, 'p', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    CHECK_RC(ts_open(&s, long_path, NULL), TS_EINVAL);

#define BAD_OPTION(field, value)                       \
    do {                                               \
        ts_options_init(&o);                           \
        o.field = value;                               \
        s = (ts_store *)&s;                            \
        CHECK_RC(ts_open(&s, path, &o), TS_EINVAL);    \
        CHECK(s == NULL);                              \
    } while (0)
    BAD_OPTION(version, 0);
    BAD_OPTION(version, 2);
    BAD_OPTION(version, 0xFFFFFFFFu);
    BAD_OPTION(shards, 0);
    BAD_OPTION(shards, 3);
    BAD_OPTION(shards, 8192);
    BAD_OPTION(shards, 0x80000000u);
    BAD_OPTION(durability, -1);
    BAD_OPTION(durability, 3);
    BAD_OPTION(sync_interval_ms, 0);
    BAD_OPTION(changelog_limit, 0);
    BAD_OPTION(changelog_limit, -5);
    BAD_OPTION(changelog_limit, 4097);
    BAD_OPTION(checkpoint_log_bytes, 0);
    BAD_OPTION(checkpoint_log_bytes, UINT64_MAX);
#undef BAD_OPTION

    /* must_exist on a directory with no store. */
    ts_options_init(&o);
    o.must_exist = 1;
    s = (ts_store *)&s;
    CHECK_RC(ts_open(&s, path, &o), TS_NOTFOUND);
    CHECK(s == NULL);

    /* Interval is ignored by the other modes. */
    ts_options_init(&o);
    o.durability = TS_DURABILITY_ALWAYS;
    o.sync_interval_ms = 0;
    CHECK_RC(ts_open(&s, path, &o), TS_OK);
    CHECK(s != NULL);
    CHECK_RC(ts_close(s), TS_OK);

    CHECK_RC(ts_close(NULL), TS_OK);
}

static void test_open_modes_and_reopen(void) {
    char path[1024];
    ts_store *s = NULL;
    ts_options o;
    int durability;
    token_sink sink;

    for (durability = TS_DURABILITY_NONE; durability <= TS_DURABILITY_ALWAYS; durability++) {
        fresh_path(path, sizeof path, "modes");
        ts_options_init(&o);
        o.durability = durability;
        o.shards = 1u << (durability * 3); /* 1, 8, 64 */
        CHECK_RC(ts_open(&s, path, &o), TS_OK);
        REQUIRE(s != NULL);
        CHECK_RC(ts_register(s, "dev", "app", APNS_A, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, "kim", 10),
                 TS_OK);
        CHECK_RC(ts_sync(s), TS_OK);
        CHECK_RC(ts_checkpoint(s), TS_OK);
        CHECK_RC(ts_register(s, "dev2", "app", APNS_B, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, NULL, 11),
                 TS_OK);
        CHECK_RC(ts_close(s), TS_OK);

        /* Everything acknowledged comes back, with must_exist. */
        o.must_exist = 1;
        s = NULL;
        CHECK_RC(ts_open(&s, path, &o), TS_OK);
        REQUIRE(s != NULL);
        CHECK(count_tokens(s) == 2);
        memset(&sink, 0, sizeof sink);
        CHECK_RC(ts_get(s, "dev", "app", collect_token, &sink), TS_OK);
        CHECK(sink.calls == 1 && strcmp(sink.items[0].user_id, "kim") == 0);
        CHECK_RC(ts_close(s), TS_OK);
    }
}

static void test_locked_by_other_process(void) {
    char path[1024];
    ts_store *s = NULL;
    pid_t pid;
    int status = 0;

    fresh_path(path, sizeof path, "locked");
    CHECK_RC(ts_open(&s, path, NULL), TS_OK);
    REQUIRE(s != NULL);
    fflush(NULL);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        /* A fresh process image: no locks inherited from this one's threads. */
        execl(self_path, self_path, "--try-open", path, (char *)NULL);
        _exit(127);
    }
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        fprintf(stderr, "  child's ts_open status: -%d (expected TS_ELOCKED)\n", WEXITSTATUS(status) - 10);
    CHECK_RC(ts_close(s), TS_OK);
}

/* ---- writes and reads ----------------------------------------------------------------- */

static void test_register_and_get(void) {
    ts_store *s = open_fresh("register", NULL);
    token_sink sink;
    int calls = 0;

    CHECK(count_tokens(s) == 0);
    CHECK_RC(ts_get(s, "dev-1", "com.example", never_called, &calls), TS_NOTFOUND);
    CHECK(calls == 0);

    CHECK_RC(ts_register(s, "dev-1", "com.example", APNS_A, TS_PLATFORM_IOS, TS_AUTH_PROVISIONAL,
                         "charlie", 1000),
             TS_OK);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_get(s, "dev-1", "com.example", collect_token, &sink), TS_OK);
    CHECK(sink.calls == 1);
    CHECK(strcmp(sink.items[0].device_id, "dev-1") == 0);
    CHECK(strcmp(sink.items[0].app_id, "com.example") == 0);
    CHECK(strcmp(sink.items[0].token, APNS_A) == 0);
    CHECK(strcmp(sink.items[0].user_id, "charlie") == 0);
    CHECK(sink.items[0].platform == TS_PLATFORM_IOS);
    CHECK(sink.items[0].authorization == TS_AUTH_PROVISIONAL);
    CHECK(sink.items[0].created_at_ms == 1000 && sink.items[0].updated_at_ms == 1000);
    CHECK(sink.items[0].quarantined == 0);

    /* Idempotent: the same call again only refreshes updated_at. */
    CHECK_RC(ts_register(s, "dev-1", "com.example", APNS_A, TS_PLATFORM_IOS, TS_AUTH_PROVISIONAL,
                         "charlie", 2000),
             TS_OK);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_get(s, "dev-1", "com.example", collect_token, &sink), TS_OK);
    CHECK(sink.items[0].created_at_ms == 1000 && sink.items[0].updated_at_ms == 2000);
    CHECK(count_tokens(s) == 1);

    /* Older than the stored event time: stale, ignored. */
    CHECK_RC(ts_register(s, "dev-1", "com.example", APNS_B, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND,
                         "kim", 1500),
             TS_STALE);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_get(s, "dev-1", "com.example", collect_token, &sink), TS_OK);
    CHECK(strcmp(sink.items[0].token, APNS_A) == 0 && strcmp(sink.items[0].user_id, "charlie") == 0);

    /* Anonymous key: user_id_len 0, pointer still not NULL. A NULL user keeps the owner. */
    CHECK_RC(ts_register(s, "dev-2", "com.example", FCM_A, TS_PLATFORM_ANDROID, TS_AUTH_BACKGROUND,
                         NULL, 3000),
             TS_OK);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_get(s, "dev-2", "com.example", collect_token, &sink), TS_OK);
    CHECK(sink.items[0].user_id_len == 0 && sink.items[0].user_id_non_null);
    CHECK(sink.items[0].platform == TS_PLATFORM_ANDROID);
    CHECK_RC(ts_register(s, "dev-1", "com.example", APNS_A, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND,
                         NULL, 4000),
             TS_OK);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_get(s, "dev-1", "com.example", collect_token, &sink), TS_OK);
    CHECK(strcmp(sink.items[0].user_id, "charlie") == 0);
    CHECK(sink.items[0].authorization == TS_AUTH_FOREGROUND);

    /* A token lives on one key: registering it elsewhere moves it. */
    CHECK_RC(ts_register(s, "dev-3", "com.example", FCM_A, TS_PLATFORM_ANDROID, TS_AUTH_FOREGROUND,
                         NULL, 5000),
             TS_OK);
    CHECK_RC(ts_get(s, "dev-2", "com.example", never_called, &calls), TS_NOTFOUND);
    CHECK(count_tokens(s) == 2);

    /* Web token with a long, URL-shaped value; and a token at the exact size limit. */
    {
        static char big[TS_MAX_TOKEN_BYTES + 1];
        memset(big, 'w', TS_MAX_TOKEN_BYTES);
        big[TS_MAX_TOKEN_BYTES] = '\0';
        CHECK_RC(ts_register(s, "dev-4", "web.example", WEB_A, TS_PLATFORM_WEB, TS_AUTH_FOREGROUND,
                             "kim", 6000),
                 TS_OK);
        CHECK_RC(ts_register(s, "dev-5", "web.example", big, TS_PLATFORM_WEB, TS_AUTH_FOREGROUND,
                             "kim", 6000),
                 TS_OK);
        memset(&sink, 0, sizeof sink);
        CHECK_RC(ts_get(s, "dev-5", "web.example", collect_token, &sink), TS_OK);
        CHECK(strlen(sink.items[0].token) == TS_MAX_TOKEN_BYTES);
    }
    /* Non-ASCII UTF-8 ids are fine. */
    CHECK_RC(ts_register(s, "appareil-\xc3\xa9t\xc3\xa9", "com.example", APNS_B, TS_PLATFORM_IOS,
                         TS_AUTH_FOREGROUND, "z\xc3\xbcrich-\xf0\x9f\x98\x80", 7000),
             TS_OK);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_user_tokens(s, "z\xc3\xbcrich-\xf0\x9f\x98\x80", collect_token, &sink), TS_OK);
    CHECK(sink.calls == 1 && strcmp(sink.items[0].device_id, "appareil-\xc3\xa9t\xc3\xa9") == 0);

    CHECK_RC(ts_close(s), TS_OK);
}

static void test_change_user_and_changelog(void) {
    ts_store *s = open_fresh("change-user", NULL);
    token_sink sink;
    change_sink log;
    const seen_change *c;
    int calls = 0;

    CHECK_RC(ts_register(s, "phone", "app", APNS_A, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, "charlie", 100),
             TS_OK);
    /* Charlie logs out, Kim logs in on Charlie's phone. */
    CHECK_RC(ts_change_user(s, "phone", "app", "kim", 200), TS_OK);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_user_tokens(s, "kim", collect_token, &sink), TS_OK);
    CHECK(sink.calls == 1 && strcmp(sink.items[0].token, APNS_A) == 0);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_user_tokens(s, "charlie", collect_token, &sink), TS_OK);
    CHECK(sink.calls == 0);

    memset(&log, 0, sizeof log);
    CHECK_RC(ts_changelog(s, "charlie", collect_change, &log), TS_OK);
    CHECK(log.calls >= 2);
    CHECK(log.items[0].kind == TS_CHANGE_REGISTERED && log.items[0].at_ms == 100);
    c = find_change(&log, TS_CHANGE_MOVED_OUT);
    CHECK(c != NULL);
    if (c) {
        CHECK(c->at_ms == 200);
        CHECK(strcmp(c->other_user_id, "kim") == 0);
        CHECK(strcmp(c->token, APNS_A) == 0);
        CHECK(strcmp(c->device_id, "phone") == 0 && strcmp(c->app_id, "app") == 0);
    }
    memset(&log, 0, sizeof log);
    CHECK_RC(ts_changelog(s, "kim", collect_change, &log), TS_OK);
    c = find_change(&log, TS_CHANGE_MOVED_IN);
    CHECK(c != NULL && strcmp(c->other_user_id, "charlie") == 0 && c->at_ms == 200);

    /* A late logout older than the login is stale. */
    CHECK_RC(ts_change_user(s, "phone", "app", NULL, 150), TS_STALE);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_get(s, "phone", "app", collect_token, &sink), TS_OK);
    CHECK(strcmp(sink.items[0].user_id, "kim") == 0);

    /* Charlie logs in again: it moves back. Then logout makes it anonymous. */
    CHECK_RC(ts_change_user(s, "phone", "app", "charlie", 300), TS_OK);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_user_tokens(s, "charlie", collect_token, &sink), TS_OK);
    CHECK(sink.calls == 1);
    CHECK_RC(ts_change_user(s, "phone", "app", NULL, 400), TS_OK);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_get(s, "phone", "app", collect_token, &sink), TS_OK);
    CHECK(sink.items[0].user_id_len == 0);

    /* Changelog iteration stops when asked; unknown users have none. */
    memset(&log, 0, sizeof log);
    log.stop_after = 1;
    CHECK_RC(ts_changelog(s, "charlie", collect_change, &log), TS_OK);
    CHECK(log.calls == 1);
    CHECK_RC(ts_changelog(s, "nobody", never_called_change, &calls), TS_OK);
    CHECK(calls == 0);

    CHECK_RC(ts_change_user(s, "ghost", "app", "kim", 500), TS_NOTFOUND);
    CHECK_RC(ts_close(s), TS_OK);
}

static void test_authorization_subscription_segments(void) {
    ts_store *s = open_fresh("segments", NULL);
    token_sink sink;
    user_sink users;
    int sub = -1;
    int64_t opted = -1, unsub = -1;
    change_sink log;

    /* ann: ios foreground on app1. bob: android background on app1. cat: web foreground app2. */
    CHECK_RC(ts_register(s, "d-ann", "app1", APNS_A, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, "ann", 10), TS_OK);
    CHECK_RC(ts_register(s, "d-bob", "app1", FCM_A, TS_PLATFORM_ANDROID, TS_AUTH_BACKGROUND, "bob", 10), TS_OK);
    CHECK_RC(ts_register(s, "d-cat", "app2", WEB_A, TS_PLATFORM_WEB, TS_AUTH_FOREGROUND, "cat", 10), TS_OK);
    CHECK_RC(ts_set_subscription(s, "dan", TS_SUB_OPTED_IN, 10), TS_OK);

    CHECK_RC(ts_get_user(s, "dan", &sub, &opted, &unsub), TS_OK);
    CHECK(sub == TS_SUB_OPTED_IN && opted == 10 && unsub == 0);
    CHECK_RC(ts_get_user(s, "ann", &sub, NULL, NULL), TS_OK);
    CHECK(sub == TS_SUB_SUBSCRIBED);
    sub = 7;
    CHECK_RC(ts_get_user(s, "nobody", &sub, &opted, &unsub), TS_NOTFOUND);
    CHECK(sub == 0 && opted == 0 && unsub == 0);

    CHECK(segment_count(s, TS_SEGMENT_FOREGROUND_PUSH_ENABLED, NULL) == 2);
    CHECK(segment_count(s, TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, "app1") == 1);
    CHECK(segment_count(s, TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, "app2") == 1);
    CHECK(segment_count(s, TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, "app3") == 0);
    CHECK(segment_count(s, TS_SEGMENT_BACKGROUND_OR_FOREGROUND_PUSH_ENABLED, NULL) == 3);
    CHECK(segment_count(s, TS_SEGMENT_SUBSCRIBED, NULL) == 3);
    CHECK(segment_count(s, TS_SEGMENT_OPTED_IN, NULL) == 1);
    CHECK(segment_count(s, TS_SEGMENT_UNSUBSCRIBED, NULL) == 0);

    memset(&users, 0, sizeof users);
    CHECK_RC(ts_segment_users(s, TS_SEGMENT_FOREGROUND_PUSH_ENABLED, NULL, collect_user, &users), TS_OK);
    CHECK(users.calls == 2 && has_user(&users, "ann") && has_user(&users, "cat"));
    memset(&users, 0, sizeof users);
    CHECK_RC(ts_segment_users(s, TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, "app1", collect_user, &users),
             TS_OK);
    CHECK(users.calls == 1 && has_user(&users, "ann"));
    memset(&users, 0, sizeof users);
    users.stop_after = 1;
    CHECK_RC(ts_segment_users(s, TS_SEGMENT_BACKGROUND_OR_FOREGROUND_PUSH_ENABLED, NULL, collect_user, &users),
             TS_OK);
    CHECK(users.calls == 1);

    /* ann unsubscribes: out of the subscription-aware segments, still "for app". */
    CHECK_RC(ts_set_subscription(s, "ann", TS_SUB_UNSUBSCRIBED, 20), TS_OK);
    CHECK_RC(ts_set_subscription(s, "ann", TS_SUB_SUBSCRIBED, 15), TS_STALE);
    CHECK_RC(ts_get_user(s, "ann", &sub, &opted, &unsub), TS_OK);
    CHECK(sub == TS_SUB_UNSUBSCRIBED && unsub == 20);
    CHECK(segment_count(s, TS_SEGMENT_FOREGROUND_PUSH_ENABLED, NULL) == 1);
    CHECK(segment_count(s, TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, "app1") == 1);
    CHECK(segment_count(s, TS_SEGMENT_UNSUBSCRIBED, NULL) == 1);
    memset(&log, 0, sizeof log);
    CHECK_RC(ts_changelog(s, "ann", collect_change, &log), TS_OK);
    CHECK(find_change(&log, TS_CHANGE_SUBSCRIPTION) != NULL);
    if (find_change(&log, TS_CHANGE_SUBSCRIPTION))
        CHECK(strcmp(find_change(&log, TS_CHANGE_SUBSCRIPTION)->detail, "unsubscribed") == 0);

    /* bob turns notifications on; cat turns them off. */
    CHECK_RC(ts_set_authorization(s, "d-bob", "app1", TS_AUTH_FOREGROUND, 30), TS_OK);
    CHECK_RC(ts_set_authorization(s, "d-cat", "app2", TS_AUTH_BACKGROUND, 30), TS_OK);
    CHECK_RC(ts_set_authorization(s, "d-cat", "app2", TS_AUTH_FOREGROUND, 25), TS_STALE);
    CHECK_RC(ts_set_authorization(s, "d-none", "app2", TS_AUTH_FOREGROUND, 30), TS_NOTFOUND);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_get(s, "d-cat", "app2", collect_token, &sink), TS_OK);
    CHECK(sink.items[0].authorization == TS_AUTH_BACKGROUND);
    memset(&log, 0, sizeof log);
    CHECK_RC(ts_changelog(s, "cat", collect_change, &log), TS_OK);
    CHECK(find_change(&log, TS_CHANGE_AUTHORIZATION) != NULL);
    CHECK(segment_count(s, TS_SEGMENT_FOREGROUND_PUSH_ENABLED, NULL) == 1); /* bob */
    CHECK(segment_count(s, TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, "app1") == 2);

    /* Sendable: visible needs foreground + not unsubscribed; silent takes any. */
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_sendable_tokens(s, "ann", "app1", TS_PUSH_VISIBLE, collect_token, &sink), TS_OK);
    CHECK(sink.calls == 0);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_sendable_tokens(s, "ann", "app1", TS_PUSH_SILENT, collect_token, &sink), TS_OK);
    CHECK(sink.calls == 1 && strcmp(sink.items[0].token, APNS_A) == 0);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_sendable_tokens(s, "cat", "app2", TS_PUSH_VISIBLE, collect_token, &sink), TS_OK);
    CHECK(sink.calls == 0);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_sendable_tokens(s, "bob", "app1", TS_PUSH_VISIBLE, collect_token, &sink), TS_OK);
    CHECK(sink.calls == 1 && strcmp(sink.items[0].token, FCM_A) == 0 && strcmp(sink.items[0].user_id, "bob") == 0);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_sendable_tokens(s, "bob", "app2", TS_PUSH_SILENT, collect_token, &sink), TS_OK);
    CHECK(sink.calls == 0);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_sendable_tokens(s, "nobody", "app1", TS_PUSH_SILENT, collect_token, &sink), TS_OK);
    CHECK(sink.calls == 0);

    CHECK_RC(ts_close(s), TS_OK);
}

static void test_bounce(void) {
    ts_store *s = open_fresh("bounce", NULL);
    ts_store *q;
    ts_options o;
    int outcome = -1, category = -1, calls = 0;
    token_sink sink;
    change_sink log;
    const seen_change *c;

    CHECK_RC(ts_register(s, "d1", "app", APNS_A, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, "kim", 1000), TS_OK);
    CHECK_RC(ts_register(s, "d2", "app", FCM_A, TS_PLATFORM_ANDROID, TS_AUTH_FOREGROUND, "kim", 1000), TS_OK);
    CHECK_RC(ts_set_subscription(s, "kim", TS_SUB_OPTED_IN, 1000), TS_OK);

    /* Transient and payload problems keep the token. */
    CHECK_RC(ts_bounce_ex(s, FCM_A, "429", 0, 1100, &outcome, &category), TS_OK);
    CHECK(outcome == TS_BOUNCE_KEPT && category == TS_CATEGORY_TRANSIENT);
    CHECK_RC(ts_bounce_ex(s, FCM_A, "MessageTooBig", 0, 1100, &outcome, &category), TS_OK);
    CHECK(outcome == TS_BOUNCE_KEPT && category == TS_CATEGORY_PAYLOAD);
    CHECK_RC(ts_bounce_ex(s, FCM_A, "SomethingNew", 0, 1100, &outcome, &category), TS_OK);
    CHECK(outcome == TS_BOUNCE_KEPT && category == TS_CATEGORY_UNKNOWN);
    CHECK(count_tokens(s) == 2);

    /* APNs 410 with a provider timestamp older than the latest registration: stale. */
    CHECK_RC(ts_bounce(s, APNS_A, "Unregistered", 900, 1200, &outcome), TS_OK);
    CHECK(outcome == TS_BOUNCE_STALE);
    CHECK(count_tokens(s) == 2);
    /* A tie applies the bounce. */
    CHECK_RC(ts_bounce_ex(s, APNS_A, "Unregistered", 1000, 1200, &outcome, &category), TS_OK);
    CHECK(outcome == TS_BOUNCE_REMOVED && category == TS_CATEGORY_DEAD);
    CHECK(count_tokens(s) == 1);
    CHECK_RC(ts_get(s, "d1", "app", never_called, &calls), TS_NOTFOUND);
    CHECK_RC(ts_bounce(s, APNS_A, "Unregistered", 0, 1300, &outcome), TS_NOTFOUND);
    CHECK(outcome == 0);

    /* Mismatch removes by default; the user's subscription is untouched. */
    CHECK_RC(ts_bounce(s, FCM_A, "MismatchSenderId", 0, 1400, &outcome), TS_OK);
    CHECK(outcome == TS_BOUNCE_REMOVED);
    CHECK(count_tokens(s) == 0);
    {
        int sub = 0;
        CHECK_RC(ts_get_user(s, "kim", &sub, NULL, NULL), TS_OK);
        CHECK(sub == TS_SUB_OPTED_IN);
    }
    memset(&log, 0, sizeof log);
    CHECK_RC(ts_changelog(s, "kim", collect_change, &log), TS_OK);
    c = find_change(&log, TS_CHANGE_BOUNCED);
    CHECK(c != NULL);
    if (c) CHECK(strcmp(c->detail, "Unregistered") == 0 || strcmp(c->detail, "MismatchSenderId") == 0);
    CHECK_RC(ts_close(s), TS_OK);

    /* With quarantine, a mismatch keeps the token readable but unsendable. */
    ts_options_init(&o);
    o.quarantine_misconfigured = 1;
    q = open_fresh("quarantine", &o);
    CHECK_RC(ts_register(q, "d1", "app", APNS_A, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, "kim", 1000), TS_OK);
    CHECK_RC(ts_bounce_ex(q, APNS_A, "DeviceTokenNotForTopic", 0, 1100, &outcome, &category), TS_OK);
    CHECK(outcome == TS_BOUNCE_QUARANTINED && category == TS_CATEGORY_MISCONFIGURED);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_get(q, "d1", "app", collect_token, &sink), TS_OK);
    CHECK(sink.calls == 1 && sink.items[0].quarantined != 0);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_sendable_tokens(q, "kim", "app", TS_PUSH_SILENT, collect_token, &sink), TS_OK);
    CHECK(sink.calls == 0);
    CHECK(segment_count(q, TS_SEGMENT_BACKGROUND_OR_FOREGROUND_PUSH_ENABLED, NULL) == 0);
    /* Registering again lifts the quarantine. */
    CHECK_RC(ts_register(q, "d1", "app", APNS_A, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, NULL, 1200), TS_OK);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_sendable_tokens(q, "kim", "app", TS_PUSH_VISIBLE, collect_token, &sink), TS_OK);
    CHECK(sink.calls == 1 && sink.items[0].quarantined == 0);
    CHECK_RC(ts_close(q), TS_OK);
}

static void test_uninstall_and_sweep(void) {
    ts_store *s = open_fresh("sweep", NULL);
    uint64_t removed = 99;
    int calls = 0;
    change_sink log;

    CHECK_RC(ts_register(s, "d1", "app", APNS_A, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, "kim", 1000), TS_OK);
    CHECK_RC(ts_register(s, "d2", "app", FCM_A, TS_PLATFORM_ANDROID, TS_AUTH_FOREGROUND, "kim", 1000), TS_OK);
    CHECK_RC(ts_register(s, "d3", "app", WEB_A, TS_PLATFORM_WEB, TS_AUTH_FOREGROUND, "kim", 5000), TS_OK);
    CHECK_RC(ts_register(s, "d4", "app", APNS_B, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, "kim", 1000), TS_OK);

    CHECK_RC(ts_uninstall(s, "d4", "app", 900), TS_STALE);
    CHECK_RC(ts_uninstall(s, "d4", "app", 1100), TS_OK);
    CHECK_RC(ts_uninstall(s, "d4", "app", 1200), TS_NOTFOUND);
    CHECK_RC(ts_get(s, "d4", "app", never_called, &calls), TS_NOTFOUND);
    CHECK(count_tokens(s) == 3);

    /* Only android, strictly older than the bound. */
    CHECK_RC(ts_sweep_at(s, TS_PLATFORM_ANDROID, 1000, 6000, &removed), TS_OK);
    CHECK(removed == 0);
    CHECK_RC(ts_sweep_at(s, TS_PLATFORM_ANDROID, 1001, 6000, &removed), TS_OK);
    CHECK(removed == 1);
    /* All platforms; the wall-clock variant. */
    CHECK_RC(ts_sweep(s, 0, 2000, &removed), TS_OK);
    CHECK(removed == 1);
    CHECK(count_tokens(s) == 1);

    memset(&log, 0, sizeof log);
    CHECK_RC(ts_changelog(s, "kim", collect_change, &log), TS_OK);
    CHECK(find_change(&log, TS_CHANGE_UNINSTALLED) != NULL);
    CHECK(find_change(&log, TS_CHANGE_EXPIRED) != NULL);
    if (find_change(&log, TS_CHANGE_EXPIRED)) CHECK(find_change(&log, TS_CHANGE_EXPIRED)->at_ms == 6000);
    CHECK_RC(ts_close(s), TS_OK);
}

static void test_user_tokens_export_stats(void) {
    ts_store *s = open_fresh("export", NULL);
    token_sink sink;
    char *json = (char *)&json;
    size_t len = 77;
    ts_store_stats st;
    int calls = 0;

    CHECK_RC(ts_register(s, "d1", "app", APNS_A, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, "kim", 10), TS_OK);
    CHECK_RC(ts_register(s, "d2", "app", FCM_A, TS_PLATFORM_ANDROID, TS_AUTH_BACKGROUND, "kim", 10), TS_OK);
    CHECK_RC(ts_register(s, "d3", "app", WEB_A, TS_PLATFORM_WEB, TS_AUTH_FOREGROUND, "kim", 10), TS_OK);
    CHECK_RC(ts_set_subscription(s, "kim", TS_SUB_OPTED_IN, 10), TS_OK);

    memset(&sink, 0, sizeof sink);
    CHECK_RC(ts_user_tokens(s, "kim", collect_token, &sink), TS_OK);
    CHECK(sink.calls == 3);
    memset(&sink, 0, sizeof sink);
    sink.stop_after = 2;
    CHECK_RC(ts_user_tokens(s, "kim", collect_token, &sink), TS_OK);
    CHECK(sink.calls == 2);
    CHECK_RC(ts_user_tokens(s, "nobody", never_called, &calls), TS_OK);
    CHECK(calls == 0);

    CHECK_RC(ts_export_user_json(s, "kim", &json, &len), TS_OK);
    REQUIRE(json != NULL);
    CHECK(strlen(json) == len);
    CHECK(strstr(json, "\"external_id\"") != NULL && strstr(json, "\"kim\"") != NULL);
    CHECK(strstr(json, "\"push_subscribe\"") != NULL && strstr(json, "\"opted_in\"") != NULL);
    CHECK(strstr(json, "\"push_tokens\"") != NULL && strstr(json, APNS_A) != NULL);
    CHECK(strstr(json, "\"notifications_enabled\"") != NULL);
    ts_free(json);
    json = NULL;
    CHECK_RC(ts_export_user_json(s, "kim", &json, NULL), TS_OK); /* out_len optional */
    CHECK(json != NULL);
    ts_free(json);
    json = (char *)&json;
    len = 5;
    CHECK_RC(ts_export_user_json(s, "nobody", &json, &len), TS_NOTFOUND);
    CHECK(json == NULL && len == 0);
    ts_free(NULL);

    memset(&st, 0xEE, sizeof st);
    st.version = TS_STATS_VERSION;
    CHECK_RC(ts_stats(s, &st), TS_OK);
    CHECK(st.version == TS_STATS_VERSION && st.reserved == 0);
    CHECK(st.tokens == 3 && st.users == 1 && st.quarantined == 0);
    CHECK(st.by_platform[0] == 0 && st.by_platform[TS_PLATFORM_IOS] == 1 &&
          st.by_platform[TS_PLATFORM_ANDROID] == 1 && st.by_platform[TS_PLATFORM_WEB] == 1);
    CHECK(st.by_authorization[TS_AUTH_FOREGROUND] == 2 && st.by_authorization[TS_AUTH_BACKGROUND] == 1);
    CHECK(st.bounces_by_outcome[TS_BOUNCE_REMOVED] == 0 && st.bounces_by_category[TS_CATEGORY_DEAD] == 0);
    {
        int outcome = 0;
        CHECK_RC(ts_bounce(s, FCM_A, "NotRegistered", 0, 20, &outcome), TS_OK);
        CHECK_RC(ts_stats(s, &st), TS_OK);
        CHECK(st.tokens == 2 && st.bounces_by_outcome[TS_BOUNCE_REMOVED] == 1 &&
              st.bounces_by_category[TS_CATEGORY_DEAD] == 1);
    }
    CHECK_RC(ts_close(s), TS_OK);
}

/* ---- campaign tokens and batched gets ------------------------------------------------- */

/* A growing list of "device|app|token|user" lines, compared as sorted sets. */
typedef struct line_list {
    size_t count, capacity;
    char **items;
} line_list;

static void line_add(line_list *list, const ts_token_view *v) {
    size_t len = v->device_id_len + v->app_id_len + v->token_len + v->user_id_len + 4;
    char *line = (char *)malloc(len);
    REQUIRE(line != NULL);
    snprintf(line, len, "%.*s|%.*s|%.*s|%.*s", (int)v->device_id_len, v->device_id, (int)v->app_id_len, v->app_id,
             (int)v->token_len, v->token, (int)v->user_id_len, v->user_id);
    if (list->count == list->capacity) {
        list->capacity = list->capacity ? 2 * list->capacity : 64;
        list->items = (char **)realloc(list->items, list->capacity * sizeof *list->items);
        REQUIRE(list->items != NULL);
    }
    list->items[list->count++] = line;
}

static int compare_lines(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void line_free(line_list *list) {
    size_t i;
    for (i = 0; i < list->count; i++) free(list->items[i]);
    free(list->items);
    memset(list, 0, sizeof *list);
}

static int add_line(void *ctx, const ts_token_view *v) {
    line_add((line_list *)ctx, v);
    return 0;
}

/* The composition a sender writes today: the segment's users, copied, then each one's
   sendable tokens. */
typedef struct id_list {
    size_t count;
    char ids[64][300];
} id_list;

static int add_id(void *ctx, const char *user_id, size_t len) {
    id_list *list = (id_list *)ctx;
    REQUIRE(list->count < 64);
    copy_text(list->ids[list->count++], 300, user_id, len);
    return 0;
}

static void composition(ts_store *s, int segment, const char *segment_app, const char *app, int kind,
                        line_list *out) {
    id_list users;
    size_t i;
    memset(&users, 0, sizeof users);
    CHECK_RC(ts_segment_users(s, segment, segment_app, add_id, &users), TS_OK);
    for (i = 0; i < users.count; i++)
        CHECK_RC(ts_sendable_tokens(s, users.ids[i], app, kind, add_line, out), TS_OK);
}

/* A deterministic generator, so a failure replays. */
static uint32_t lcg_state = 12345;
static uint32_t lcg(uint32_t n) {
    lcg_state = lcg_state * 1103515245u + 12345u;
    return (lcg_state >> 8) % n;
}

static const char *const campaign_apps[] = {"app1", "app2", "app3"};
static const char *const campaign_users[] = {"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"};

/* Random registrations, moves, authorization and subscription changes, quarantining and
   removing bounces and uninstalls, on a store that quarantines misconfiguration bounces.
   Users u10..u12 only ever get a subscription: users without tokens. */
static ts_store *campaign_store(char tokens[][80], int *token_count) {
    ts_options o;
    ts_store *s;
    int step, n = 0, outcome;
    char device[32], user[16];
    ts_options_init(&o);
    o.quarantine_misconfigured = 1;
    o.shards = 4;
    s = open_fresh("campaign", &o);
    lcg_state = 12345;
    for (step = 0; step < 1500; step++) {
        int64_t at = 1000 + step;
        const char *app = campaign_apps[lcg(3)];
        const char *owner = lcg(8) == 0 ? NULL : campaign_users[lcg(10)];
        snprintf(device, sizeof device, "device-%u", lcg(40));
        switch (lcg(10)) {
        case 0: case 1: case 2: case 3:
            snprintf(tokens[n], 80, "token-%d-%u", step, lcg(1000));
            CHECK_RC(ts_register(s, device, app, tokens[n], 1 + (int)lcg(3), 1 + (int)lcg(3), owner, at), TS_OK);
            if (n < 999) n++;
            break;
        case 4:
            (void)ts_change_user(s, device, app, owner, at);
            break;
        case 5:
            (void)ts_set_authorization(s, device, app, 1 + (int)lcg(3), at);
            break;
        case 6:
            CHECK_RC(ts_set_subscription(s, campaign_users[lcg(10)], 1 + (int)lcg(3), at), TS_OK);
            break;
        case 7:
            /* Recent tokens, which are more often still live. */
            if (n > 0) (void)ts_bounce(s, tokens[n - 1 - (int)lcg((uint32_t)(n < 20 ? n : 20))],
                                       lcg(2) ? "MismatchSenderId" : "429", 0, at, &outcome);
            break;
        case 8:
            if (n > 0) (void)ts_bounce(s, tokens[lcg((uint32_t)n)], "Unregistered", 0, at, &outcome);
            break;
        default:
            (void)ts_uninstall(s, device, app, at);
            break;
        }
    }
    /* Owned tokens quarantined last, so that some stay quarantined whatever the draw. */
    for (step = 0; step < 6; step++) {
        snprintf(device, sizeof device, "quarantined-%d", step);
        snprintf(tokens[n], 80, "quarantined-token-%d", step);
        CHECK_RC(ts_register(s, device, campaign_apps[step % 3], tokens[n], TS_PLATFORM_IOS,
                             step % 2 ? TS_AUTH_FOREGROUND : TS_AUTH_PROVISIONAL, campaign_users[step], 4000), TS_OK);
        CHECK_RC(ts_bounce(s, tokens[n], "MismatchSenderId", 0, 4001, &outcome), TS_OK);
        CHECK(outcome == TS_BOUNCE_QUARANTINED);
        if (n < 999) n++;
    }
    for (step = 10; step < 13; step++) {
        snprintf(user, sizeof user, "u%d", step);
        CHECK_RC(ts_set_subscription(s, user, 1 + step % 3, 5000), TS_OK);
    }
    *token_count = n;
    return s;
}

static int stop_at_first(void *ctx, const ts_token_view *v) {
    (void)v;
    ++*(int *)ctx;
    return 1;
}

static void test_campaign_tokens(void) {
    static char tokens[1000][80];
    int token_count = 0, segment, kind, calls;
    size_t a, i, compared = 0, streamed = 0;
    ts_store_stats st;
    ts_store *s = campaign_store(tokens, &token_count);
    static const char *const apps[] = {"app1", "app2", "app3", "app-unknown"};

    /* The workload made every case the equality must cover. */
    st.version = TS_STATS_VERSION;
    CHECK_RC(ts_stats(s, &st), TS_OK);
    CHECK(st.quarantined > 0);
    CHECK(st.by_authorization[TS_AUTH_PROVISIONAL] > 0 && st.by_authorization[TS_AUTH_BACKGROUND] > 0);
    CHECK(segment_count(s, TS_SEGMENT_UNSUBSCRIBED, NULL) > 0);

    /* Every segment (the per-app one for each app), push kind and campaign app. */
    for (segment = 1; segment <= 6; segment++) {
        size_t segment_apps = segment == TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP ? 4 : 1;
        size_t sa;
        for (sa = 0; sa < segment_apps; sa++) {
            const char *segment_app = segment == TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP ? apps[sa] : NULL;
            for (kind = TS_PUSH_VISIBLE; kind <= TS_PUSH_SILENT; kind++) {
                for (a = 0; a < 4; a++) {
                    line_list one, two;
                    memset(&one, 0, sizeof one);
                    memset(&two, 0, sizeof two);
                    CHECK_RC(ts_campaign_tokens(s, segment, segment_app, apps[a], kind, add_line, &one), TS_OK);
                    composition(s, segment, segment_app, apps[a], kind, &two);
                    qsort(one.items, one.count, sizeof *one.items, compare_lines);
                    qsort(two.items, two.count, sizeof *two.items, compare_lines);
                    CHECK(one.count == two.count);
                    for (i = 0; i < one.count && i < two.count; i++) CHECK(strcmp(one.items[i], two.items[i]) == 0);
                    for (i = 1; i < one.count; i++) CHECK(strcmp(one.items[i - 1], one.items[i]) != 0); /* once each */
                    compared++;
                    streamed += one.count;
                    line_free(&one);
                    line_free(&two);
                }
            }
        }
    }
    CHECK(compared == (5 + 4) * 2 * 4);
    CHECK(streamed > 100); /* the comparison compared tokens, not empty sets */

    /* A non-zero return stops the call, which still succeeds. */
    calls = 0;
    CHECK_RC(ts_campaign_tokens(s, TS_SEGMENT_SUBSCRIBED, NULL, "app1", TS_PUSH_SILENT, stop_at_first, &calls), TS_OK);
    CHECK(calls == 1);
    CHECK_RC(ts_close(s), TS_OK);
}

/* Copies of what ts_get_many reported, per index. */
typedef struct batch_sink {
    int calls;
    int stop_after;
    size_t last_index;
    int in_order;
    int status[200];
    line_list lines; /* found keys only, in index order */
} batch_sink;

static int collect_batch(void *ctx, size_t index, int status, const ts_token_view *v) {
    batch_sink *sink = (batch_sink *)ctx;
    if (sink->calls > 0 && index != sink->last_index + 1) sink->in_order = 0;
    if (sink->calls == 0 && index != 0) sink->in_order = 0;
    sink->last_index = index;
    if (index < 200) sink->status[index] = status;
    CHECK((status == TS_OK) == (v != NULL));
    CHECK(status == TS_OK || status == TS_NOTFOUND);
    if (v) line_add(&sink->lines, v);
    sink->calls++;
    return sink->stop_after && sink->calls >= sink->stop_after;
}

static int never_called_batch(void *ctx, size_t index, int status, const ts_token_view *v) {
    (void)index;
    (void)status;
    (void)v;
    ++*(int *)ctx;
    return 0;
}

static void test_get_many(void) {
    static char tokens[1000][80];
    static char devices[200][32];
    const char *device_ids[200], *app_ids[200], *saved;
    int token_count = 0, calls = 0, found = 0;
    size_t n = 0, i;
    batch_sink sink;
    line_list expected;
    ts_store *s = campaign_store(tokens, &token_count);
    static char long_device[TS_MAX_DEVICE_ID_BYTES + 2];

    /* Every key the workload could have written, some of them empty by now, and keys it never
       wrote: more than two batches of 64. */
    for (i = 0; i < 40; i++) {
        size_t a;
        for (a = 0; a < 3; a++, n++) {
            snprintf(devices[n], sizeof devices[n], "device-%u", (unsigned)i);
            device_ids[n] = devices[n];
            app_ids[n] = campaign_apps[a];
        }
    }
    for (i = 0; i < 20; i++, n++) {
        snprintf(devices[n], sizeof devices[n], "never-%u", (unsigned)i);
        device_ids[n] = devices[n];
        app_ids[n] = campaign_apps[i % 3];
    }

    memset(&sink, 0, sizeof sink);
    sink.in_order = 1;
    memset(&expected, 0, sizeof expected);
    CHECK_RC(ts_get_many(s, n, device_ids, app_ids, collect_batch, &sink), TS_OK);
    CHECK(sink.calls == (int)n && sink.in_order);
    for (i = 0; i < n; i++) {
        int rc = ts_get(s, device_ids[i], app_ids[i], add_line, &expected);
        CHECK(rc == sink.status[i]);
        if (rc == TS_OK) found++;
    }
    CHECK(found > 0 && found < (int)n); /* both outcomes were compared */
    CHECK(sink.lines.count == expected.count);
    for (i = 0; i < sink.lines.count && i < expected.count; i++)
        CHECK(strcmp(sink.lines.items[i], expected.items[i]) == 0);
    line_free(&sink.lines);
    line_free(&expected);

    /* A non-zero return stops the call, which still succeeds; n = 0 calls nothing. */
    memset(&sink, 0, sizeof sink);
    sink.in_order = 1;
    sink.stop_after = 70;
    CHECK_RC(ts_get_many(s, n, device_ids, app_ids, collect_batch, &sink), TS_OK);
    CHECK(sink.calls == 70 && sink.in_order);
    line_free(&sink.lines);
    CHECK_RC(ts_get_many(s, 0, device_ids, app_ids, never_called_batch, &calls), TS_OK);

    /* Bad inputs: nothing is called, wherever the bad element is. */
    memset(long_device, 'd', TS_MAX_DEVICE_ID_BYTES + 1);
    CHECK_RC(ts_get_many(NULL, n, device_ids, app_ids, never_called_batch, &calls), TS_EINVAL);
    CHECK_RC(ts_get_many(s, n, NULL, app_ids, never_called_batch, &calls), TS_EINVAL);
    CHECK_RC(ts_get_many(s, n, device_ids, NULL, never_called_batch, &calls), TS_EINVAL);
    CHECK_RC(ts_get_many(s, 0, NULL, app_ids, never_called_batch, &calls), TS_EINVAL);
    CHECK_RC(ts_get_many(s, n, device_ids, app_ids, NULL, NULL), TS_EINVAL);
    CHECK_RC(ts_get_many(s, (size_t)-1, device_ids, app_ids, never_called_batch, &calls), TS_EINVAL);
    {
        static const char *const bad[] = {NULL, "", "\xff", "abc\xc3", "\xed\xa0\x80", long_device};
        size_t b, at;
        const size_t positions[] = {0, 63, 64, 139};
        for (b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            for (at = 0; at < sizeof positions / sizeof positions[0]; at++) {
                size_t p = positions[at];
                saved = device_ids[p];
                device_ids[p] = bad[b];
                CHECK_RC(ts_get_many(s, n, device_ids, app_ids, never_called_batch, &calls), TS_EINVAL);
                device_ids[p] = saved;
                saved = app_ids[p];
                app_ids[p] = bad[b];
                CHECK_RC(ts_get_many(s, n, device_ids, app_ids, never_called_batch, &calls), TS_EINVAL);
                app_ids[p] = saved;
            }
        }
    }
    CHECK(calls == 0);
    CHECK_RC(ts_close(s), TS_OK);
}

static void test_campaign_bad_inputs(void) {
    ts_store *s = open_fresh("campaign-bad", NULL);
    static char long_app[TS_MAX_APP_ID_BYTES + 2];
    static const char *const bad_strings[] = {"", "\xff", "abc\xc3", "\xc0\xaf", "\xed\xa0\x80", long_app};
    static const int bad_enum[] = {0, 3, 4, -1, 257, INT_MAX, INT_MIN};
    int calls = 0;
    size_t i;

    memset(long_app, 'a', TS_MAX_APP_ID_BYTES + 1);
    CHECK_RC(ts_register(s, "dev", "app", APNS_A, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, "kim", 1000), TS_OK);

    CHECK_RC(ts_campaign_tokens(NULL, TS_SEGMENT_SUBSCRIBED, NULL, "app", TS_PUSH_VISIBLE, never_called, &calls),
             TS_EINVAL);
    CHECK_RC(ts_campaign_tokens(s, TS_SEGMENT_SUBSCRIBED, NULL, "app", TS_PUSH_VISIBLE, NULL, NULL), TS_EINVAL);
    CHECK_RC(ts_campaign_tokens(s, TS_SEGMENT_SUBSCRIBED, NULL, NULL, TS_PUSH_VISIBLE, never_called, &calls),
             TS_EINVAL);
    /* The segment's app is required exactly for the per-app segment. */
    CHECK_RC(ts_campaign_tokens(s, TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, NULL, "app", TS_PUSH_VISIBLE,
                                never_called, &calls),
             TS_EINVAL);
    CHECK_RC(ts_campaign_tokens(s, TS_SEGMENT_SUBSCRIBED, "app", "app", TS_PUSH_VISIBLE, never_called, &calls),
             TS_EINVAL);
    for (i = 0; i < sizeof bad_strings / sizeof bad_strings[0]; i++) {
        CHECK_RC(ts_campaign_tokens(s, TS_SEGMENT_SUBSCRIBED, NULL, bad_strings[i], TS_PUSH_SILENT, never_called,
                                    &calls),
                 TS_EINVAL);
        CHECK_RC(ts_campaign_tokens(s, TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, bad_strings[i], "app",
                                    TS_PUSH_SILENT, never_called, &calls),
                 TS_EINVAL);
    }
    for (i = 0; i < sizeof bad_enum / sizeof bad_enum[0]; i++) {
        int v = bad_enum[i];
        CHECK_RC(ts_campaign_tokens(s, TS_SEGMENT_SUBSCRIBED, NULL, "app", v, never_called, &calls), TS_EINVAL);
        /* 3 and 4 are segments: 7 stands in for them. */
        CHECK_RC(ts_campaign_tokens(s, v == 3 || v == 4 ? 7 : v, NULL, "app", TS_PUSH_SILENT, never_called, &calls),
                 TS_EINVAL);
    }
    CHECK(calls == 0);
    /* The same call with good arguments does stream the token. */
    CHECK_RC(ts_campaign_tokens(s, TS_SEGMENT_SUBSCRIBED, NULL, "app", TS_PUSH_VISIBLE, never_called, &calls), TS_OK);
    CHECK(calls == 1);
    CHECK_RC(ts_close(s), TS_OK);
}

/* ---- bad input: every function, nothing changes --------------------------------------- */

static void test_bad_inputs(void) {
    ts_store *s = open_fresh("bad-input", NULL);
    static char long_device[TS_MAX_DEVICE_ID_BYTES + 2];
    static char long_app[TS_MAX_APP_ID_BYTES + 2];
    static char long_user[TS_MAX_USER_ID_BYTES + 2];
    static char long_token[TS_MAX_TOKEN_BYTES + 2];
    static char long_code[TS_MAX_ERROR_CODE_BYTES + 2];
    static const char *const bad_utf8[] = {
        "\xff",                 /* never valid */
        "abc\xc3",              /* truncated sequence */
        "\xc3\x28",             /* bad continuation */
        "\xc0\xaf",             /* overlong '/' */
        "\xed\xa0\x80",         /* UTF-16 surrogate */
        "\xf4\x90\x80\x80",     /* beyond U+10FFFF */
        "\x80",                 /* lone continuation */
    };
    static const int bad_enum[] = {0, 4, -1, 257, 513, INT_MAX, INT_MIN};
    char *unterminated;
    size_t i;
    int outcome = 5, category = 5, calls = 0, sub = 5;
    uint64_t n = 5;
    int64_t t1 = 5, t2 = 5;
    char *json = (char *)&json;
    size_t len = 5;
    ts_store_stats st;
    const char *D = "dev", *A = "app", *T = APNS_A, *U = "kim";

    memset(long_device, 'd', TS_MAX_DEVICE_ID_BYTES + 1);
    memset(long_app, 'a', TS_MAX_APP_ID_BYTES + 1);
    memset(long_user, 'u', TS_MAX_USER_ID_BYTES + 1);
    memset(long_token, 't', TS_MAX_TOKEN_BYTES + 1);
    memset(long_code, 'c', TS_MAX_ERROR_CODE_BYTES + 1);

    /* A baseline record so "nothing changes" can be checked. */
    CHECK_RC(ts_register(s, D, A, T, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, U, 1000), TS_OK);

    /* NULL handle, every function. */
    CHECK_RC(ts_sync(NULL), TS_EINVAL);
    CHECK_RC(ts_checkpoint(NULL), TS_EINVAL);
    CHECK_RC(ts_register(NULL, D, A, T, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, U, 1), TS_EINVAL);
    CHECK_RC(ts_change_user(NULL, D, A, U, 2000), TS_EINVAL);
    CHECK_RC(ts_set_authorization(NULL, D, A, TS_AUTH_BACKGROUND, 2000), TS_EINVAL);
    CHECK_RC(ts_set_subscription(NULL, U, TS_SUB_OPTED_IN, 2000), TS_EINVAL);
    CHECK_RC(ts_bounce(NULL, T, "Unregistered", 0, 2000, &outcome), TS_EINVAL);
    CHECK(outcome == 0);
    CHECK_RC(ts_bounce_ex(NULL, T, "Unregistered", 0, 2000, &outcome, &category), TS_EINVAL);
    CHECK_RC(ts_uninstall(NULL, D, A, 2000), TS_EINVAL);
    CHECK_RC(ts_sweep(NULL, 0, 5000, &n), TS_EINVAL);
    CHECK(n == 0);
    CHECK_RC(ts_sweep_at(NULL, 0, 5000, 5000, &n), TS_EINVAL);
    CHECK_RC(ts_get(NULL, D, A, never_called, &calls), TS_EINVAL);
    CHECK_RC(ts_user_tokens(NULL, U, never_called, &calls), TS_EINVAL);
    CHECK_RC(ts_sendable_tokens(NULL, U, A, TS_PUSH_SILENT, never_called, &calls), TS_EINVAL);
    CHECK_RC(ts_get_user(NULL, U, &sub, &t1, &t2), TS_EINVAL);
    CHECK_RC(ts_segment_count(NULL, TS_SEGMENT_SUBSCRIBED, NULL, &n), TS_EINVAL);
    CHECK_RC(ts_segment_users(NULL, TS_SEGMENT_SUBSCRIBED, NULL, never_called_user, &calls), TS_EINVAL);
    CHECK_RC(ts_changelog(NULL, U, never_called_change, &calls), TS_EINVAL);
    CHECK_RC(ts_export_user_json(NULL, U, &json, &len), TS_EINVAL);
    CHECK(json == NULL && len == 0);
    CHECK_RC(ts_count(NULL, &n), TS_EINVAL);
    st.version = TS_STATS_VERSION;
    CHECK_RC(ts_stats(NULL, &st), TS_EINVAL);

    /* NULL out-params and callbacks. */
    CHECK_RC(ts_bounce(s, T, "Unregistered", 0, 2000, NULL), TS_EINVAL);
    CHECK_RC(ts_bounce_ex(s, T, "Unregistered", 0, 2000, &outcome, NULL), TS_EINVAL);
    CHECK_RC(ts_bounce_ex(s, T, "Unregistered", 0, 2000, NULL, &category), TS_EINVAL);
    CHECK_RC(ts_sweep(s, 0, 5000, NULL), TS_EINVAL);
    CHECK_RC(ts_sweep_at(s, 0, 5000, 5000, NULL), TS_EINVAL);
    CHECK_RC(ts_get(s, D, A, NULL, NULL), TS_EINVAL);
    CHECK_RC(ts_user_tokens(s, U, NULL, NULL), TS_EINVAL);
    CHECK_RC(ts_sendable_tokens(s, U, A, TS_PUSH_SILENT, NULL, NULL), TS_EINVAL);
    CHECK_RC(ts_get_user(s, U, NULL, &t1, &t2), TS_EINVAL);
    CHECK_RC(ts_segment_count(s, TS_SEGMENT_SUBSCRIBED, NULL, NULL), TS_EINVAL);
    CHECK_RC(ts_segment_users(s, TS_SEGMENT_SUBSCRIBED, NULL, NULL, NULL), TS_EINVAL);
    CHECK_RC(ts_changelog(s, U, NULL, NULL), TS_EINVAL);
    CHECK_RC(ts_export_user_json(s, U, NULL, &len), TS_EINVAL);
    CHECK_RC(ts_count(s, NULL), TS_EINVAL);
    CHECK_RC(ts_stats(s, NULL), TS_EINVAL);
    st.version = 0;
    CHECK_RC(ts_stats(s, &st), TS_EINVAL);
    st.version = 99;
    CHECK_RC(ts_stats(s, &st), TS_EINVAL);

    /* Bad strings: NULL, empty, oversize, invalid UTF-8, in every string position. */
#define BAD_STRING_CALLS(X)                                                                          \
    CHECK_RC(ts_register(s, X, A, T, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, U, 2000), TS_EINVAL);      \
    CHECK_RC(ts_register(s, D, X, T, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, U, 2000), TS_EINVAL);      \
    CHECK_RC(ts_register(s, D, A, X, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, U, 2000), TS_EINVAL);      \
    CHECK_RC(ts_change_user(s, X, A, U, 2000), TS_EINVAL);                                           \
    CHECK_RC(ts_change_user(s, D, X, U, 2000), TS_EINVAL);                                           \
    CHECK_RC(ts_set_authorization(s, X, A, TS_AUTH_BACKGROUND, 2000), TS_EINVAL);                    \
    CHECK_RC(ts_set_authorization(s, D, X, TS_AUTH_BACKGROUND, 2000), TS_EINVAL);                    \
    CHECK_RC(ts_set_subscription(s, X, TS_SUB_UNSUBSCRIBED, 2000), TS_EINVAL);                       \
    CHECK_RC(ts_bounce(s, X, "Unregistered", 0, 2000, &outcome), TS_EINVAL);                         \
    CHECK_RC(ts_bounce(s, T, X, 0, 2000, &outcome), TS_EINVAL);                                      \
    CHECK_RC(ts_bounce_ex(s, X, "Unregistered", 0, 2000, &outcome, &category), TS_EINVAL);           \
    CHECK_RC(ts_uninstall(s, X, A, 2000), TS_EINVAL);                                                \
    CHECK_RC(ts_uninstall(s, D, X, 2000), TS_EINVAL);                                                \
    CHECK_RC(ts_get(s, X, A, never_called, &calls), TS_EINVAL);                                      \
    CHECK_RC(ts_get(s, D, X, never_called, &calls), TS_EINVAL);                                      \
    CHECK_RC(ts_user_tokens(s, X, never_called, &calls), TS_EINVAL);                                 \
    CHECK_RC(ts_sendable_tokens(s, X, A, TS_PUSH_SILENT, never_called, &calls), TS_EINVAL);          \
    CHECK_RC(ts_sendable_tokens(s, U, X, TS_PUSH_SILENT, never_called, &calls), TS_EINVAL);          \
    CHECK_RC(ts_get_user(s, X, &sub, &t1, &t2), TS_EINVAL);                                          \
    CHECK_RC(ts_changelog(s, X, never_called_change, &calls), TS_EINVAL);                            \
    CHECK_RC(ts_export_user_json(s, X, &json, &len), TS_EINVAL);

/* Positions where NULL is allowed (user_id of register/change_user, app_id of segments)
   get only the non-NULL bad strings. */
#define BAD_NON_NULL_STRING_CALLS(X)                                                                 \
    CHECK_RC(ts_register(s, D, A, T, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, X, 2000), TS_EINVAL);      \
    CHECK_RC(ts_change_user(s, D, A, X, 2000), TS_EINVAL);                                           \
    CHECK_RC(ts_segment_count(s, TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, X, &n), TS_EINVAL);     \
    CHECK_RC(ts_segment_users(s, TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, X, never_called_user,   \
                              &calls),                                                               \
             TS_EINVAL);

    BAD_STRING_CALLS(NULL)
    BAD_STRING_CALLS("")
    BAD_NON_NULL_STRING_CALLS("")
    for (i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        BAD_STRING_CALLS(bad_utf8[i])
        BAD_NON_NULL_STRING_CALLS(bad_utf8[i])
    }

    /* Oversize, per field limit. */
    CHECK_RC(ts_register(s, long_device, A, T, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, U, 2000), TS_EINVAL);
    CHECK_RC(ts_register(s, D, long_app, T, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, U, 2000), TS_EINVAL);
    CHECK_RC(ts_register(s, D, A, long_token, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, U, 2000), TS_EINVAL);
    CHECK_RC(ts_register(s, D, A, T, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, long_user, 2000), TS_EINVAL);
    CHECK_RC(ts_change_user(s, long_device, A, U, 2000), TS_EINVAL);
    CHECK_RC(ts_change_user(s, D, long_app, U, 2000), TS_EINVAL);
    CHECK_RC(ts_change_user(s, D, A, long_user, 2000), TS_EINVAL);
    CHECK_RC(ts_set_authorization(s, long_device, A, TS_AUTH_BACKGROUND, 2000), TS_EINVAL);
    CHECK_RC(ts_set_subscription(s, long_user, TS_SUB_UNSUBSCRIBED, 2000), TS_EINVAL);
    CHECK_RC(ts_bounce(s, long_token, "Unregistered", 0, 2000, &outcome), TS_EINVAL);
    CHECK_RC(ts_bounce(s, T, long_code, 0, 2000, &outcome), TS_EINVAL);
    CHECK_RC(ts_uninstall(s, D, long_app, 2000), TS_EINVAL);
    CHECK_RC(ts_get(s, long_device, A, never_called, &calls), TS_EINVAL);
    CHECK_RC(ts_user_tokens(s, long_user, never_called, &calls), TS_EINVAL);
    CHECK_RC(ts_sendable_tokens(s, U, long_app, TS_PUSH_SILENT, never_called, &calls), TS_EINVAL);
    CHECK_RC(ts_get_user(s, long_user, &sub, NULL, NULL), TS_EINVAL);
    CHECK_RC(ts_segment_count(s, TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, long_app, &n), TS_EINVAL);
    CHECK_RC(ts_changelog(s, long_user, never_called_change, &calls), TS_EINVAL);
    CHECK_RC(ts_export_user_json(s, long_user, &json, &len), TS_EINVAL);

    /* An unterminated buffer just over the limit, at the end of a heap block: rejected without
       reading past limit + 1 bytes (run under ASan to prove it). */
    unterminated = (char *)malloc(TS_MAX_DEVICE_ID_BYTES + 1);
    REQUIRE(unterminated != NULL);
    memset(unterminated, 'x', TS_MAX_DEVICE_ID_BYTES + 1);
    CHECK_RC(ts_get(s, unterminated, A, never_called, &calls), TS_EINVAL);
    free(unterminated);

    /* Bad enums. */
    for (i = 0; i < sizeof bad_enum / sizeof bad_enum[0]; i++) {
        int v = bad_enum[i];
        CHECK_RC(ts_register(s, D, A, T, v, TS_AUTH_FOREGROUND, U, 2000), TS_EINVAL);
        CHECK_RC(ts_register(s, D, A, T, TS_PLATFORM_IOS, v, U, 2000), TS_EINVAL);
        CHECK_RC(ts_set_authorization(s, D, A, v, 2000), TS_EINVAL);
        CHECK_RC(ts_set_subscription(s, U, v, 2000), TS_EINVAL);
        if (v != 0) {
            CHECK_RC(ts_sweep(s, v, 5000, &n), TS_EINVAL);
            CHECK_RC(ts_sweep_at(s, v, 5000, 5000, &n), TS_EINVAL);
        }
        CHECK_RC(ts_sendable_tokens(s, U, A, v, never_called, &calls), TS_EINVAL);
        CHECK_RC(ts_segment_count(s, v == 4 ? 7 : v, NULL, &n), TS_EINVAL);
        CHECK_RC(ts_segment_users(s, v == 4 ? 7 : v, NULL, never_called_user, &calls), TS_EINVAL);
    }
    /* Segment app_id rules. */
    CHECK_RC(ts_segment_count(s, TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, NULL, &n), TS_EINVAL);
    CHECK_RC(ts_segment_count(s, TS_SEGMENT_SUBSCRIBED, "app", &n), TS_EINVAL);
    CHECK_RC(ts_segment_users(s, TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, NULL, never_called_user, &calls),
             TS_EINVAL);
    CHECK_RC(ts_segment_users(s, TS_SEGMENT_OPTED_IN, "app", never_called_user, &calls), TS_EINVAL);

    /* Negative times. */
    CHECK_RC(ts_register(s, D, A, T, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, U, -1), TS_EINVAL);
    CHECK_RC(ts_register(s, D, A, T, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, U, INT64_MIN), TS_EINVAL);
    CHECK_RC(ts_change_user(s, D, A, "other", -5), TS_EINVAL);
    CHECK_RC(ts_set_authorization(s, D, A, TS_AUTH_BACKGROUND, -5), TS_EINVAL);
    CHECK_RC(ts_set_subscription(s, U, TS_SUB_UNSUBSCRIBED, -5), TS_EINVAL);
    CHECK_RC(ts_bounce(s, T, "Unregistered", -1, 2000, &outcome), TS_EINVAL);
    CHECK_RC(ts_bounce(s, T, "Unregistered", 0, -1, &outcome), TS_EINVAL);
    CHECK_RC(ts_uninstall(s, D, A, -5), TS_EINVAL);
    CHECK_RC(ts_sweep_at(s, 0, 5000, -1, &n), TS_EINVAL);

    /* The callbacks were never called, and nothing changed. */
    CHECK(calls == 0);
    CHECK(count_tokens(s) == 1);
    {
        token_sink sink;
        change_sink log;
        memset(&sink, 0, sizeof sink);
        CHECK_RC(ts_get(s, D, A, collect_token, &sink), TS_OK);
        CHECK(sink.calls == 1 && strcmp(sink.items[0].user_id, U) == 0);
        CHECK(sink.items[0].updated_at_ms == 1000 && sink.items[0].authorization == TS_AUTH_FOREGROUND);
        CHECK_RC(ts_get_user(s, U, &sub, NULL, NULL), TS_OK);
        CHECK(sub == TS_SUB_SUBSCRIBED);
        memset(&log, 0, sizeof log);
        CHECK_RC(ts_changelog(s, U, collect_change, &log), TS_OK);
        CHECK(log.calls == 1);
        CHECK(segment_count(s, TS_SEGMENT_SUBSCRIBED, NULL) == 1);
    }
    /* Extreme but valid times are accepted. */
    CHECK_RC(ts_register(s, D, A, T, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, U, INT64_MAX), TS_OK);
    CHECK_RC(ts_sweep_at(s, 0, INT64_MIN, INT64_MAX, &n), TS_OK);
    CHECK_RC(ts_close(s), TS_OK);
}

/* ---- ts_last_error ------------------------------------------------------------------ */

/* Overwrites `count` bytes at `offset` of a store file with 0xA5. */
static void damage_file(const char *path, long offset, size_t count) {
    FILE *f = fopen(path, "r+b");
    REQUIRE(f != NULL);
    REQUIRE(fseek(f, offset, SEEK_SET) == 0);
    while (count--) REQUIRE(fputc(0xA5, f) != EOF);
    REQUIRE(fclose(f) == 0);
}

static int contains(const char *text, const char *part) { return text != NULL && strstr(text, part) != NULL; }

/* Counts the views it is called with into a uint64_t. */
static int count_view(void *ctx, const ts_token_view *t) {
    (void)t;
    ++*(uint64_t *)ctx;
    return 0;
}

static void test_last_error_names_the_field_the_file_and_the_limit(void) {
    char path[1024], file[1100], token[TS_MAX_TOKEN_BYTES + 2];
    ts_store *s = NULL;
    ts_options o;
    uint64_t n = 0;
    int outcome = 0;
    const char *detail;

    /* A bad option names the field and its range. */
    fresh_path(path, sizeof path, "last-error");
    ts_options_init(&o);
    o.shards = 3;
    CHECK_RC(ts_open(&s, path, &o), TS_EINVAL);
    detail = ts_last_error();
    CHECK(contains(detail, "ts_options.shards") && contains(detail, "power of two") && contains(detail, "4096"));

    /* A successful call leaves the detail as it was; the pointer stays valid. */
    o.shards = 2;
    CHECK_RC(ts_open(&s, path, &o), TS_OK);
    CHECK_RC(ts_count(s, &n), TS_OK);
    CHECK(contains(ts_last_error(), "ts_options.shards"));

    /* A rejected argument is named with its limit, and its value is never repeated. */
    memset(token, 'S', sizeof token - 1);
    token[sizeof token - 1] = '\0';
    CHECK_RC(ts_register(s, "secret-device", "com.example", token, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND,
                         "secret-user", 1000), TS_EINVAL);
    detail = ts_last_error();
    CHECK(contains(detail, "token") && contains(detail, "4096"));
    CHECK(!contains(detail, "SSSS") && !contains(detail, "secret"));
    CHECK_RC(ts_register(s, "secret-device", "com.example", "tok", 7, TS_AUTH_FOREGROUND, NULL, 1000), TS_EINVAL);
    CHECK(contains(ts_last_error(), "platform") && !contains(ts_last_error(), "secret"));
    CHECK_RC(ts_register(s, "secret-device", "com.example", "tok", TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, NULL, -1),
             TS_EINVAL);
    CHECK(contains(ts_last_error(), "at_ms"));
    /* Checked inside the store (the byte-level write's UTF-8 check): still no id. */
    CHECK_RC(ts_register(s, "secret-\xff", "com.example", "tok", TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, NULL, 1000),
             TS_EINVAL);
    CHECK(contains(ts_last_error(), "UTF-8") && !contains(ts_last_error(), "secret"));
    /* A miss names no token. */
    CHECK_RC(ts_bounce(s, "secret-token", "Unregistered", 0, 2000, &outcome), TS_NOTFOUND);
    CHECK(ts_last_error()[0] != '\0' && !contains(ts_last_error(), "secret"));
    CHECK_RC(ts_count(NULL, &n), TS_EINVAL);
    CHECK(contains(ts_last_error(), "handle"));
    /* A miss is a failed call too: its own detail replaces the one before, naming no id. */
    CHECK_RC(ts_get(s, "secret-device", "com.example", count_view, &n), TS_NOTFOUND);
    CHECK(contains(ts_last_error(), "no token for that key"));
    CHECK_RC(ts_get_user(s, "secret-user", &outcome, NULL, NULL), TS_NOTFOUND);
    CHECK(contains(ts_last_error(), "no user") && !contains(ts_last_error(), "secret"));

    CHECK_RC(ts_register(s, "device", "com.example", "tok", TS_PLATFORM_IOS, TS_AUTH_FOREGROUND, "kim", 1000), TS_OK);
    CHECK_RC(ts_checkpoint(s), TS_OK);
    CHECK_RC(ts_close(s), TS_OK);

    /* A damaged shard file is named with the check it failed. Only the shards that a write
       reached have files: damage the last of the two that has them. */
    char heap[32] = "";
    for (int n = 0; n < 2; n++) {
        snprintf(file, sizeof file, "%s/shard-%04d.heap", path, n);
        if (access(file, F_OK) == 0) snprintf(heap, sizeof heap, "shard-%04d.heap", n);
    }
    REQUIRE(heap[0] != '\0');
    snprintf(file, sizeof file, "%s/%s", path, heap);
    damage_file(file, 0, 16);
    s = (ts_store *)&s;
    CHECK_RC(ts_open(&s, path, NULL), TS_ECORRUPT);
    CHECK(s == NULL);
    detail = ts_last_error();
    CHECK(contains(detail, heap));
    if (!contains(detail, heap)) fprintf(stderr, "  ts_last_error: %s\n", detail);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--try-open") == 0) {
        /* Child of test_locked_by_other_process: exit 0 iff the open is refused as locked. */
        ts_store *other = (ts_store *)&other;
        int rc = ts_open(&other, argv[2], NULL);
        return rc == TS_ELOCKED && other == NULL ? 0 : 10 + (rc < 0 ? -rc : rc);
    }
    self_path = argv[0];
    if (argc != 2) {
        fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    scratch = argv[1];
    test_version();
    test_strerror();
    test_layouts();
    test_options_init();
    test_open_bad_arguments();
    test_open_modes_and_reopen();
    test_locked_by_other_process();
    test_register_and_get();
    test_change_user_and_changelog();
    test_authorization_subscription_segments();
    test_bounce();
    test_uninstall_and_sweep();
    test_user_tokens_export_stats();
    test_bad_inputs();
    test_campaign_tokens();
    test_get_many();
    test_campaign_bad_inputs();
    test_last_error_names_the_field_the_file_and_the_limit();
    return abi_summary("test_abi");
}
