// SPDX-License-Identifier: MIT
/* The convert stage: CSV body -> XML -> compressed archive entry in the spool, on every core. */
#include "quotepack/stage_convert.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/procpool.h"
#include "quotepack/body.h"
#include "quotepack/console.h"
#include "quotepack/convert.h"
#include "quotepack/member.h"
#include "quotepack/run.h"
#include "quotepack/spool.h"

struct qp_convert_stage {
    struct qp_run *run;           /* borrowed */
    struct qp_convert_opts copts; /* immutable */
    struct core_pool *pool;       /* owner: main thread */
    struct core_procpool *pp;     /* --isolate; thread-safe */
};

/* A pool thread's own tools. */
struct conv_thread {
    struct qp_spool_writer *w;
    struct qp_member *m; /* in-process only */
};

struct job {
    struct qp_convert_stage *cs;
    size_t idx;
    struct qp_body *body;
};

/* What converting one symbol came to. */
struct outcome {
    enum {
        OUT_OK,
        OUT_FAILED,
        OUT_FATAL
    } kind;
    enum qp_failure failure; /* OUT_FAILED */
    int rc;                  /* OUT_FATAL: the errno */
    uint64_t rows;
    char delimiter; /* OUT_OK: the delimiter the CSV was read with (given or detected) */
    struct qp_member_info info;
    char first[QP_CONVERT_KEY]; /* OUT_OK: for the manifest (qp_convert_result) */
    char last[QP_CONVERT_KEY];
    char message[512];
};

static void describe_convert_error(char *buf, size_t size, const struct qp_convert_error *err)
{
    const char *what = err->status == QP_CONVERT_NOT_CSV     ? "not CSV"
                       : err->status == QP_CONVERT_BAD_CSV   ? "bad CSV"
                       : err->status == QP_CONVERT_BAD_XML   ? "not representable in XML"
                       : err->status == QP_CONVERT_TOO_LARGE ? "too large"
                                                             : "conversion failed";
    if (err->line > 0) {
        snprintf(buf, size, "%s (%s) at line %llu, column %llu: %s", what,
                 qp_convert_status_name(err->status), (unsigned long long)err->line,
                 (unsigned long long)err->column, err->message);
    } else {
        snprintf(buf, size, "%s (%s): %s", what, qp_convert_status_name(err->status), err->message);
    }
}

/*
 * The steps both ways of converting share: stream body through the converter into the
 * member writer m, whose frames go to sink(ctx). Fills o.
 */
static void convert_entry(const struct qp_convert_opts *copts, struct qp_member *m,
                          const char *symbol, int64_t mtime, struct qp_body *body,
                          qp_member_sink_fn sink, void *ctx, struct outcome *o)
{
    char name[QP_MAX_SYMBOL + 8];
    struct qp_convert_result res;
    struct qp_convert_error err;
    memset(o, 0, sizeof(*o));
    snprintf(name, sizeof(name), "%s.xml", symbol);
    int rc = qp_member_begin(m, name, mtime, sink, ctx);
    if (rc != 0) {
        o->kind = OUT_FAILED;
        o->failure = QP_FAILURE_PERMANENT;
        snprintf(o->message, sizeof(o->message), "cannot name the archive member %s", name);
        return;
    }
    qp_body_rewind(body);
    enum qp_convert_status st =
            qp_convert_stream(qp_body_read, body, qp_member_write, m, copts, &res, &err);
    if (st == QP_CONVERT_IO) {
        o->kind = OUT_FATAL;
        o->rc = err.sys_errno != 0 ? err.sys_errno : -EIO;
        snprintf(o->message, sizeof(o->message), "%s", err.message);
        return;
    }
    if (st != QP_CONVERT_OK) {
        err.status = st;
        o->kind = OUT_FAILED;
        o->failure = QP_FAILURE_PERMANENT;
        describe_convert_error(o->message, sizeof(o->message), &err);
        return;
    }
    rc = qp_member_end(m, &o->info);
    if (rc != 0) {
        o->kind = OUT_FATAL;
        o->rc = rc;
        snprintf(o->message, sizeof(o->message), "cannot write the archive entry");
        return;
    }
    o->kind = OUT_OK;
    o->rows = res.rows;
    o->delimiter = res.delimiter;
    memcpy(o->first, res.first, sizeof(o->first));
    memcpy(o->last, res.last, sizeof(o->last));
}

/* ---- isolated worker processes ---------------------------------------------------------- */

/* Request: this header, then the symbol, the body file's path (or nothing), the segment's
 * path, then the body itself when it is inline. */
struct iso_request {
    uint32_t name_len;
    uint32_t body_path_len; /* 0: the body follows inline */
    uint32_t seg_path_len;
    uint32_t pad;
    uint64_t seg_off;
    int64_t mtime;
};

struct iso_reply {
    int32_t kind; /* enum of struct outcome */
    int32_t failure;
    int32_t rc;
    uint32_t crc;
    uint32_t delimiter; /* the byte the CSV was read with */
    uint32_t pad;
    uint64_t rows;
    uint64_t xml_len;
    uint64_t data_len;
    uint64_t hdr_len;
    unsigned char sha256[32];
    char first[QP_CONVERT_KEY];
    char last[QP_CONVERT_KEY];
    char message[512];
};

/* Writes a record at a place in a segment file another process reserved. */
struct seg_sink {
    int fd;
    uint64_t pos;
};

static int seg_sink_write(void *ctx, const void *data, size_t len)
{
    struct seg_sink *s = ctx;
    const char *p = data;
    while (len > 0) {
        ssize_t n = pwrite(s->fd, p, len, (off_t)s->pos);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += n;
        len -= (size_t)n;
        s->pos += (uint64_t)n;
    }
    return 0;
}

/*
 * Runs in a worker process (--isolate). A crash anywhere in here fails that symbol only; the
 * bytes it left in the segment are overwritten by the parent thread's next record.
 */
static int iso_handler(void *ctx, const void *in, size_t len, struct core_procpool_out *out)
{
    const struct qp_convert_stage *cs = ctx;
    static struct qp_member *m; // this worker process's own writer, made on first use
    struct iso_request rq;
    struct iso_reply r;
    struct outcome o;
    char name[QP_MAX_SYMBOL + 1];
    char body_path[4096];
    char seg_path[4096];
    if (len < sizeof(rq)) {
        return -EINVAL;
    }
    memcpy(&rq, in, sizeof(rq));
    const char *p = (const char *)in + sizeof(rq);
    size_t left = len - sizeof(rq);
    if (rq.name_len == 0 || rq.name_len > QP_MAX_SYMBOL || rq.body_path_len >= sizeof(body_path) ||
        rq.seg_path_len == 0 || rq.seg_path_len >= sizeof(seg_path) ||
        (size_t)rq.name_len + rq.body_path_len + rq.seg_path_len > left) {
        return -EINVAL;
    }
    memcpy(name, p, rq.name_len);
    name[rq.name_len] = '\0';
    p += rq.name_len;
    memcpy(body_path, p, rq.body_path_len);
    body_path[rq.body_path_len] = '\0';
    p += rq.body_path_len;
    memcpy(seg_path, p, rq.seg_path_len);
    seg_path[rq.seg_path_len] = '\0';
    p += rq.seg_path_len;
    size_t inline_len = left - rq.name_len - rq.body_path_len - rq.seg_path_len;
    const char *marker = getenv("QUOTEPACK_TEST_CRASH_MARKER");
    // Test hook (docs/quotepack.md): a body containing the marker crashes the worker, which
    // is how the tests check that a crash fails one symbol only.
    if (marker != NULL && marker[0] != '\0' &&
        memmem(p, inline_len, marker, strlen(marker)) != NULL) {
        raise(SIGSEGV);
    }
    memset(&r, 0, sizeof(r));
    int rc = m != NULL ? 0 : qp_member_create(&m, cs->run->cfg->format, cs->run->cfg->level);
    struct qp_body body;
    if (rc == 0) {
        rc = qp_body_borrow(&body, p, inline_len, rq.body_path_len > 0 ? body_path : NULL);
    }
    struct seg_sink sink = { -1, rq.seg_off };
    if (rc == 0) {
        sink.fd = open(seg_path, O_WRONLY | O_CLOEXEC);
        rc = sink.fd < 0 ? -errno : 0;
        if (rc == 0) {
            convert_entry(&cs->copts, m, name, rq.mtime, &body, seg_sink_write, &sink, &o);
            close(sink.fd);
        }
        qp_body_release(&body);
    }
    if (rc != 0) {
        memset(&o, 0, sizeof(o));
        o.kind = OUT_FATAL;
        o.rc = rc;
        snprintf(o.message, sizeof(o.message), "worker: %s", strerror(-rc));
    }
    r.kind = (int32_t)o.kind;
    r.failure = (int32_t)o.failure;
    r.rc = o.rc;
    r.crc = o.info.crc32;
    r.delimiter = (uint8_t)o.delimiter;
    r.rows = o.rows;
    r.xml_len = o.info.xml_len;
    r.data_len = o.info.data_len;
    r.hdr_len = o.info.hdr_len;
    memcpy(r.sha256, o.info.sha256, sizeof(r.sha256));
    memcpy(r.first, o.first, sizeof(r.first));
    memcpy(r.last, o.last, sizeof(r.last));
    memcpy(r.message, o.message, sizeof(r.message));
    return core_procpool_out_append(out, &r, sizeof(r));
}

/* Hands the symbol to a worker process, which writes its entry at *off in segment seg. */
static void run_isolated(struct qp_convert_stage *cs, const char *symbol, int64_t mtime,
                         struct qp_body *body, uint64_t seg, uint64_t off, struct outcome *o)
{
    char seg_path[4096];
    struct core_procpool_result pres;
    struct iso_request rq;
    memset(o, 0, sizeof(*o));
    memset(&pres, 0, sizeof(pres));
    memset(&rq, 0, sizeof(rq));
    qp_spool_segment_path(cs->run->spool, seg, seg_path, sizeof(seg_path));
    bool spilled = qp_body_spilled(body);
    rq.name_len = (uint32_t)strlen(symbol);
    rq.body_path_len = spilled ? (uint32_t)strlen(body->path) : 0;
    rq.seg_path_len = (uint32_t)strlen(seg_path);
    rq.seg_off = off;
    rq.mtime = mtime;
    size_t inline_len = spilled ? 0 : body->len;
    size_t len = sizeof(rq) + rq.name_len + rq.body_path_len + rq.seg_path_len + inline_len;
    char *req = malloc(len);
    if (req == NULL) {
        o->kind = OUT_FATAL;
        o->rc = -ENOMEM;
        snprintf(o->message, sizeof(o->message), "out of memory");
        return;
    }
    char *q = req;
    memcpy(q, &rq, sizeof(rq));
    q += sizeof(rq);
    memcpy(q, symbol, rq.name_len);
    q += rq.name_len;
    if (spilled) {
        memcpy(q, body->path, rq.body_path_len);
        q += rq.body_path_len;
    }
    memcpy(q, seg_path, rq.seg_path_len);
    q += rq.seg_path_len;
    if (inline_len > 0) {
        memcpy(q, body->data, inline_len);
    }
    // A deadline that grows with the body: 60 s, and a second per MB (about 10x the time it
    // takes, so only a stuck worker meets it).
    int64_t timeout_ms = 60000 + (int64_t)(body->size / 1000);
    int rc = core_procpool_call(cs->pp, req, len, timeout_ms, &pres);
    free(req);
    if (rc == -EPIPE) {
        o->kind = OUT_FATAL;
        o->rc = 0; // shutting down
    } else if (rc != 0) {
        char d[200];
        core_procpool_describe(&pres, d, sizeof(d));
        o->kind = OUT_FAILED;
        o->failure = rc == -ETIMEDOUT ? QP_FAILURE_TRANSIENT : QP_FAILURE_PERMANENT;
        snprintf(o->message, sizeof(o->message), "converter crashed: %s", d);
    } else if (pres.reply == NULL || pres.reply->len != sizeof(struct iso_reply)) {
        o->kind = OUT_FAILED;
        o->failure = QP_FAILURE_TRANSIENT;
        snprintf(o->message, sizeof(o->message), "converter sent a bad reply");
    } else {
        struct iso_reply r;
        memcpy(&r, pres.reply->data, sizeof(r));
        o->kind = r.kind == OUT_OK ? OUT_OK : r.kind == OUT_FAILED ? OUT_FAILED : OUT_FATAL;
        o->failure = (enum qp_failure)r.failure;
        o->rc = r.rc;
        o->rows = r.rows;
        o->delimiter = (char)(uint8_t)r.delimiter;
        o->info.crc32 = r.crc;
        o->info.xml_len = r.xml_len;
        o->info.data_len = r.data_len;
        o->info.hdr_len = (uint32_t)r.hdr_len;
        memcpy(o->info.sha256, r.sha256, sizeof(o->info.sha256));
        memcpy(o->first, r.first, sizeof(o->first));
        memcpy(o->last, r.last, sizeof(o->last));
        o->first[sizeof(o->first) - 1] = '\0';
        o->last[sizeof(o->last) - 1] = '\0';
        memcpy(o->message, r.message, sizeof(o->message));
        o->message[sizeof(o->message) - 1] = '\0';
    }
    core_buf_unref(pres.reply);
}

/* ---- the pool ----------------------------------------------------------------------------- */

static int thread_init(void *ctx, void **state)
{
    struct qp_convert_stage *cs = ctx;
    struct conv_thread *th = core_xcalloc(1, sizeof(*th));
    int rc = qp_spool_writer_create(cs->run->spool, &th->w);
    if (rc == 0 && cs->pp == NULL) {
        rc = qp_member_create(&th->m, cs->run->cfg->format, cs->run->cfg->level);
    }
    if (rc != 0) {
        qp_spool_writer_destroy(th->w);
        free(th);
        return rc;
    }
    *state = th;
    return 0;
}

static void thread_fini(void *ctx, void *state)
{
    struct conv_thread *th = state;
    (void)ctx;
    qp_spool_writer_destroy(th->w);
    qp_member_destroy(th->m);
    free(th);
}

static void convert_task(void *arg, void *thread_state, int status)
{
    struct job *j = arg;
    struct qp_convert_stage *cs = j->cs;
    struct qp_run *run = cs->run;
    struct conv_thread *th = thread_state;
    const char *sym = run->syms[j->idx].name;
    struct outcome o;
    uint64_t seg = 0;
    uint64_t off = 0;
    if (status != 0 || qp_run_stopping(run)) {
        goto out; // cancelled at shutdown: the symbol stays where the catalog has it
    }
    int64_t mtime = (int64_t)time(NULL);
    int rc = qp_spool_writer_begin(th->w, &seg, &off);
    if (rc != 0) {
        qp_console_log(CORE_LOG_ERROR, "cannot create a spool file: %s", strerror(-rc));
        qp_run_fail(run, rc);
        goto out;
    }
    if (cs->pp != NULL) {
        run_isolated(cs, sym, mtime, j->body, seg, off, &o);
    } else {
        convert_entry(&cs->copts, th->m, sym, mtime, j->body, qp_spool_writer_append, th->w, &o);
    }
    // The body is no longer needed: free it (and its spill file) before reporting.
    qp_body_release(j->body);
    if (o.kind == OUT_OK) {
        struct qp_spool_rec rec;
        qp_spool_writer_commit(th->w, o.info.data_len, o.info.hdr_len, &rec);
        struct qp_entry_facts facts;
        memcpy(facts.sha256, o.info.sha256, sizeof(facts.sha256));
        memcpy(facts.first, o.first, sizeof(facts.first));
        memcpy(facts.last, o.last, sizeof(facts.last));
        qp_run_converted(run, j->idx, o.rows, o.info.xml_len, o.info.crc32, o.delimiter, &rec,
                         &facts);
        goto out;
    }
    qp_spool_writer_abort(th->w);
    if (o.kind == OUT_FAILED) {
        qp_run_failed(run, j->idx, o.message, o.failure, false);
    } else if (o.rc != 0) {
        qp_console_log(CORE_LOG_ERROR, "cannot convert %s: %s: %s", sym, o.message,
                       strerror(-o.rc));
        qp_run_fail(run, o.rc);
    }
out:
    qp_body_release(j->body);
    free(j->body);
    free(j);
}

int qp_convert_stage_create(struct qp_convert_stage **out, struct qp_run *run)
{
    const struct qp_config *cfg = run->cfg;
    struct qp_convert_stage *cs = core_xcalloc(1, sizeof(*cs));
    cs->run = run;
    cs->copts.compact = cfg->compact;
    cs->copts.max_output = 0; // streamed: the spool bound and the disk are the limits
    cs->copts.dialect = cfg->dialect;
    *out = NULL;
    if (cfg->isolate) {
        struct core_procpool_config pc = {
            .workers = cfg->jobs,
            .handler = iso_handler,
            .ctx = cs,
            .max_request = ((size_t)4 << 20) + 16384, // a body past 4 MiB goes by its path
            .max_reply = sizeof(struct iso_reply),
        };
        int rc = core_procpool_create(&cs->pp, &pc);
        if (rc != 0) {
            free(cs);
            return rc;
        }
    }
    *out = cs;
    return 0;
}

int qp_convert_stage_start(struct qp_convert_stage *cs)
{
    const struct qp_config *cfg = cs->run->cfg;
    struct core_pool_config poolc = {
        .name = "convert",
        // With --isolate a pool thread mostly waits for its worker process; twice as many
        // threads keep every worker busy.
        .threads = cfg->isolate ? cfg->jobs * 2 : cfg->jobs,
        .backlog = cfg->jobs * 2 + cfg->connections,
        .thread_init = thread_init,
        .thread_fini = thread_fini,
        .ctx = cs,
    };
    return core_pool_create(&cs->pool, &poolc);
}

void qp_convert_stage_submit(struct qp_convert_stage *cs, size_t idx, struct qp_body *body)
{
    struct job *j = core_xmalloc(sizeof(*j));
    j->cs = cs;
    j->idx = idx;
    j->body = body;
    if (core_pool_submit_wait(cs->pool, convert_task, j) != 0) {
        qp_body_release(body);
        free(body);
        free(j);
    }
}

void qp_convert_stage_shutdown(struct qp_convert_stage *cs, bool cancel)
{
    if (cs != NULL && cs->pool != NULL) {
        core_pool_shutdown(cs->pool, cancel ? CORE_POOL_CANCEL : CORE_POOL_DRAIN);
    }
}

void qp_convert_stage_destroy(struct qp_convert_stage *cs)
{
    if (cs == NULL) {
        return;
    }
    core_pool_destroy(cs->pool);
    core_procpool_destroy(cs->pp);
    free(cs);
}
