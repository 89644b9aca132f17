// SPDX-License-Identifier: MIT
/* A small unit-test library: TEST() registers a function; runner.c forks each under a timeout. */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test_case {
    const char *file;
    const char *name;
    void (*fn)(void);
    int timeout_s;
    struct test_case *next;
};

void test_register(struct test_case *tc);
/** Prints the failure with both values and ends the test (the forked child) with status 1. */
__attribute__((noreturn)) void test_fail(const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/** TEST_TIMEOUT_MULTIPLIER from the environment (sanitizers set it), at least 1. */
int test_timeout_multiplier(void);
/** A scratch directory made for this test, removed by the runner afterwards. */
const char *test_tmpdir(void);

#define TEST_WITH_TIMEOUT(name, seconds)                                              \
    static void name(void);                                                           \
    static struct test_case name##_case = { __FILE__, #name, name, (seconds), NULL }; \
    __attribute__((constructor)) static void name##_register(void)                    \
    {                                                                                 \
        test_register(&name##_case);                                                  \
    }                                                                                 \
    static void name(void)

/** Defines a test with the default 10 s timeout (scaled by TEST_TIMEOUT_MULTIPLIER). */
#define TEST(name) TEST_WITH_TIMEOUT(name, 10)

#define ASSERT_TRUE(cond)                                              \
    do {                                                               \
        if (!(cond)) {                                                 \
            test_fail(__FILE__, __LINE__, "expected true: %s", #cond); \
        }                                                              \
    } while (0)

#define ASSERT_FALSE(cond)                                              \
    do {                                                                \
        if (cond) {                                                     \
            test_fail(__FILE__, __LINE__, "expected false: %s", #cond); \
        }                                                               \
    } while (0)

#define ASSERT_EQ_INT(a, b)                                                          \
    do {                                                                             \
        long long a_ = (long long)(a), b_ = (long long)(b);                          \
        if (a_ != b_) {                                                              \
            test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); \
        }                                                                            \
    } while (0)

#define ASSERT_NE_INT(a, b)                                                   \
    do {                                                                      \
        long long a_ = (long long)(a), b_ = (long long)(b);                   \
        if (a_ == b_) {                                                       \
            test_fail(__FILE__, __LINE__, "%s != %s: both %lld", #a, #b, a_); \
        }                                                                     \
    } while (0)

#define ASSERT_EQ_U64(a, b)                                                                     \
    do {                                                                                        \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                        \
        if (a_ != b_) {                                                                         \
            test_fail(__FILE__, __LINE__, "%s == %s: %" PRIu64 " != %" PRIu64, #a, #b, a_, b_); \
        }                                                                                       \
    } while (0)

#define ASSERT_CMP_INT(a, op, b)                                                          \
    do {                                                                                  \
        long long a_ = (long long)(a), b_ = (long long)(b);                               \
        if (!(a_ op b_)) {                                                                \
            test_fail(__FILE__, __LINE__, "%s %s %s: %lld vs %lld", #a, #op, #b, a_, b_); \
        }                                                                                 \
    } while (0)

#define ASSERT_EQ_STR(a, b)                                                     \
    do {                                                                        \
        const char *a_ = (a), *b_ = (b);                                        \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                  \
            test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b, \
                      a_ ? a_ : "(null)", b_ ? b_ : "(null)");                  \
        }                                                                       \
    } while (0)

#define ASSERT_EQ_MEM(a, b, n)                                                                 \
    do {                                                                                       \
        if (memcmp((a), (b), (n)) != 0) {                                                      \
            test_fail(__FILE__, __LINE__, "%s and %s differ in their first %zu bytes", #a, #b, \
                      (size_t)(n));                                                            \
        }                                                                                      \
    } while (0)

#define ASSERT_NOT_NULL(p)                                              \
    do {                                                                \
        if ((p) == NULL) {                                              \
            test_fail(__FILE__, __LINE__, "expected non-NULL: %s", #p); \
        }                                                               \
    } while (0)

#define ASSERT_NULL(p)                                              \
    do {                                                            \
        if ((p) != NULL) {                                          \
            test_fail(__FILE__, __LINE__, "expected NULL: %s", #p); \
        }                                                           \
    } while (0)

/** Asserts that an int-returning call gives 0, printing the negative errno otherwise. */
#define ASSERT_OK(expr)                                                       \
    do {                                                                      \
        long long rc_ = (long long)(expr);                                    \
        if (rc_ != 0) {                                                       \
            test_fail(__FILE__, __LINE__, "%s failed: %lld (%s)", #expr, rc_, \
                      rc_ < 0 ? strerror((int)-rc_) : "?");                   \
        }                                                                     \
    } while (0)

#endif
