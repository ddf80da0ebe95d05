/* Times the hot read paths through the C ABI: ts_get and ts_user_tokens, in ns per call.
 * Compare with the same workload on the Swift API (withToken / forEachToken) to see what
 * the boundary costs: string validation, the callback and the view struct.
 *
 * Usage: bench_get SCRATCH_DIR [KEYS] [LOOKUPS]
 * Workload: KEYS (default 100000) tokens on 36-byte device ids ("dev-" + 32 hex), app
 * "com.example.app", 3 tokens per user ("user-N"); LOOKUPS (default 1000000) reads of keys
 * picked by a fixed pseudo-random sequence.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tokenstore.h"

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int sum_len(void *ctx, const ts_token_view *v) {
    *(size_t *)ctx += v->token_len + v->device_id_len;
    return 0;
}

static void device_name(char *buf, size_t size, unsigned i) {
    snprintf(buf, size, "dev-%08x%08x%08x%08x", i, i * 2654435761u, i ^ 0x5bd1e995u, i * 40503u);
}

int main(int argc, char **argv) {
    char path[1024], device[64], token[200], user[32];
    unsigned keys = 100000, lookups = 1000000, i, rounds;
    ts_store *s = NULL;
    ts_options o;
    char (*devices)[64];
    char (*users)[32];
    unsigned *order;
    size_t sink = 0;
    double t0, get_ns = 1e30, user_ns = 1e30;

    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRATCH_DIR [KEYS] [LOOKUPS]\n", argv[0]);
        return 2;
    }
    if (argc > 2) keys = (unsigned)strtoul(argv[2], NULL, 10);
    if (argc > 3) lookups = (unsigned)strtoul(argv[3], NULL, 10);
    if (keys < 3) keys = 3;
    snprintf(path, sizeof path, "%s/bench-get", argv[1]);
    ts_options_init(&o);
    o.durability = TS_DURABILITY_NONE;
    if (ts_open(&s, path, &o) != TS_OK) return 1;

    devices = malloc(sizeof *devices * keys);
    users = malloc(sizeof *users * (keys / 3));
    order = malloc(sizeof *order * lookups);
    if (!devices || !users || !order) return 1;
    for (i = 0; i < keys; i++) {
        device_name(devices[i], sizeof devices[i], i);
        snprintf(token, sizeof token, "fcm:APA91b-%08x-%0120u", i, i);
        snprintf(user, sizeof user, "user-%u", i / 3);
        if (ts_register(s, devices[i], "com.example.app", token, TS_PLATFORM_ANDROID, TS_AUTH_FOREGROUND, user,
                        1000 + i) != TS_OK)
            return 1;
    }
    for (i = 0; i < keys / 3; i++) snprintf(users[i], sizeof users[i], "user-%u", i);
    for (i = 0; i < lookups; i++) order[i] = (unsigned)(((uint64_t)i * 2654435761u) % keys);

    for (rounds = 0; rounds < 5; rounds++) { /* best of 5 */
        double ns;
        t0 = now_ns();
        for (i = 0; i < lookups; i++) ts_get(s, devices[order[i]], "com.example.app", sum_len, &sink);
        ns = (now_ns() - t0) / lookups;
        if (ns < get_ns) get_ns = ns;
        t0 = now_ns();
        for (i = 0; i < lookups; i++) ts_user_tokens(s, users[order[i] % (keys / 3)], sum_len, &sink);
        ns = (now_ns() - t0) / lookups;
        if (ns < user_ns) user_ns = ns;
    }
    (void)device;
    printf("bench_get: %u keys, %u lookups: ts_get %.1f ns/call, ts_user_tokens (3 tokens) %.1f ns/call "
           "[checksum %zu]\n",
           keys, lookups, get_ns, user_ns, sink);
    ts_close(s);
    free(devices);
    free(users);
    free(order);
    return 0;
}
