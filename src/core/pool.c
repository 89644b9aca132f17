// SPDX-License-Identifier: MIT
/* A fixed-size thread pool: the core ring of tasks under one mutex, N workers. */
#include "core/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/ring.h"
#include "core/thread.h"

struct task {
    core_pool_task_fn fn;
    void *arg;
};

struct worker {
    struct core_pool *pool;
    pthread_t thread;
    size_t index;
};

/*
 * Wake-up policy (the queue's): each condition variable is signalled only when its waiter
 * count says someone is blocked on it, and the counts are kept under mu.
 * idle is broadcast whenever "no task queued and none running" may have become true: when the
 * last running task ends, when shutdown empties the backlog, and when a worker exits.
 */
struct core_pool {
    pthread_mutex_t mu;
    pthread_cond_t work;         /* a task arrived, or stopping */
    pthread_cond_t space;        /* the backlog has room, or stopping */
    pthread_cond_t idle;         /* idle may hold now, or a worker finished init */
    struct core_pool_config cfg; /* immutable */
    struct core_ring ring;       /* guarded by mu: struct task, cfg.backlog slots */
    size_t running;              /* guarded by mu: tasks being run */
    size_t started;              /* guarded by mu: workers whose init ran */
    size_t work_waiters;         /* guarded by mu: workers blocked on work */
    size_t space_waiters;        /* guarded by mu: submitters blocked on space */
    size_t idle_waiters;         /* guarded by mu: threads blocked on idle */
    int init_error;              /* guarded by mu: first thread_init failure */
    bool stopping;               /* guarded by mu: no more submits */
    bool joined;                 /* owner thread only */
    struct worker *workers;      /* owner thread only */
    size_t nworkers;             /* owner thread only: threads created */
};

/* The pool whose task this thread is running, if any (submit_wait and wait_idle use it). */
static _Thread_local const struct core_pool *current_pool;

static void wake_idle_locked(struct core_pool *pool)
{
    if (pool->idle_waiters > 0) {
        pthread_cond_broadcast(&pool->idle);
    }
}

/* A worker leaves: let wait_idle re-check its predicate (the worker may have been the last). */
static void worker_exit_locked(struct core_pool *pool)
{
    wake_idle_locked(pool);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct core_pool *pool = w->pool;
    void *state = NULL;
    int rc = 0;
    if (pool->cfg.thread_init != NULL) {
        rc = pool->cfg.thread_init(pool->cfg.ctx, &state);
    }
    pthread_mutex_lock(&pool->mu);
    pool->started++;
    if (rc != 0 && pool->init_error == 0) {
        pool->init_error = rc;
    }
    pthread_cond_broadcast(&pool->idle); // create() waits on it for every init
    if (rc != 0) {
        worker_exit_locked(pool);
        pthread_mutex_unlock(&pool->mu);
        return NULL;
    }
    current_pool = pool;
    for (;;) {
        while (core_ring_empty(&pool->ring) && !pool->stopping) {
            pool->work_waiters++;
            pthread_cond_wait(&pool->work, &pool->mu);
            pool->work_waiters--;
        }
        if (core_ring_empty(&pool->ring)) {
            break; // stopping and drained
        }
        struct task t;
        core_ring_pop(&pool->ring, &t, sizeof(t));
        pool->running++;
        if (pool->space_waiters > 0) {
            pthread_cond_signal(&pool->space);
        }
        pthread_mutex_unlock(&pool->mu);

        t.fn(t.arg, state, 0);

        pthread_mutex_lock(&pool->mu);
        pool->running--;
        if (pool->running == 0 && core_ring_empty(&pool->ring)) {
            wake_idle_locked(pool);
        }
    }
    worker_exit_locked(pool);
    pthread_mutex_unlock(&pool->mu);
    current_pool = NULL;
    if (pool->cfg.thread_fini != NULL) {
        pool->cfg.thread_fini(pool->cfg.ctx, state);
    }
    return NULL;
}

static void join_all(struct core_pool *pool)
{
    for (size_t i = 0; i < pool->nworkers; i++) {
        pthread_join(pool->workers[i].thread, NULL);
    }
    pool->joined = true;
}

/* Frees what init_pool set up; the threads are joined (or were never started). */
static void free_pool(struct core_pool *pool)
{
    pthread_cond_destroy(&pool->idle);
    pthread_cond_destroy(&pool->space);
    pthread_cond_destroy(&pool->work);
    pthread_mutex_destroy(&pool->mu);
    core_ring_release(&pool->ring);
    free(pool->workers);
    free(pool);
}

/* Allocates the pool and its synchronisation objects, checking every init. */
static int init_pool(struct core_pool **out, const struct core_pool_config *cfg)
{
    *out = NULL;
    struct core_pool *pool = calloc(1, sizeof(*pool));
    if (pool == NULL) {
        return -ENOMEM;
    }
    pool->cfg = *cfg;
    if (pool->cfg.name == NULL) {
        pool->cfg.name = "pool";
    }
    int rc = core_ring_init(&pool->ring, cfg->backlog, sizeof(struct task));
    if (rc != 0) {
        goto fail_ring;
    }
    pool->workers = calloc(cfg->threads, sizeof(*pool->workers));
    if (pool->workers == NULL) {
        rc = -ENOMEM;
        goto fail_workers;
    }
    rc = -pthread_mutex_init(&pool->mu, NULL);
    if (rc != 0) {
        goto fail_mu;
    }
    rc = -pthread_cond_init(&pool->work, NULL);
    if (rc != 0) {
        goto fail_work;
    }
    rc = -pthread_cond_init(&pool->space, NULL);
    if (rc != 0) {
        goto fail_space;
    }
    rc = -pthread_cond_init(&pool->idle, NULL);
    if (rc != 0) {
        goto fail_idle;
    }
    *out = pool;
    return 0;

fail_idle:
    pthread_cond_destroy(&pool->space);
fail_space:
    pthread_cond_destroy(&pool->work);
fail_work:
    pthread_mutex_destroy(&pool->mu);
fail_mu:
    free(pool->workers);
fail_workers:
    core_ring_release(&pool->ring);
fail_ring:
    free(pool);
    return rc;
}

int core_pool_create(struct core_pool **out, const struct core_pool_config *cfg)
{
    *out = NULL;
    if (cfg->threads == 0 || cfg->backlog == 0) {
        return -EINVAL;
    }
    struct core_pool *pool;
    int rc = init_pool(&pool, cfg);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < cfg->threads; i++) {
        struct worker *w = &pool->workers[i];
        w->pool = pool;
        w->index = i;
        char name[32];
        snprintf(name, sizeof(name), "%.10s/%u", pool->cfg.name, (unsigned)(i % 10000));
        rc = core_thread_start(&w->thread, name, worker_main, w);
        if (rc != 0) {
            break;
        }
        pool->nworkers++;
    }
    pthread_mutex_lock(&pool->mu);
    while (pool->started < pool->nworkers) {
        pthread_cond_wait(&pool->idle, &pool->mu);
    }
    if (rc == 0) {
        rc = pool->init_error;
    }
    pthread_mutex_unlock(&pool->mu);
    if (rc != 0) {
        core_pool_shutdown(pool, CORE_POOL_CANCEL);
        free_pool(pool);
        return rc;
    }
    *out = pool;
    return 0;
}

static int submit(struct core_pool *pool, core_pool_task_fn fn, void *arg, bool wait)
{
    // A task that waits for room in its own pool may wait for itself (with every worker
    // doing the same, nobody is left to make room): refuse instead of blocking.
    bool own_worker = current_pool == pool;
    pthread_mutex_lock(&pool->mu);
    while (wait && !own_worker && !pool->stopping && core_ring_full(&pool->ring)) {
        pool->space_waiters++;
        pthread_cond_wait(&pool->space, &pool->mu);
        pool->space_waiters--;
    }
    int rc = 0;
    if (pool->stopping) {
        rc = -EPIPE;
    } else if (core_ring_full(&pool->ring)) {
        rc = wait ? -EDEADLK : -EAGAIN;
    } else {
        struct task t = { fn, arg };
        core_ring_push(&pool->ring, &t, sizeof(t));
        if (pool->work_waiters > 0) {
            pthread_cond_signal(&pool->work);
        }
    }
    pthread_mutex_unlock(&pool->mu);
    return rc;
}

int core_pool_submit(struct core_pool *pool, core_pool_task_fn fn, void *arg)
{
    return submit(pool, fn, arg, false);
}

int core_pool_submit_wait(struct core_pool *pool, core_pool_task_fn fn, void *arg)
{
    return submit(pool, fn, arg, true);
}

void core_pool_wait_idle(struct core_pool *pool)
{
    if (current_pool == pool) {
        CORE_BUG("core_pool_wait_idle called from one of the pool's own tasks");
    }
    pthread_mutex_lock(&pool->mu);
    while (!core_ring_empty(&pool->ring) || pool->running > 0) {
        pool->idle_waiters++;
        pthread_cond_wait(&pool->idle, &pool->mu);
        pool->idle_waiters--;
    }
    pthread_mutex_unlock(&pool->mu);
}

size_t core_pool_pending(struct core_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    size_t n = pool->ring.count;
    pthread_mutex_unlock(&pool->mu);
    return n;
}

void core_pool_shutdown(struct core_pool *pool, enum core_pool_shutdown_mode mode)
{
    if (current_pool == pool) {
        CORE_BUG("core_pool_shutdown called from one of the pool's own tasks");
    }
    if (pool->joined) {
        return;
    }
    struct task *cancelled = NULL;
    size_t ncancelled = 0;
    pthread_mutex_lock(&pool->mu);
    pool->stopping = true;
    if (mode == CORE_POOL_CANCEL && !core_ring_empty(&pool->ring)) {
        // Take the queued tasks out under the lock; their callbacks run after it is dropped.
        cancelled = malloc(pool->ring.count * sizeof(*cancelled));
        if (cancelled == NULL) {
            CORE_BUG("out of memory cancelling pool tasks");
        }
        while (!core_ring_empty(&pool->ring)) {
            core_ring_pop(&pool->ring, &cancelled[ncancelled++], sizeof(*cancelled));
        }
    }
    pthread_cond_broadcast(&pool->work);
    pthread_cond_broadcast(&pool->space);
    // The backlog may just have become empty with nothing running: nobody else would say so.
    wake_idle_locked(pool);
    pthread_mutex_unlock(&pool->mu);

    for (size_t i = 0; i < ncancelled; i++) {
        cancelled[i].fn(cancelled[i].arg, NULL, -ECANCELED);
    }
    free(cancelled);
    join_all(pool);
}

void core_pool_destroy(struct core_pool *pool)
{
    if (pool == NULL) {
        return;
    }
    core_pool_shutdown(pool, CORE_POOL_DRAIN);
    free_pool(pool);
}
