// SPDX-License-Identifier: MIT
/* Regression tests for the process pool faults of issue 9 (numbers refer to the issue). */
#include "../testlib.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/procpool.h"
#include "core/thread.h"
#include "core_test.h"

/* The worker's own end of its socket: the only socket a worker holds. */
static int worker_socket(void)
{
    DIR *d = opendir("/proc/self/fd");
    int found = -1;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        char path[300], link[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, link, sizeof(link) - 1);
        if (n > 0 && (link[n] = '\0', strncmp(link, "socket:", 7) == 0)) {
            found = atoi(e->d_name);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return found;
}

static void write_pid_file(const char *path)
{
    char tmp[300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f != NULL) {
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
        rename(tmp, path);
    }
}

static pid_t read_pid_file(const char *path)
{
    FILE *f = fopen(path, "r");
    int pid = 0;
    if (f != NULL) {
        if (fscanf(f, "%d", &pid) != 1) {
            pid = 0;
        }
        fclose(f);
    }
    return (pid_t)pid;
}

/* What a reply header looked like before issue 9 (no magic, no id): 16 bytes. */
struct old_reply_header {
    int32_t code;
    int32_t flags;
    uint64_t len;
};

/*
 * Requests: "echo:<bytes>", "pid", "ppid" (the spawner), "segv", "code:<n>", "sleepms:<n>",
 * "linger:<file>" (writes its pid to file, closes its socket, lives on), "forge:<n>" (writes
 * a reply header claiming n bytes straight to its socket), "stray" (writes a whole reply of
 * the old format before its real one), "killspawner", "hold:<file>" (writes its pid to file
 * and waits for ever), "count:<file>" (appends a byte to file, then crashes), "big" (more than
 * max_reply).
 */
static int handler(void *ctx, const void *in, size_t len, struct core_procpool_out *out)
{
    (void)ctx;
    const char *s = in;
    if (len >= 5 && memcmp(s, "echo:", 5) == 0) {
        return core_procpool_out_append(out, s + 5, len - 5);
    }
    if (strcmp(s, "pid") == 0 || strcmp(s, "ppid") == 0) {
        pid_t pid = s[1] == 'p' ? getppid() : getpid();
        return core_procpool_out_append(out, &pid, sizeof(pid));
    }
    if (strcmp(s, "segv") == 0) {
        raise(SIGSEGV);
    }
    if (strncmp(s, "code:", 5) == 0) {
        return atoi(s + 5);
    }
    if (strcmp(s, "big") == 0) {
        static char chunk[1 << 16];
        while (core_procpool_out_append(out, chunk, sizeof(chunk)) == 0) {
        }
        return 0;
    }
    if (strncmp(s, "sleepms:", 8) == 0) {
        nap_ms(atoi(s + 8));
        return 0;
    }
    if (strncmp(s, "linger:", 7) == 0) {
        write_pid_file(s + 7);
        close(worker_socket());
        for (;;) {
            pause();
        }
    }
    if (strncmp(s, "forge:", 6) == 0) {
        struct old_reply_header h = { 0, 0, strtoull(s + 6, NULL, 10) };
        (void)!write(worker_socket(), &h, sizeof(h));
        return 0;
    }
    if (strcmp(s, "stray") == 0) {
        struct old_reply_header h = { 7, 0, 5 };
        int fd = worker_socket();
        (void)!write(fd, &h, sizeof(h));
        (void)!write(fd, "stray", 5);
        return core_procpool_out_append(out, "real", 4);
    }
    if (strcmp(s, "killspawner") == 0) {
        kill(getppid(), SIGKILL);
        for (;;) {
            pause(); // until the spawner's death signal (PR_SET_PDEATHSIG) kills this worker
        }
    }
    if (strncmp(s, "hold:", 5) == 0) {
        write_pid_file(s + 5);
        for (;;) {
            pause();
        }
    }
    if (strncmp(s, "count:", 6) == 0) {
        int fd = open(s + 6, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        (void)!write(fd, "x", 1);
        close(fd);
        raise(SIGSEGV);
    }
    return -EINVAL;
}

static struct core_procpool *make_pool(size_t workers)
{
    struct core_procpool *pp = NULL;
    struct core_procpool_config cfg = {
        .workers = workers, .handler = handler, .max_request = 1 << 16, .max_reply = 1 << 16
    };
    ASSERT_OK(core_procpool_create(&pp, &cfg));
    return pp;
}

static int64_t long_ms(void)
{
    return 20000LL * test_timeout_multiplier();
}

static int call(struct core_procpool *pp, const char *req, int64_t timeout_ms,
                struct core_procpool_result *res)
{
    return core_procpool_call(pp, req, strlen(req), timeout_ms, res);
}

/* Calls echo:<text> and checks that exactly <text> comes back. */
static void echo_ok(struct core_procpool *pp, const char *text)
{
    char req[128];
    snprintf(req, sizeof(req), "echo:%s", text);
    struct core_procpool_result res;
    ASSERT_OK(call(pp, req, long_ms(), &res));
    ASSERT_EQ_INT(res.reply->len, strlen(text));
    ASSERT_EQ_MEM(res.reply->data, text, strlen(text));
    core_buf_unref(res.reply);
}

static pid_t call_pid(struct core_procpool *pp, const char *which)
{
    struct core_procpool_result res;
    ASSERT_OK(call(pp, which, long_ms(), &res));
    pid_t pid;
    ASSERT_EQ_INT(res.reply->len, sizeof(pid));
    memcpy(&pid, res.reply->data, sizeof(pid));
    core_buf_unref(res.reply);
    return pid;
}

/* ---- fault 4: timeouts that do not fit in nanoseconds ------------------------------------ */

TEST(procpool_huge_timeouts_do_not_overflow)
{
    struct core_procpool *pp = make_pool(1);
    static const int64_t timeouts[] = { INT64_MAX, INT64_MAX / CORE_NS_PER_MS + 1, 18446744073710LL,
                                        CORE_TIMEOUT_INFINITE };
    for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
        struct core_procpool_result res;
        ASSERT_OK(call(pp, "sleepms:20", timeouts[i], &res)); // the caller really waits
        core_buf_unref(res.reply);
    }
    core_procpool_destroy(pp);
}

/* ---- fault 5: a forked child of the owner ------------------------------------------------ */

TEST(procpool_forked_child_cannot_call_and_its_destroy_leaves_the_parents_pool)
{
    struct core_procpool *pp = make_pool(2);
    pid_t a = call_pid(pp, "pid");
    pid_t child = fork();
    ASSERT_CMP_INT(child, >=, 0);
    if (child == 0) {
        struct core_procpool_result res;
        int rc = call(pp, "echo:child", 1000, &res);
        char why[200];
        core_procpool_describe(&res, why, sizeof(why));
        core_procpool_destroy(pp);
        _exit(rc == -EPIPE && strstr(why, "forked child") != NULL ? 0 : 3);
    }
    int status;
    ASSERT_EQ_INT(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ_INT(WEXITSTATUS(status), 0);
    for (int i = 0; i < 20; i++) {
        echo_ok(pp, "parent");
    }
    ASSERT_FALSE(proc_dead(a));
    ASSERT_EQ_INT(core_procpool_respawns(pp), 0);
    core_procpool_destroy(pp);
}

/* ---- fault 6: a worker that closes its socket and keeps running -------------------------- */

struct bg_call {
    struct core_procpool *pp;
    char req[300];
    int64_t timeout_ms;
    struct core_procpool_result res;
    atomic_int rc;
    atomic_bool done;
};

static void *bg_call_main(void *arg)
{
    struct bg_call *b = arg;
    atomic_store(&b->rc, call(b->pp, b->req, b->timeout_ms, &b->res));
    atomic_store(&b->done, true);
    return NULL;
}

static void bg_start(struct bg_call *b, pthread_t *t, struct core_procpool *pp, const char *req,
                     int64_t timeout_ms)
{
    b->pp = pp;
    snprintf(b->req, sizeof(b->req), "%s", req);
    b->timeout_ms = timeout_ms;
    atomic_store(&b->done, false);
    ASSERT_OK(core_thread_start(t, "caller", bg_call_main, b));
}

TEST(procpool_worker_that_closes_its_socket_and_lingers_stalls_nobody)
{
    static struct bg_call a, b;
    struct core_procpool *pp = make_pool(2);
    char path[300], req[320];
    snprintf(path, sizeof(path), "%s/linger.pid", test_tmpdir());
    snprintf(req, sizeof(req), "linger:%s", path);
    pthread_t ta, tb;
    bg_start(&a, &ta, pp, req, 200);
    WAIT_FOR(read_pid_file(path) > 0, 10);
    bg_start(&b, &tb, pp, "segv", long_ms());
    // Neither call waits for the lingering process to exit by itself (it never would).
    WAIT_FOR(atomic_load(&a.done) && atomic_load(&b.done), 5);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    ASSERT_TRUE(a.rc == -ECHILD || a.rc == -ETIMEDOUT);
    ASSERT_EQ_INT(b.rc, -ECHILD);
    ASSERT_EQ_INT(b.res.term_signal, SIGSEGV);
    WAIT_FOR(proc_dead(read_pid_file(path)), 10); // killed, not left behind
    echo_ok(pp, "one");
    echo_ok(pp, "two");
    core_procpool_destroy(pp);
}

/* ---- fault 7: replies carry the id of their request -------------------------------------- */

TEST(procpool_stray_write_is_a_framing_error_not_a_shifted_reply)
{
    struct core_procpool *pp = make_pool(1);
    struct core_procpool_result res;
    ASSERT_EQ_INT(call(pp, "stray", long_ms(), &res), -EPROTO);
    ASSERT_NULL(res.reply);
    ASSERT_EQ_INT(res.term_signal, 0);
    ASSERT_EQ_INT(core_procpool_respawns(pp), 1);
    // The next caller gets its own reply, not the one the stray write pushed back.
    echo_ok(pp, "B");
    echo_ok(pp, "C");
    core_procpool_destroy(pp);
}

/* ---- fault 8: errors are reported as they happened --------------------------------------- */

TEST(procpool_reply_claiming_a_huge_length_is_a_protocol_error)
{
    struct core_procpool *pp = make_pool(1);
    struct core_procpool_result res;
    ASSERT_EQ_INT(call(pp, "forge:1099511627776", long_ms(), &res), -EPROTO);
    ASSERT_EQ_INT(res.error, -EPROTO);
    ASSERT_EQ_INT(res.term_signal, 0); // the pool killed it; that is not what went wrong
    ASSERT_FALSE(res.timed_out);
    char why[200];
    core_procpool_describe(&res, why, sizeof(why));
    ASSERT_TRUE(strstr(why, "framing") != NULL);
    echo_ok(pp, "after");
    core_procpool_destroy(pp);
}

TEST(procpool_unknown_worker_status_is_not_reported_as_a_clean_exit)
{
    struct core_procpool *pp = make_pool(1);
    struct core_procpool_result res;
    // The worker kills the spawner (its parent, which alone can reap it) and then dies of the
    // spawner's death signal: nobody can learn its status any more.
    ASSERT_EQ_INT(call(pp, "killspawner", long_ms(), &res), -ECHILD);
    ASSERT_EQ_INT(res.exit_status, -1);
    char why[200];
    core_procpool_describe(&res, why, sizeof(why));
    ASSERT_TRUE(strstr(why, "status 0") == NULL);
    ASSERT_TRUE(strstr(why, "not known") != NULL);
    echo_ok(pp, "recovered"); // and the pool has a spawner again (fault 11)
    core_procpool_destroy(pp);
}

TEST(procpool_describe_names_the_error_of_a_call_that_never_ran)
{
    struct core_procpool *pp = make_pool(1);
    struct core_procpool_result res;
    static char huge[(1 << 16) + 1];
    ASSERT_EQ_INT(core_procpool_call(pp, huge, sizeof(huge), long_ms(), &res), -EMSGSIZE);
    char why[200];
    core_procpool_describe(&res, why, sizeof(why));
    ASSERT_TRUE(strstr(why, "handler returned") == NULL);
    ASSERT_TRUE(strstr(why, "larger") != NULL);
    ASSERT_EQ_INT(call(pp, "big", long_ms(), &res), -EMSGSIZE); // a reply over max_reply
    core_procpool_describe(&res, why, sizeof(why));
    ASSERT_TRUE(strstr(why, "larger") != NULL);
    ASSERT_OK(call(pp, "code:-32", long_ms(), &res)); // the handler's -EPIPE is its own code
    core_procpool_describe(&res, why, sizeof(why));
    ASSERT_EQ_STR(why, "handler returned -32");
    core_buf_unref(res.reply);
    core_procpool_destroy(pp);
}

/* ---- fault 9: the parent's SIGCHLD disposition ------------------------------------------- */

static void reap_everything(int sig)
{
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    errno = saved;
}

static void crash_is_named(void)
{
    struct core_procpool *pp = make_pool(1);
    struct core_procpool_result res;
    ASSERT_EQ_INT(call(pp, "segv", long_ms(), &res), -ECHILD);
    ASSERT_EQ_INT(res.term_signal, SIGSEGV);
    ASSERT_EQ_INT(res.exit_status, -1);
    echo_ok(pp, "next");
    core_procpool_destroy(pp);
}

TEST(procpool_crash_is_named_when_the_parent_ignores_sigchld)
{
    signal(SIGCHLD, SIG_IGN);
    crash_is_named();
}

TEST(procpool_crash_is_named_when_the_parent_reaps_with_waitpid_minus_one)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = reap_everything;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    ASSERT_OK(sigaction(SIGCHLD, &sa, NULL));
    crash_is_named();
}

/* ---- fault 10: a worker that died while idle fails nothing ------------------------------- */

TEST(procpool_worker_killed_while_idle_fails_nothing)
{
    struct core_procpool *pp = make_pool(1);
    pid_t w = call_pid(pp, "pid");
    kill(w, SIGKILL); // as the OOM killer would
    WAIT_FOR(proc_dead(w), 10);
    echo_ok(pp, "x");
    ASSERT_EQ_INT(core_procpool_respawns(pp), 1);
    ASSERT_NE_INT(call_pid(pp, "pid"), w);
    core_procpool_destroy(pp);
}

TEST(procpool_worker_killed_before_reading_its_request_fails_nothing)
{
    static struct bg_call b;
    struct core_procpool *pp = make_pool(1);
    pid_t w = call_pid(pp, "pid");
    kill(w, SIGSTOP);
    WAIT_FOR(proc_state(w) == 'T', 10);
    pthread_t t;
    bg_start(&b, &t, pp, "echo:y", long_ms());
    nap_ms(50); // the request most likely sits unread in the stopped worker's socket now
    kill(w, SIGKILL);
    pthread_join(t, NULL);
    ASSERT_OK(b.rc);
    ASSERT_EQ_INT(b.res.reply->len, 1);
    ASSERT_EQ_MEM(b.res.reply->data, "y", 1);
    core_buf_unref(b.res.reply);
    core_procpool_destroy(pp);
}

/* A worker that did read its request and crashed is not given the request again. */
TEST(procpool_crash_after_reading_is_reported_and_not_retried)
{
    struct core_procpool *pp = make_pool(2);
    char path[300], req[320];
    snprintf(path, sizeof(path), "%s/count", test_tmpdir());
    snprintf(req, sizeof(req), "count:%s", path);
    struct core_procpool_result res;
    ASSERT_EQ_INT(call(pp, req, long_ms(), &res), -ECHILD);
    ASSERT_EQ_INT(res.term_signal, SIGSEGV);
    FILE *f = fopen(path, "r");
    ASSERT_NOT_NULL(f);
    char buf[8];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    ASSERT_EQ_INT(n, 1);
    core_procpool_destroy(pp);
}

/* ---- fault 11: the spawner lives as long as the process, and comes back ------------------ */

static void *create_pool_thread(void *arg)
{
    *(struct core_procpool **)arg = make_pool(2);
    return NULL;
}

TEST(procpool_created_by_a_thread_that_exits_keeps_working)
{
    static struct core_procpool *pp;
    pthread_t t;
    ASSERT_OK(core_thread_start(&t, "creator", create_pool_thread, &pp));
    pthread_join(t, NULL);
    ASSERT_NOT_NULL(pp);
    for (int i = 0; i < 30; i++) {
        echo_ok(pp, "still here");
        nap_ms(5);
    }
    pid_t spawner = call_pid(pp, "ppid");
    ASSERT_FALSE(proc_dead(spawner));
    ASSERT_EQ_INT(core_procpool_respawns(pp), 0);
    core_procpool_destroy(pp);
}

TEST(procpool_recovers_from_a_dead_spawner)
{
    struct core_procpool *pp = make_pool(2);
    pid_t spawner = call_pid(pp, "ppid");
    pid_t w1 = call_pid(pp, "pid");
    kill(spawner, SIGKILL);
    WAIT_FOR(proc_dead(spawner), 10);
    WAIT_FOR(proc_dead(w1), 10); // its workers follow it
    for (int i = 0; i < 6; i++) {
        echo_ok(pp, "after the spawner died");
    }
    pid_t again = call_pid(pp, "ppid");
    ASSERT_NE_INT(again, spawner);
    ASSERT_FALSE(proc_dead(again));
    // The dead one is reaped by the calls that follow, not left a zombie until destroy.
    WAIT_FOR((echo_ok(pp, "reap"), proc_state(spawner) == 0), 10);
    core_procpool_destroy(pp);
    WAIT_FOR(proc_state(again) == 0, 10);
}

/* ---- fault 12: the deadline covers waiting for a free worker ----------------------------- */

TEST(procpool_deadline_covers_waiting_for_a_free_worker)
{
    static struct bg_call a, b;
    struct core_procpool *pp = make_pool(1);
    char path[300], req[320];
    snprintf(path, sizeof(path), "%s/hold.pid", test_tmpdir());
    snprintf(req, sizeof(req), "hold:%s", path);
    pthread_t ta, tb;
    bg_start(&a, &ta, pp, req, CORE_TIMEOUT_INFINITE);
    WAIT_FOR(read_pid_file(path) > 0, 10); // the only worker is busy for ever
    bg_start(&b, &tb, pp, "echo:z", 100);
    WAIT_FOR(atomic_load(&b.done), 5);
    pthread_join(tb, NULL);
    ASSERT_EQ_INT(b.rc, -ETIMEDOUT);
    ASSERT_FALSE(b.res.timed_out); // nothing ran, nothing was killed
    ASSERT_NULL(b.res.reply);
    char why[200];
    core_procpool_describe(&b.res, why, sizeof(why));
    ASSERT_TRUE(strstr(why, "before a worker") != NULL);
    ASSERT_FALSE(atomic_load(&a.done));
    kill(read_pid_file(path), SIGKILL);
    pthread_join(ta, NULL);
    ASSERT_EQ_INT(a.rc, -ECHILD);
    ASSERT_EQ_INT(a.res.term_signal, SIGKILL);
    echo_ok(pp, "free again");
    core_procpool_destroy(pp);
}
