/* Shared helpers for the C ABI tests: a tiny check framework and scratch directories. */
#ifndef ABI_TEST_H
#define ABI_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenstore.h"

static int abi_failures = 0;
static int abi_checks = 0;

/* Records a failed expectation without stopping the test. */
#define CHECK(cond)                                                                 \
    do {                                                                            \
        abi_checks++;                                                               \
        if (!(cond)) {                                                              \
            abi_failures++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                           \
    } while (0)

/* Expects a call to return a given status. */
#define CHECK_RC(call, expected)                                                          \
    do {                                                                                  \
        int abi_rc_ = (call);                                                             \
        abi_checks++;                                                                     \
        if (abi_rc_ != (expected)) {                                                      \
            abi_failures++;                                                               \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d (%s)\n", __FILE__,   \
                    __LINE__, #call, abi_rc_, ts_strerror(abi_rc_), (int)(expected),      \
                    ts_strerror(expected));                                               \
        }                                                                                 \
    } while (0)

/* Stops the program: a precondition of the remaining checks failed. */
#define REQUIRE(cond)                                                                     \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond);    \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

/* Prints the summary and returns the exit status. */
static int abi_summary(const char *name) {
    if (abi_failures) {
        fprintf(stderr, "%s: %d of %d checks FAILED\n", name, abi_failures, abi_checks);
        return 1;
    }
    printf("%s: all %d checks passed\n", name, abi_checks);
    return 0;
}

#endif
