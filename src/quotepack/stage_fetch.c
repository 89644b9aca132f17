// SPDX-License-Identifier: MIT
/* The fetch stage: one thread drives the downloads and hands each body to the convert stage. */
#include "quotepack/stage_fetch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/thread.h"
#include "quotepack/body.h"
#include "quotepack/datetmpl.h"
#include "quotepack/fetch.h"
#include "quotepack/run.h"
#include "quotepack/spool.h"
#include "quotepack/stage_convert.h"

struct qp_fetch_stage {
    struct qp_run *run;          /* borrowed */
    struct qp_convert_stage *cs; /* borrowed */
    struct qp_fetch *fetch;
    char spill_dir[4096]; /* immutable */
    char to[128];         /* immutable: today in --date-format, for {to} */
    pthread_t thread;
    bool started; /* main thread only */
};

static enum qp_fetch_admit admit(void *ctx, size_t *idx, const char **symbol)
{
    struct qp_fetch_stage *fs = ctx;
    return qp_run_admit(fs->run, idx, symbol);
}

static void fetched(void *ctx, size_t idx, struct qp_body *body,
                    const struct qp_fetch_failure *fail)
{
    struct qp_fetch_stage *fs = ctx;
    if (fail != NULL) {
        char msg[600];
        snprintf(msg, sizeof(msg), "download failed: %s", fail->message);
        qp_run_failed(fs->run, idx, msg,
                      fail->permanent ? QP_FAILURE_PERMANENT : QP_FAILURE_TRANSIENT,
                      fail->host_given_up);
        if (fail->local_err != 0) {
            // A spill file could not be written (a full disk): like any other write error
            // this stops the run (docs/quotepack.md, "Full disk"), rather than fetching on
            // and failing every large body. The symbol stays a transient failure.
            qp_run_fail(fs->run, fail->local_err);
        }
        return;
    }
    if (!qp_run_fetched(fs->run, idx, body)) {
        qp_body_release(body); // a refresh whose body did not change: nothing to convert
        free(body);
        return;
    }
    qp_convert_stage_submit(fs->cs, idx, body);
}

static void validators(void *ctx, size_t idx, char *etag, size_t etag_size, char *last_modified,
                       size_t lm_size)
{
    struct qp_fetch_stage *fs = ctx;
    qp_run_validators(fs->run, idx, etag, etag_size, last_modified, lm_size);
}

static void from_value(void *ctx, size_t idx, char *out, size_t size)
{
    struct qp_fetch_stage *fs = ctx;
    qp_run_from(fs->run, idx, fs->run->cfg->date_format, out, size);
}

static void wake(void *ctx)
{
    struct qp_fetch_stage *fs = ctx;
    qp_fetch_wakeup(fs->fetch);
}

int qp_fetch_stage_create(struct qp_fetch_stage **out, struct qp_run *run,
                          struct qp_convert_stage *cs)
{
    const struct qp_config *cfg = run->cfg;
    struct qp_fetch_stage *fs = core_xcalloc(1, sizeof(*fs));
    fs->run = run;
    fs->cs = cs;
    snprintf(fs->spill_dir, sizeof(fs->spill_dir), "%s/%s", cfg->out, QP_SPOOL_DIR);
    *out = NULL;
    struct qp_day today;
    int rc = qp_today(&today);
    if (rc == 0) {
        rc = qp_day_format(today, cfg->date_format, fs->to, sizeof(fs->to));
    }
    if (rc != 0) {
        fprintf(stderr, "quotepack: cannot tell today's date for {to} (QUOTEPACK_TODAY=%s?)\n",
                getenv("QUOTEPACK_TODAY") != NULL ? getenv("QUOTEPACK_TODAY") : "");
        free(fs);
        return rc;
    }
    struct qp_fetch_config fc = {
        .url_template = run->source,
        .to = fs->to,
        .connections = cfg->connections,
        .rate = cfg->rate,
        .retries = cfg->retries,
        .timeout_s = cfg->timeout_s,
        .speed_limit = cfg->speed_limit,
        .connect_timeout_s = cfg->connect_timeout_s,
        .max_time_s = cfg->max_time_s,
        .host_failures = cfg->host_failures,
        .cacert = cfg->cacert,
        .insecure = cfg->insecure,
        .headers = (const char *const *)cfg->headers,
        .nheaders = cfg->nheaders,
        .user_agent = cfg->user_agent,
        .max_body = cfg->max_body,
        .spill_dir = fs->spill_dir,
        .spill_at = (size_t)4 << 20,
        .admit = admit,
        .validators = cfg->refresh ? validators : NULL,
        .from = cfg->has_from ? from_value : NULL,
        .done = fetched,
        .ctx = fs,
    };
    rc = qp_fetch_create(&fs->fetch, &fc);
    if (rc != 0) {
        free(fs);
        return rc;
    }
    run->wake_fetch = wake;
    run->wake_ctx = fs;
    *out = fs;
    return 0;
}

static void *fetch_main(void *arg)
{
    struct qp_fetch_stage *fs = arg;
    int rc = qp_fetch_run(fs->fetch);
    if (rc != 0) {
        qp_run_fail(fs->run, rc);
    }
    return NULL;
}

int qp_fetch_stage_start(struct qp_fetch_stage *fs)
{
    int rc = core_thread_start(&fs->thread, "fetch", fetch_main, fs);
    fs->started = rc == 0;
    return rc;
}

void qp_fetch_stage_stop(struct qp_fetch_stage *fs)
{
    if (fs != NULL) {
        qp_fetch_stop(fs->fetch);
    }
}

void qp_fetch_stage_join(struct qp_fetch_stage *fs)
{
    if (fs != NULL && fs->started) {
        pthread_join(fs->thread, NULL);
        fs->started = false;
    }
}

void qp_fetch_stage_destroy(struct qp_fetch_stage *fs)
{
    if (fs == NULL) {
        return;
    }
    fs->run->wake_fetch = NULL;
    qp_fetch_destroy(fs->fetch);
    free(fs);
}

uint64_t qp_fetch_stage_bytes(struct qp_fetch_stage *fs)
{
    return fs != NULL ? qp_fetch_bytes(fs->fetch) : 0;
}

uint64_t qp_fetch_stage_requests(struct qp_fetch_stage *fs)
{
    return fs != NULL ? qp_fetch_requests(fs->fetch) : 0;
}

uint64_t qp_fetch_stage_not_modified(struct qp_fetch_stage *fs)
{
    return fs != NULL ? qp_fetch_not_modified(fs->fetch) : 0;
}

uint64_t qp_fetch_stage_hosts_given_up(struct qp_fetch_stage *fs)
{
    return fs != NULL ? qp_fetch_hosts_given_up(fs->fetch) : 0;
}
