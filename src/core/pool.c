// SPDX-License-Identifier: MIT
/* A fixed-size thread pool: a ring of tasks under one mutex, N workers. */
#include "core/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
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

struct core_pool {
    pthread_mutex_t mu;
    pthread_cond_t work;         /* tasks arrived, or stopping */
    pthread_cond_t space;        /* backlog has room, or stopping */
    pthread_cond_t idle;         /* a task finished or a worker finished init */
    struct core_pool_config cfg; /* immutable */
    struct task *ring;           /* guarded by mu: cfg.backlog slots */
    size_t head;                 /* guarded by mu */
    size_t count;                /* guarded by mu */
    size_t running;              /* guarded by mu: tasks being run */
    size_t started;              /* guarded by mu: workers whose init ran */
    int init_error;              /* guarded by mu: first thread_init failure */
    bool stopping;               /* guarded by mu: no more submits */
    bool joined;                 /* owner thread only */
    struct worker *workers;      /* owner thread only */
    size_t nworkers;             /* owner thread only: threads created */
};

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
    pthread_cond_broadcast(&pool->idle);
    if (rc != 0) {
        pthread_mutex_unlock(&pool->mu);
        return NULL;
    }
    for (;;) {
        while (pool->count == 0 && !pool->stopping) {
            pthread_cond_wait(&pool->work, &pool->mu);
        }
        if (pool->count == 0) {
            break; // stopping and drained
        }
        struct task t = pool->ring[pool->head];
        pool->head = (pool->head + 1) % pool->cfg.backlog;
        pool->count--;
        pool->running++;
        pthread_cond_signal(&pool->space);
        pthread_mutex_unlock(&pool->mu);

        t.fn(t.arg, state, 0);

        pthread_mutex_lock(&pool->mu);
        pool->running--;
        if (pool->running == 0 && pool->count == 0) {
            pthread_cond_broadcast(&pool->idle);
        }
    }
    pthread_mutex_unlock(&pool->mu);
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

int core_pool_create(struct core_pool **out, const struct core_pool_config *cfg)
{
    *out = NULL;
    if (cfg->threads == 0 || cfg->backlog == 0) {
        return -EINVAL;
    }
    struct core_pool *pool = calloc(1, sizeof(*pool));
    if (pool == NULL) {
        return -ENOMEM;
    }
    pool->cfg = *cfg;
    if (pool->cfg.name == NULL) {
        pool->cfg.name = "pool";
    }
    pool->ring = calloc(cfg->backlog, sizeof(*pool->ring));
    pool->workers = calloc(cfg->threads, sizeof(*pool->workers));
    if (pool->ring == NULL || pool->workers == NULL) {
        free(pool->ring);
        free(pool->workers);
        free(pool);
        return -ENOMEM;
    }
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->work, NULL);
    pthread_cond_init(&pool->space, NULL);
    pthread_cond_init(&pool->idle, NULL);

    int rc = 0;
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
    while (rc == 0 && pool->started < pool->nworkers) {
        pthread_cond_wait(&pool->idle, &pool->mu);
    }
    if (rc == 0) {
        rc = pool->init_error;
    }
    pthread_mutex_unlock(&pool->mu);
    if (rc != 0) {
        core_pool_shutdown(pool, CORE_POOL_CANCEL);
        core_pool_destroy(pool);
        return rc;
    }
    *out = pool;
    return 0;
}

static int submit(struct core_pool *pool, core_pool_task_fn fn, void *arg, bool wait)
{
    pthread_mutex_lock(&pool->mu);
    while (wait && !pool->stopping && pool->count == pool->cfg.backlog) {
        pthread_cond_wait(&pool->space, &pool->mu);
    }
    int rc = 0;
    if (pool->stopping) {
        rc = -EPIPE;
    } else if (pool->count == pool->cfg.backlog) {
        rc = -EAGAIN;
    } else {
        pool->ring[(pool->head + pool->count) % pool->cfg.backlog] = (struct task){ fn, arg };
        pool->count++;
        pthread_cond_signal(&pool->work);
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
    pthread_mutex_lock(&pool->mu);
    while (pool->count > 0 || pool->running > 0) {
        pthread_cond_wait(&pool->idle, &pool->mu);
    }
    pthread_mutex_unlock(&pool->mu);
}

size_t core_pool_pending(struct core_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    size_t n = pool->count;
    pthread_mutex_unlock(&pool->mu);
    return n;
}

void core_pool_shutdown(struct core_pool *pool, enum core_pool_shutdown_mode mode)
{
    if (pool->joined) {
        return;
    }
    struct task *cancelled = NULL;
    size_t ncancelled = 0;
    pthread_mutex_lock(&pool->mu);
    pool->stopping = true;
    if (mode == CORE_POOL_CANCEL && pool->count > 0) {
        // Take the queued tasks out under the lock; their callbacks run after it is dropped.
        cancelled = malloc(pool->count * sizeof(*cancelled));
        if (cancelled == NULL) {
            CORE_BUG("out of memory cancelling pool tasks");
        }
        while (pool->count > 0) {
            cancelled[ncancelled++] = pool->ring[pool->head];
            pool->head = (pool->head + 1) % pool->cfg.backlog;
            pool->count--;
        }
    }
    pthread_cond_broadcast(&pool->work);
    pthread_cond_broadcast(&pool->space);
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
    pthread_cond_destroy(&pool->idle);
    pthread_cond_destroy(&pool->space);
    pthread_cond_destroy(&pool->work);
    pthread_mutex_destroy(&pool->mu);
    free(pool->workers);
    free(pool->ring);
    free(pool);
}
