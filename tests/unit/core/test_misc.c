// SPDX-License-Identifier: MIT
/* Tests for core/log, core/thread, core/clock and core/alloc. */
#include "../testlib.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/thread.h"

TEST(log_parses_levels)
{
    enum core_log_level l;
    ASSERT_OK(core_log_parse_level("debug", &l));
    ASSERT_EQ_INT(l, CORE_LOG_DEBUG);
    ASSERT_OK(core_log_parse_level("error", &l));
    ASSERT_EQ_INT(l, CORE_LOG_ERROR);
    ASSERT_EQ_INT(core_log_parse_level("loud", &l), -EINVAL);
    core_log_set_level(CORE_LOG_WARN);
    ASSERT_EQ_INT(core_log_get_level(), CORE_LOG_WARN);
}

TEST(log_keeps_errno)
{
    errno = EBADF;
    LOG_ERROR("a test line %d", 42);
    ASSERT_EQ_INT(errno, EBADF);
}

static void *check_thread(void *arg)
{
    sigset_t set;
    pthread_sigmask(SIG_BLOCK, NULL, &set);
    int *ok = arg;
    char name[16];
    pthread_getname_np(pthread_self(), name, sizeof(name));
    *ok = sigismember(&set, SIGINT) && sigismember(&set, SIGTERM) && strcmp(name, "checker") == 0;
    return NULL;
}

TEST(thread_start_names_and_blocks_signals)
{
    int ok = 0;
    pthread_t t;
    ASSERT_OK(core_thread_start(&t, "checker", check_thread, &ok));
    pthread_join(t, NULL);
    ASSERT_TRUE(ok);
    // The caller's own mask is left as it was.
    sigset_t set;
    pthread_sigmask(SIG_BLOCK, NULL, &set);
    ASSERT_FALSE(sigismember(&set, SIGINT));
}

TEST(cond_wait_until_times_out_on_monotonic_deadline)
{
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond;
    ASSERT_OK(core_cond_init_monotonic(&cond));
    pthread_mutex_lock(&mu);
    int64_t deadline = core_now_ns() + 20 * CORE_NS_PER_MS;
    int rc;
    do {
        rc = core_cond_wait_until(&cond, &mu, deadline);
    } while (rc == 0);
    ASSERT_EQ_INT(rc, -ETIMEDOUT);
    ASSERT_CMP_INT(core_now_ns(), >=, deadline);
    pthread_mutex_unlock(&mu);
    pthread_cond_destroy(&cond);
}

TEST(clock_monotonic_advances_and_converts)
{
    int64_t a = core_now_ns();
    int64_t b = core_now_ns();
    ASSERT_CMP_INT(b, >=, a);
    ASSERT_CMP_INT(core_wall_ns(), >, 1600000000LL * CORE_NS_PER_SEC);
    struct timespec ts = core_ns_to_timespec(3 * CORE_NS_PER_SEC + 5);
    ASSERT_EQ_INT(ts.tv_sec, 3);
    ASSERT_EQ_INT(ts.tv_nsec, 5);
    ts = core_ns_to_timespec(-7);
    ASSERT_EQ_INT(ts.tv_sec, 0);
}

TEST(alloc_wrappers_return_usable_memory)
{
    char *s = core_xstrdup("abc");
    ASSERT_EQ_STR(s, "abc");
    s = core_xrealloc(s, 100);
    ASSERT_EQ_STR(s, "abc");
    free(s);
    int *z = core_xcalloc(10, sizeof(int));
    ASSERT_EQ_INT(z[9], 0);
    free(z);
    free(core_xmalloc(0));
}
