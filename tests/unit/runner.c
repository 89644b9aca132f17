// SPDX-License-Identifier: MIT
/*
 * Unit-test runner: runs every registered test in its own forked child (in its own process
 * group) under a timeout, prints TAP, and ends with "# N passed, N failed".
 * Usage: unit_<program> [-l] [substring...]   (-l lists the tests; substrings filter them)
 */
#include "testlib.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct test_case *head;
static struct test_case **tail = &head;
static char tmpdir[256];

void test_register(struct test_case *tc)
{
    *tail = tc;
    tail = &tc->next;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "# %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fflush(stderr);
    _exit(1);
}

int test_timeout_multiplier(void)
{
    const char *m = getenv("TEST_TIMEOUT_MULTIPLIER");
    int v = m ? atoi(m) : 1;
    return v < 1 ? 1 : v;
}

const char *test_tmpdir(void)
{
    return tmpdir;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static bool selected(const struct test_case *tc, int argc, char **argv, int first)
{
    if (first >= argc) {
        return true;
    }
    for (int i = first; i < argc; i++) {
        if (strstr(tc->name, argv[i]) != NULL) {
            return true;
        }
    }
    return false;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs one test; returns true if it passed. */
static bool run_one(struct test_case *tc, int index, char *why, size_t whylen)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/unit-%d-%d-XXXXXX", (int)getpid(), index);
    if (mkdtemp(tmpdir) == NULL) {
        snprintf(why, whylen, "mkdtemp: %s", strerror(errno));
        return false;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, whylen, "fork: %s", strerror(errno));
        return false;
    }
    if (pid == 0) {
        setpgid(0, 0);
        signal(SIGPIPE, SIG_IGN);
        tc->fn();
        fflush(NULL);
        _exit(0);
    }
    setpgid(pid, pid);
    int timeout = tc->timeout_s * test_timeout_multiplier();
    double deadline = now_s() + timeout;
    int status = 0;
    bool timed_out = false;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            break;
        }
        if (r < 0 && errno != EINTR) {
            snprintf(why, whylen, "waitpid: %s", strerror(errno));
            return false;
        }
        if (now_s() > deadline) {
            timed_out = true;
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        struct timespec nap = { 0, 2 * 1000 * 1000 };
        nanosleep(&nap, NULL);
    }
    // Whatever the test left running in its process group (workers, servers) goes too.
    kill(-pid, SIGKILL);
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (timed_out) {
        snprintf(why, whylen, "timed out after %d s", timeout);
        return false;
    }
    if (WIFSIGNALED(status)) {
        snprintf(why, whylen, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
        return false;
    }
    if (WEXITSTATUS(status) != 0) {
        snprintf(why, whylen, "exit status %d", WEXITSTATUS(status));
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "-l") == 0) {
        for (struct test_case *tc = head; tc != NULL; tc = tc->next) {
            printf("%s\n", tc->name);
        }
        return 0;
    }
    int total = 0;
    for (struct test_case *tc = head; tc != NULL; tc = tc->next) {
        total += selected(tc, argc, argv, first);
    }
    printf("1..%d\n", total);
    fflush(stdout);
    int passed = 0, failed = 0, index = 0;
    for (struct test_case *tc = head; tc != NULL; tc = tc->next) {
        if (!selected(tc, argc, argv, first)) {
            continue;
        }
        index++;
        char why[256] = "";
        double t0 = now_s();
        bool ok = run_one(tc, index, why, sizeof(why));
        double dt = now_s() - t0;
        const char *file = strrchr(tc->file, '/');
        file = file ? file + 1 : tc->file;
        if (ok) {
            passed++;
            printf("ok %d - %s: %s (%.2fs)\n", index, file, tc->name, dt);
        } else {
            failed++;
            printf("not ok %d - %s: %s # %s\n", index, file, tc->name, why);
        }
        fflush(stdout);
    }
    printf("# %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
