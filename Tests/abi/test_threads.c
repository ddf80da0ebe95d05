/* Many threads on one handle: writers on their own keys, a shared set of keys that moves
 * between users, and readers streaming through callbacks at the same time. Checks that
 * every call answers a documented status and that the final state adds up; then that each
 * thread reads back its own ts_last_error while the others fail too.
 *
 * Usage: test_threads SCRATCH_DIR [THREADS] [ITERATIONS]
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>

#include "abi_test.h"

#define MAX_THREADS 64
#define SHARED_KEYS 8
#define SHARED_USERS 4

static ts_store *store;
static int iterations = 2000;
static int thread_count = 8;

/* Event times come from one counter so writes are mostly in order, with some reordering
   from the scheduler: stale answers are legitimate. */
static int64_t clock_ms = 1000;
static pthread_mutex_t clock_lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t next_time(void) {
    int64_t t;
    pthread_mutex_lock(&clock_lock);
    t = ++clock_ms;
    pthread_mutex_unlock(&clock_lock);
    return t;
}

typedef struct worker {
    pthread_t thread;
    int index;
    int unexpected;     /* statuses outside the documented set */
    int bad_views;      /* views with inconsistent fields */
    long reads;
    long writes;
    uint64_t own_tokens; /* tokens this worker leaves registered on its own keys */
} worker;

typedef struct read_ctx {
    worker *w;
    int calls;
} read_ctx;

static int check_view(void *ctx, const ts_token_view *v) {
    read_ctx *r = (read_ctx *)ctx;
    r->calls++;
    if (!v->device_id || !v->app_id || !v->token || !v->user_id || v->device_id_len == 0 ||
        v->app_id_len == 0 || v->token_len == 0 || v->platform < TS_PLATFORM_IOS ||
        v->platform > TS_PLATFORM_WEB || v->authorization < TS_AUTH_FOREGROUND ||
        v->authorization > TS_AUTH_BACKGROUND || v->updated_at_ms < v->created_at_ms)
        r->w->bad_views++;
    return 0;
}

static int check_change(void *ctx, const ts_change_view *v) {
    read_ctx *r = (read_ctx *)ctx;
    r->calls++;
    if (v->kind < TS_CHANGE_REGISTERED || v->kind > TS_CHANGE_SUBSCRIPTION || !v->token || !v->detail)
        r->w->bad_views++;
    return 0;
}

static int count_user(void *ctx, const char *user, size_t len) {
    read_ctx *r = (read_ctx *)ctx;
    r->calls++;
    if (!user || len == 0) r->w->bad_views++;
    return 0;
}

static void expect(worker *w, int rc, int ok1, int ok2, int ok3, const char *what) {
    if (rc != ok1 && rc != ok2 && rc != ok3) {
        if (w->unexpected < 5) fprintf(stderr, "thread %d: %s -> %d (%s)\n", w->index, what, rc, ts_strerror(rc));
        w->unexpected++;
    }
}

static void *run_worker(void *arg) {
    worker *w = (worker *)arg;
    char device[64], token[128], shared_device[64], user[32], other[32];
    unsigned seed = (unsigned)w->index * 2654435761u + 1u;
    int i;
    for (i = 0; i < iterations; i++) {
        int op;
        read_ctx r;
        seed = seed * 1103515245u + 12345u;
        op = (int)((seed >> 16) % 10);
        snprintf(device, sizeof device, "t%d-dev-%d", w->index, i % 50);
        snprintf(token, sizeof token, "t%d-token-%d-%d", w->index, i % 50, i / 50);
        snprintf(shared_device, sizeof shared_device, "shared-dev-%d", (int)((seed >> 8) % SHARED_KEYS));
        snprintf(user, sizeof user, "user-%d", (int)((seed >> 4) % SHARED_USERS));
        snprintf(other, sizeof other, "t%d-user", w->index);
        r.w = w;
        r.calls = 0;
        switch (op) {
        case 0:
        case 1: /* own key, own user: always applies (times only grow per key per thread) */
            expect(w, ts_register(store, device, "app", token, 1 + i % 3, 1 + i % 3, other, next_time()),
                   TS_OK, TS_STALE, TS_OK, "register own");
            w->writes++;
            break;
        case 2: /* shared key: token name fixed per key, so it never moves between keys */
            snprintf(token, sizeof token, "shared-token-%s", shared_device);
            expect(w, ts_register(store, shared_device, "app", token, TS_PLATFORM_IOS, TS_AUTH_FOREGROUND,
                                  user, next_time()),
                   TS_OK, TS_STALE, TS_OK, "register shared");
            w->writes++;
            break;
        case 3: /* login race on shared keys */
            expect(w, ts_change_user(store, shared_device, "app", (seed & 1) ? user : NULL, next_time()),
                   TS_OK, TS_STALE, TS_NOTFOUND, "change_user");
            w->writes++;
            break;
        case 4:
            expect(w, ts_set_authorization(store, shared_device, "app", 1 + (int)(seed % 3), next_time()), TS_OK,
                   TS_STALE, TS_NOTFOUND, "set_authorization");
            expect(w, ts_set_subscription(store, user, 1 + (int)((seed >> 3) % 3), next_time()), TS_OK, TS_STALE,
                   TS_OK, "set_subscription");
            w->writes += 2;
            break;
        case 5: {
            int outcome = 0;
            snprintf(token, sizeof token, "shared-token-%s", shared_device);
            expect(w, ts_bounce(store, token, (seed & 2) ? "429" : "PayloadTooLarge", 0, next_time(), &outcome),
                   TS_OK, TS_NOTFOUND, TS_OK, "bounce");
            w->writes++;
            break;
        }
        case 6:
            expect(w, ts_get(store, shared_device, "app", check_view, &r), TS_OK, TS_NOTFOUND, TS_OK, "get");
            expect(w, ts_get(store, device, "app", check_view, &r), TS_OK, TS_NOTFOUND, TS_OK, "get own");
            w->reads += 2;
            break;
        case 7:
            expect(w, ts_user_tokens(store, user, check_view, &r), TS_OK, TS_OK, TS_OK, "user_tokens");
            expect(w, ts_sendable_tokens(store, user, "app", TS_PUSH_VISIBLE, check_view, &r), TS_OK, TS_OK,
                   TS_OK, "sendable");
            w->reads += 2;
            break;
        case 8: {
            uint64_t n = 0;
            expect(w, ts_segment_count(store, TS_SEGMENT_BACKGROUND_OR_FOREGROUND_PUSH_ENABLED, NULL, &n), TS_OK,
                   TS_OK, TS_OK, "segment_count");
            expect(w, ts_segment_users(store, TS_SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, "app", count_user, &r),
                   TS_OK, TS_OK, TS_OK, "segment_users");
            expect(w, ts_changelog(store, user, check_change, &r), TS_OK, TS_OK, TS_OK, "changelog");
            w->reads += 3;
            break;
        }
        default: {
            char *json = NULL;
            size_t len = 0;
            int rc = ts_export_user_json(store, other, &json, &len);
            expect(w, rc, TS_OK, TS_NOTFOUND, TS_OK, "export");
            if (rc == TS_OK && (json == NULL || strlen(json) != len)) w->bad_views++;
            ts_free(json);
            w->reads++;
            break;
        }
        }
    }
    /* Leave a known number of own tokens: uninstall every other own key. */
    for (i = 0; i < 50; i++) {
        int rc;
        snprintf(device, sizeof device, "t%d-dev-%d", w->index, i);
        if (i % 2) {
            rc = ts_uninstall(store, device, "app", next_time());
            expect(w, rc, TS_OK, TS_NOTFOUND, TS_OK, "uninstall");
        } else {
            snprintf(token, sizeof token, "t%d-final-%d", w->index, i);
            rc = ts_register(store, device, "app", token, TS_PLATFORM_ANDROID, TS_AUTH_FOREGROUND, NULL,
                             next_time());
            expect(w, rc, TS_OK, TS_OK, TS_OK, "final register");
            w->own_tokens++;
        }
    }
    return NULL;
}

typedef struct tally {
    int calls;
} tally;

static int count_view(void *ctx, const ts_token_view *v) {
    (void)v;
    ((tally *)ctx)->calls++;
    return 0;
}

/* Each thread fails in its own way, many times over, while the others do: every thread must
   read back its own detail, never another's (ts_last_error is per thread). A new thread has
   none. */
typedef struct last_error_worker {
    pthread_t thread;
    int index;
    int wrong; /* details that were another thread's, or missing */
    char first[64]; /* what a new thread read before failing */
} last_error_worker;

static void *run_last_error_worker(void *arg) {
    last_error_worker *w = (last_error_worker *)arg;
    int i;
    uint64_t n;
    snprintf(w->first, sizeof w->first, "%s", ts_last_error());
    for (i = 0; i < iterations; i++) {
        if (w->index % 2 == 0) {
            /* A bad platform, checked at the boundary. */
            if (ts_register(store, "dev", "app", "tok", 99, TS_AUTH_FOREGROUND, NULL, 1) != TS_EINVAL ||
                strstr(ts_last_error(), "platform") == NULL)
                w->wrong++;
        } else {
            /* A NULL out-pointer, then a success that must leave the detail alone. */
            if (ts_count(store, NULL) != TS_EINVAL || ts_count(store, &n) != TS_OK ||
                strstr(ts_last_error(), "out_tokens") == NULL)
                w->wrong++;
        }
    }
    return NULL;
}

static void test_last_error_is_per_thread(void) {
    last_error_worker workers[MAX_THREADS];
    int i, wrong = 0;
    for (i = 0; i < thread_count; i++) {
        memset(&workers[i], 0, sizeof workers[i]);
        workers[i].index = i;
        REQUIRE(pthread_create(&workers[i].thread, NULL, run_last_error_worker, &workers[i]) == 0);
    }
    for (i = 0; i < thread_count; i++) {
        REQUIRE(pthread_join(workers[i].thread, NULL) == 0);
        wrong += workers[i].wrong;
        CHECK(workers[i].first[0] == '\0');
    }
    CHECK(wrong == 0);
}

int main(int argc, char **argv) {
    char path[1024];
    worker workers[MAX_THREADS];
    uint64_t expected = 0, n = 0, shared = 0;
    int i, unexpected = 0, bad = 0;
    long reads = 0, writes = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRATCH_DIR [THREADS] [ITERATIONS]\n", argv[0]);
        return 2;
    }
    if (argc > 2) thread_count = atoi(argv[2]);
    if (argc > 3) iterations = atoi(argv[3]);
    if (thread_count < 4) thread_count = 4;
    if (thread_count > MAX_THREADS) thread_count = MAX_THREADS;

    snprintf(path, sizeof path, "%s/threads", argv[1]);
    REQUIRE(ts_open(&store, path, NULL) == TS_OK);

    for (i = 0; i < thread_count; i++) {
        memset(&workers[i], 0, sizeof workers[i]);
        workers[i].index = i;
        REQUIRE(pthread_create(&workers[i].thread, NULL, run_worker, &workers[i]) == 0);
    }
    for (i = 0; i < thread_count; i++) {
        REQUIRE(pthread_join(workers[i].thread, NULL) == 0);
        unexpected += workers[i].unexpected;
        bad += workers[i].bad_views;
        reads += workers[i].reads;
        writes += workers[i].writes;
        expected += workers[i].own_tokens;
    }
    CHECK(unexpected == 0);
    CHECK(bad == 0);
    test_last_error_is_per_thread();

    /* Own keys: exactly what each worker left. Shared keys: at most one token each. */
    for (i = 0; i < SHARED_KEYS; i++) {
        tally t = {0};
        char device[64];
        int rc;
        snprintf(device, sizeof device, "shared-dev-%d", i);
        rc = ts_get(store, device, "app", count_view, &t);
        CHECK(rc == TS_OK || rc == TS_NOTFOUND);
        if (rc == TS_OK) shared++;
        CHECK(t.calls == (rc == TS_OK));
    }
    CHECK_RC(ts_count(store, &n), TS_OK);
    CHECK(n == expected + shared);
    if (n != expected + shared)
        fprintf(stderr, "  count %llu, expected %llu own + %llu shared\n", (unsigned long long)n,
                (unsigned long long)expected, (unsigned long long)shared);

    /* Each shared user's tokens are shared keys they own; nobody owns a key twice. */
    {
        tally all = {0};
        for (i = 0; i < SHARED_USERS; i++) {
            char user[32];
            snprintf(user, sizeof user, "user-%d", i);
            CHECK_RC(ts_user_tokens(store, user, count_view, &all), TS_OK);
        }
        CHECK((uint64_t)all.calls <= shared);
    }

    /* The state survives a close and reopen. */
    CHECK_RC(ts_close(store), TS_OK);
    store = NULL;
    REQUIRE(ts_open(&store, path, NULL) == TS_OK);
    CHECK_RC(ts_count(store, &n), TS_OK);
    CHECK(n == expected + shared);
    CHECK_RC(ts_close(store), TS_OK);

    printf("test_threads: %d threads, %ld writes, %ld reads\n", thread_count, writes, reads);
    return abi_summary("test_threads");
}
