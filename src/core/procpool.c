// SPDX-License-Identifier: MIT
/*
 * A pool of worker processes, the callers' side. A single-threaded spawner process
 * (procpool_spawner.c) forks every worker and hands its socket, status pipe and pidfd back over
 * SCM_RIGHTS; callers talk to workers directly, kill them through their pidfd, and learn how
 * they ended from their status pipe, so no caller ever waits on the spawner for a reap.
 */
#include "core/procpool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/procpool_impl.h"
#include "core/procpool_proto.h"
#include "core/thread.h"

#define DEFAULT_MAX_REQUEST ((size_t)64 << 20)
#define DEFAULT_MAX_REPLY   ((size_t)256 << 20)
/* Tries for a request whose worker provably died before it had read the whole request. */
#define MAX_TRIES 3

/* Kills, forgets and counts a worker that failed. */
static void retire(struct core_procpool *pp, struct worker *w)
{
    core_procpool_kill_worker(w);
    core_procpool_close_worker(w);
    atomic_fetch_add(&pp->respawns, 1);
}

/* Starts the replacement of a retired worker now if the deadline leaves time, else later. */
static void respawn_soon(struct core_procpool *pp, struct worker *w, int64_t deadline)
{
    if (deadline >= 0 && core_now_ns() >= deadline) {
        return; // the next call that takes this slot starts it
    }
    int rc = core_procpool_spawn_into(pp, w, deadline);
    if (rc != 0) {
        LOG_WARN("procpool: cannot start a worker now: %s; the next call will retry",
                 strerror(-rc));
    }
}

/* Fills the result of a worker that died with the request, retires and replaces it. */
static int died(struct core_procpool *pp, struct pp_call *c, struct core_procpool_result *res)
{
    core_procpool_kill_worker(
            c->w); // a worker that closed its socket but lingers goes now, not at exit
    core_procpool_take_status(c, c->deadline);
    if (c->status_state == 1 && WIFSIGNALED(c->status)) {
        res->term_signal = WTERMSIG(c->status);
    } else if (c->status_state == 1 && WIFEXITED(c->status)) {
        res->exit_status = WEXITSTATUS(c->status);
    }
    retire(pp, c->w);
    respawn_soon(pp, c->w, c->deadline);
    return -ECHILD;
}

/* Runs the request on slot w (which the caller owns), on a fresh worker when needed. */
static int run_request(struct core_procpool *pp, struct worker *w, const void *in, size_t len,
                       int64_t deadline, struct core_procpool_result *res)
{
    for (int tries = 1;; tries++) {
        if (w->pid < 0) {
            int rc = core_procpool_spawn_into(pp, w, deadline);
            if (rc != 0) {
                return rc;
            }
        } else if (!core_procpool_looks_idle(w)) {
            LOG_WARN("procpool: worker %d died or wrote while idle; starting a fresh one",
                     (int)w->pid);
            retire(pp, w);
            tries--; // nothing was sent to it: this is not a try
            continue;
        }
        struct pp_call c = { .w = w, .in = in, .len = len, .max_reply = pp->cfg.max_reply };
        c.deadline = deadline;
        c.seq = atomic_fetch_add(&pp->next_seq, 1) + 1;
        enum pp_outcome o = core_procpool_exchange(&c);
        if (o != PP_X_OK && o != PP_X_OVERFLOW) {
            core_buf_unref(c.reply);
            c.reply = NULL;
        }
        switch (o) {
        case PP_X_OK:
            res->code = c.rep.code;
            res->reply = c.reply;
            if (c.stray_after) {
                LOG_WARN("procpool: worker %d wrote past its reply; replacing it", (int)w->pid);
                retire(pp, w);
            }
            return 0;
        case PP_X_OVERFLOW:
            core_buf_unref(c.reply);
            return -EMSGSIZE;
        case PP_X_NOT_STARTED:
            if (tries < MAX_TRIES) {
                LOG_WARN("procpool: worker %d died before it took a request; running the request "
                         "on a fresh worker",
                         (int)w->pid);
                retire(pp, w);
                continue;
            }
            return died(pp, &c, res); // fresh workers keep dying: report the last one
        case PP_X_DIED:
            return died(pp, &c, res);
        case PP_X_TIMEOUT:
            res->timed_out = true;
            res->term_signal = SIGKILL;
            retire(pp, w);
            return -ETIMEDOUT;
        case PP_X_PROTO:
            retire(pp, w);
            respawn_soon(pp, w, deadline);
            return -EPROTO;
        case PP_X_ERROR:
            retire(pp, w);
            return c.err;
        }
    }
}

/* ---- slots and the public API ------------------------------------------------------------ */

/* Takes an idle slot, waiting at most until deadline. -EPIPE once the pool is stopping. */
static int acquire(struct core_procpool *pp, int64_t deadline, struct worker **out)
{
    int rc = 0;
    bool timed_out = false;
    *out = NULL;
    pthread_mutex_lock(&pp->mu);
    for (;;) {
        if (pp->stopping) {
            rc = -EPIPE;
            break;
        }
        // Prefer a slot with a live worker; an empty one (its worker failed, and the deadline
        // left no time to replace it) is filled by the call that takes it. pid is read here
        // only for free slots, whose last owner wrote it before it released the slot.
        for (size_t i = 0; i < pp->cfg.workers; i++) {
            struct worker *w = &pp->workers[i];
            if (!w->busy && (*out == NULL || (*out)->pid < 0)) {
                *out = w;
            }
        }
        if (*out != NULL) {
            (*out)->busy = true;
            break;
        }
        if (timed_out) {
            rc = -ETIMEDOUT;
            break;
        }
        pp->idle_waiters++;
        timed_out = core_cond_wait_until(&pp->idle, &pp->mu, deadline) == -ETIMEDOUT;
        pp->idle_waiters--;
    }
    pthread_mutex_unlock(&pp->mu);
    return rc;
}

static void release(struct core_procpool *pp, struct worker *w)
{
    pthread_mutex_lock(&pp->mu);
    w->busy = false;
    if (pp->idle_waiters > 0) {
        pthread_cond_signal(&pp->idle);
    }
    pthread_mutex_unlock(&pp->mu);
}

int core_procpool_call(struct core_procpool *pp, const void *in, size_t len, int64_t timeout_ms,
                       struct core_procpool_result *result)
{
    memset(result, 0, sizeof(*result));
    result->exit_status = -1;
    int rc;
    if (getpid() != pp->owner) {
        rc = -EPIPE; // a forked child: the workers belong to the parent
    } else if (len > pp->cfg.max_request) {
        rc = -EMSGSIZE;
    } else {
        int64_t deadline = core_deadline_from_ms(timeout_ms);
        core_procpool_reap_dead_spawner(pp); // a restarted spawner's predecessor, once it is gone
        struct worker *w;
        rc = acquire(pp, deadline, &w);
        if (rc == 0) {
            rc = run_request(pp, w, in, len, deadline, result);
            release(pp, w);
        }
    }
    result->error = rc;
    return rc;
}

void core_procpool_describe(const struct core_procpool_result *result, char *buf, size_t size)
{
    switch (result->error) {
    case 0:
        snprintf(buf, size, "handler returned %d", result->code);
        return;
    case -ETIMEDOUT:
        snprintf(buf, size, "%s",
                 result->timed_out ? "worker overran its deadline and was killed"
                                   : "deadline passed before a worker could take the request");
        return;
    case -ECHILD:
        if (result->term_signal != 0) {
            const char *abbrev = sigabbrev_np(result->term_signal);
            snprintf(buf, size, "worker killed by signal %d (SIG%s: %s)", result->term_signal,
                     abbrev ? abbrev : "?", strsignal(result->term_signal));
        } else if (result->exit_status >= 0) {
            snprintf(buf, size, "worker exited with status %d", result->exit_status);
        } else {
            snprintf(buf, size, "worker died; how is not known (its status was not reported)");
        }
        return;
    case -EPROTO:
        snprintf(buf, size, "worker broke the reply framing and was killed");
        return;
    case -EMSGSIZE:
        snprintf(buf, size, "request or reply larger than the pool accepts");
        return;
    case -EPIPE:
        snprintf(buf, size,
                 "process pool unavailable (shut down, used from a forked child, or "
                 "no spawner process could run)");
        return;
    default:
        snprintf(buf, size, "no worker could take the request: %s", strerror(-result->error));
        return;
    }
}

uint64_t core_procpool_respawns(struct core_procpool *pp)
{
    return atomic_load(&pp->respawns);
}

/* Frees the memory of a pool whose processes are gone or not ours. */
static void free_pool(struct core_procpool *pp)
{
    free(pp->mem.pfds);
    free(pp->mem.kids);
    free(pp->workers);
    free(pp);
}

/* The synchronisation objects, checked; on failure nothing stays initialised. */
static int init_sync(struct core_procpool *pp)
{
    int rc = -pthread_mutex_init(&pp->mu, NULL);
    if (rc != 0) {
        return rc;
    }
    rc = core_cond_init_monotonic(&pp->idle);
    if (rc != 0) {
        goto fail_idle;
    }
    rc = -pthread_mutex_init(&pp->spawner_mu, NULL);
    if (rc != 0) {
        goto fail_spawner_mu;
    }
    rc = core_cond_init_monotonic(&pp->spawner_free);
    if (rc != 0) {
        goto fail_spawner_free;
    }
    return 0;

fail_spawner_free:
    pthread_mutex_destroy(&pp->spawner_mu);
fail_spawner_mu:
    pthread_cond_destroy(&pp->idle);
fail_idle:
    pthread_mutex_destroy(&pp->mu);
    return rc;
}

int core_procpool_create(struct core_procpool **out, const struct core_procpool_config *cfg)
{
    *out = NULL;
    if (cfg->workers == 0 || cfg->handler == NULL || cfg->workers > 65536) {
        return -EINVAL;
    }
    struct core_procpool *pp = calloc(1, sizeof(*pp));
    if (pp == NULL) {
        return -ENOMEM;
    }
    pp->cfg = *cfg;
    if (pp->cfg.max_request == 0) {
        pp->cfg.max_request = DEFAULT_MAX_REQUEST;
    }
    if (pp->cfg.max_reply == 0) {
        pp->cfg.max_reply = DEFAULT_MAX_REPLY;
    }
    pp->owner = getpid();
    pp->spawner_fd = pp->spawner_pidfd = -1;
    pp->spawner_pid = -1;
    atomic_init(&pp->dead_spawner, -1);
    // Room in the spawner's table for every live worker and as many killed ones not reaped yet.
    pp->mem.cap = 2 * cfg->workers + 8;
    pp->workers = calloc(cfg->workers, sizeof(*pp->workers));
    pp->mem.kids = calloc(pp->mem.cap, sizeof(*pp->mem.kids));
    pp->mem.pfds = calloc(pp->mem.cap + 2, sizeof(*pp->mem.pfds));
    if (pp->workers == NULL || pp->mem.kids == NULL || pp->mem.pfds == NULL) {
        free_pool(pp);
        return -ENOMEM;
    }
    for (size_t i = 0; i < cfg->workers; i++) {
        pp->workers[i] = (struct worker){ .pid = -1, .sock = -1, .status_fd = -1, .pidfd = -1 };
    }
    int rc = init_sync(pp);
    if (rc != 0) {
        free_pool(pp);
        return rc;
    }
    rc = core_procpool_start_spawner(pp);
    for (size_t i = 0; rc == 0 && i < cfg->workers; i++) {
        rc = core_procpool_spawn_into(pp, &pp->workers[i], CORE_DEADLINE_NEVER);
    }
    if (rc != 0) {
        core_procpool_destroy(pp);
        return rc;
    }
    *out = pp;
    return 0;
}

void core_procpool_destroy(struct core_procpool *pp)
{
    if (pp == NULL) {
        return;
    }
    if (getpid() != pp->owner) {
        // A forked child: close its copies and free its memory, and leave the processes, the
        // spawner's socket and the locks (which another thread may have held at the fork) to
        // the parent.
        for (size_t i = 0; i < pp->cfg.workers; i++) {
            core_procpool_close_worker(&pp->workers[i]);
        }
        pp_close_fd(&pp->spawner_fd);
        pp_close_fd(&pp->spawner_pidfd);
        free_pool(pp);
        return;
    }
    pthread_mutex_lock(&pp->mu);
    pp->stopping = true;
    pthread_cond_broadcast(&pp->idle);
    pthread_mutex_unlock(&pp->mu);
    for (size_t i = 0; i < pp->cfg.workers; i++) {
        core_procpool_kill_worker(&pp->workers[i]); // kill before the spawner reaps them
        core_procpool_close_worker(&pp->workers[i]);
    }
    core_procpool_stop_spawner(pp);
    pthread_cond_destroy(&pp->spawner_free);
    pthread_mutex_destroy(&pp->spawner_mu);
    pthread_cond_destroy(&pp->idle);
    pthread_mutex_destroy(&pp->mu);
    free_pool(pp);
}
