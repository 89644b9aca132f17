// SPDX-License-Identifier: MIT
/* Tests for core/procpool: replies, crashes named by signal, deadlines, respawn, volume. */
#include "../testlib.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "core/procpool.h"
#include "core/thread.h"
#include "core_test.h"

/* Requests: "echo:<bytes>", "segv", "abort", "hang", "exit:<n>", "big:<n>", "pid". */
static int handler(void *ctx, const void *in, size_t len, struct core_procpool_out *out)
{
    (void)ctx;
    const char *s = in; // the pool NUL-terminates requests
    if (len >= 5 && memcmp(s, "echo:", 5) == 0) {
        return core_procpool_out_append(out, s + 5, len - 5) == 0 ? (int)(len - 5) : -1;
    }
    if (len == 4 && memcmp(s, "segv", 4) == 0) {
        raise(SIGSEGV);
    }
    if (len == 5 && memcmp(s, "abort", 5) == 0) {
        abort();
    }
    if (len == 4 && memcmp(s, "hang", 4) == 0) {
        for (;;) {
            pause();
        }
    }
    if (len > 5 && memcmp(s, "exit:", 5) == 0) {
        _exit(atoi(s + 5));
    }
    if (len > 4 && memcmp(s, "big:", 4) == 0) {
        size_t n = (size_t)atol(s + 4);
        char chunk[4096];
        memset(chunk, 'x', sizeof(chunk));
        while (n > 0) {
            size_t k = n < sizeof(chunk) ? n : sizeof(chunk);
            if (core_procpool_out_append(out, chunk, k) != 0) {
                return -EMSGSIZE;
            }
            n -= k;
        }
        return 0;
    }
    if (len == 3 && memcmp(s, "pid", 3) == 0) {
        pid_t pid = getpid();
        return core_procpool_out_append(out, &pid, sizeof(pid));
    }
    return -EINVAL;
}

static struct core_procpool *make_pool(size_t workers)
{
    struct core_procpool *pp = NULL;
    struct core_procpool_config cfg = {
        .workers = workers,
        .handler = handler,
        .max_request = 1 << 20,
        .max_reply = 1 << 20,
    };
    ASSERT_OK(core_procpool_create(&pp, &cfg));
    return pp;
}

static int call(struct core_procpool *pp, const char *req, int64_t timeout_ms,
                struct core_procpool_result *res)
{
    return core_procpool_call(pp, req, strlen(req), timeout_ms, res);
}

TEST(procpool_echo_round_trip)
{
    struct core_procpool *pp = make_pool(2);
    struct core_procpool_result res;
    ASSERT_OK(call(pp, "echo:hello world", 5000, &res));
    ASSERT_EQ_INT(res.code, 11);
    ASSERT_NOT_NULL(res.reply);
    ASSERT_EQ_INT(res.reply->len, 11);
    ASSERT_EQ_MEM(res.reply->data, "hello world", 11);
    core_buf_unref(res.reply);
    ASSERT_OK(call(pp, "nonsense", 5000, &res));
    ASSERT_EQ_INT(res.code, -EINVAL);
    ASSERT_EQ_INT(res.reply->len, 0);
    core_buf_unref(res.reply);
    core_procpool_destroy(pp);
}

TEST(procpool_segfault_fails_only_its_task_and_names_the_signal)
{
    struct core_procpool *pp = make_pool(1);
    struct core_procpool_result res;
    ASSERT_EQ_INT(call(pp, "segv", 5000, &res), -ECHILD);
    ASSERT_EQ_INT(res.term_signal, SIGSEGV);
    ASSERT_FALSE(res.timed_out);
    ASSERT_NULL(res.reply);
    char why[128];
    core_procpool_describe(&res, why, sizeof(why));
    ASSERT_TRUE(strstr(why, "SIGSEGV") != NULL);
    ASSERT_EQ_INT(core_procpool_respawns(pp), 1);
    // The only worker was replaced: the next task runs.
    ASSERT_OK(call(pp, "echo:again", 5000, &res));
    ASSERT_EQ_MEM(res.reply->data, "again", 5);
    core_buf_unref(res.reply);
    ASSERT_EQ_INT(call(pp, "abort", 5000, &res), -ECHILD);
    ASSERT_EQ_INT(res.term_signal, SIGABRT);
    ASSERT_EQ_INT(call(pp, "exit:3", 5000, &res), -ECHILD);
    ASSERT_EQ_INT(res.term_signal, 0);
    ASSERT_EQ_INT(res.exit_status, 3);
    core_procpool_describe(&res, why, sizeof(why));
    ASSERT_TRUE(strstr(why, "status 3") != NULL);
    core_procpool_destroy(pp);
}

TEST(procpool_hang_past_deadline_is_killed_and_replaced)
{
    struct core_procpool *pp = make_pool(1);
    struct core_procpool_result res;
    ASSERT_OK(call(pp, "pid", 5000, &res));
    pid_t first;
    memcpy(&first, res.reply->data, sizeof(first));
    core_buf_unref(res.reply);
    ASSERT_EQ_INT(call(pp, "hang", 100, &res), -ETIMEDOUT);
    ASSERT_TRUE(res.timed_out);
    ASSERT_EQ_INT(res.term_signal, SIGKILL);
    // The hung process was killed at once and the spawner reaps it; a new one answers.
    WAIT_FOR(kill(first, 0) == -1 && errno == ESRCH, 10);
    ASSERT_OK(call(pp, "pid", 5000, &res));
    pid_t second;
    memcpy(&second, res.reply->data, sizeof(second));
    core_buf_unref(res.reply);
    ASSERT_NE_INT(first, second);
    core_procpool_destroy(pp);
}

TEST(procpool_caps_request_and_reply)
{
    struct core_procpool *pp = make_pool(1);
    struct core_procpool_result res;
    static char huge[(1 << 20) + 1];
    ASSERT_EQ_INT(core_procpool_call(pp, huge, sizeof(huge), 5000, &res), -EMSGSIZE);
    ASSERT_EQ_INT(call(pp, "big:2000000", 5000, &res), -EMSGSIZE);
    ASSERT_OK(call(pp, "big:1000000", 5000, &res)); // large replies cross the socket buffer
    ASSERT_EQ_INT(res.reply->len, 1000000);
    ASSERT_EQ_INT(res.reply->data[999999], 'x');
    core_buf_unref(res.reply);
    core_procpool_destroy(pp);
}

TEST_WITH_TIMEOUT(procpool_ten_thousand_small_tasks, 120)
{
    struct core_procpool *pp = make_pool(2);
    for (int i = 0; i < 10000; i++) {
        char req[32];
        int n = snprintf(req, sizeof(req), "echo:%d", i);
        struct core_procpool_result res;
        ASSERT_OK(core_procpool_call(pp, req, (size_t)n, 10000, &res));
        ASSERT_EQ_INT(res.reply->len, (size_t)n - 5);
        ASSERT_EQ_MEM(res.reply->data, req + 5, (size_t)n - 5);
        core_buf_unref(res.reply);
    }
    ASSERT_EQ_INT(core_procpool_respawns(pp), 0);
    core_procpool_destroy(pp);
}

struct caller {
    struct core_procpool *pp;
    atomic_int ok;
    atomic_int crashed;
    atomic_int wrong;
};

static void *call_loop(void *arg)
{
    struct caller *c = arg;
    for (int i = 0; i < 300; i++) {
        struct core_procpool_result res;
        if (i % 50 == 7) {
            int rc = call(c->pp, "segv", 10000, &res);
            atomic_fetch_add(rc == -ECHILD && res.term_signal == SIGSEGV ? &c->crashed : &c->wrong,
                             1);
            continue;
        }
        char req[32];
        int n = snprintf(req, sizeof(req), "echo:%d", i);
        int rc = core_procpool_call(c->pp, req, (size_t)n, 10000, &res);
        if (rc == 0 && res.reply->len == (size_t)n - 5 &&
            memcmp(res.reply->data, req + 5, (size_t)n - 5) == 0) {
            atomic_fetch_add(&c->ok, 1);
        } else {
            atomic_fetch_add(&c->wrong, 1);
        }
        core_buf_unref(res.reply);
    }
    return NULL;
}

/* Several threads share the pool while some of their tasks crash workers. */
TEST_WITH_TIMEOUT(procpool_concurrent_callers_with_crashes, 120)
{
    static struct caller c;
    c.pp = make_pool(2);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        ASSERT_OK(core_thread_start(&t[i], "caller", call_loop, &c));
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    ASSERT_EQ_INT(atomic_load(&c.wrong), 0);
    ASSERT_EQ_INT(atomic_load(&c.crashed), 4 * 6);
    ASSERT_EQ_INT(atomic_load(&c.ok), 4 * (300 - 6));
    ASSERT_EQ_INT(core_procpool_respawns(c.pp), 4 * 6);
    core_procpool_destroy(c.pp);
}

TEST(procpool_destroy_leaves_no_process)
{
    struct core_procpool *pp = make_pool(3);
    pid_t pids[3];
    for (int i = 0; i < 3; i++) {
        struct core_procpool_result res;
        ASSERT_OK(call(pp, "pid", 5000, &res));
        memcpy(&pids[i], res.reply->data, sizeof(pid_t));
        core_buf_unref(res.reply);
    }
    core_procpool_destroy(pp);
    // The workers were children of the spawner, which reaped them before exiting.
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ_INT(kill(pids[i], 0), -1);
    }
    core_procpool_destroy(NULL);
}

/* A worker reuses its request and reply buffers: shorter tasks after longer ones get exactly
 * their own bytes back. */
TEST(procpool_worker_reuses_buffers_without_stale_bytes)
{
    struct core_procpool *pp = make_pool(1);
    static const char *const reqs[] = {
        "echo:a-long-request-first", "echo:bb", "big:70000", "echo:", "big:3", "echo:ccc"
    };
    static const size_t want[] = { 20, 2, 70000, 0, 3, 3 };
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        struct core_procpool_result res;
        ASSERT_OK(call(pp, reqs[i], 5000, &res));
        ASSERT_EQ_INT(res.reply->len, want[i]);
        if (reqs[i][0] == 'e') {
            ASSERT_EQ_MEM(res.reply->data, reqs[i] + 5, want[i]);
        }
        core_buf_unref(res.reply);
    }
    core_procpool_destroy(pp);
}
