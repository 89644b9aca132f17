// SPDX-License-Identifier: MIT
/* The download stage: libcurl multi, bounded concurrency, retries with backoff, a rate cap. */
#include "quotepack/fetch.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "archive/sha256.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/version.h"
#include "quotepack/body.h"
#include "quotepack/config.h"
#include "quotepack/console.h"
#include "quotepack/datetmpl.h"
#include "quotepack/fetch_host.h"
#include "quotepack/fetch_policy.h"

struct xfer {
    struct qp_fetch *f;
    CURL *easy; /* NULL while waiting for a retry */
    size_t idx;
    size_t host;        /* index into f->hosts */
    const char *symbol; /* borrowed from the pipeline */
    unsigned attempt;   /* 0 for the first try */
    int64_t not_before; /* monotonic ns: when a retry may start */
    struct qp_body body;
    bool over_cap;
    int local_err;                   /* a write error of the spill file, or 0 */
    int64_t retry_after_s;           /* from the last response, or -1 */
    struct arc_sha256 sha;           /* of the body received so far (this try) */
    struct curl_slist *req_headers;  /* this transfer's: the run's plus conditional ones */
    char if_none_match[192 + 16];    /* "If-None-Match: <etag>" or "" */
    char if_modified_since[64 + 24]; /* "If-Modified-Since: <date>" or "" */
    char errbuf[CURL_ERROR_SIZE];
    char url[QP_MAX_URL];
};

struct qp_fetch {
    struct qp_fetch_config cfg; /* immutable */
    CURLM *multi;               /* fetch thread only (wakeup: any thread) */
    struct curl_slist *headers; /* immutable after create */
    struct xfer **waiting;      /* fetch thread only: retries and paused starts not yet due */
    size_t nwaiting;
    struct xfer **running;             /* fetch thread only: transfers in the multi handle */
    size_t active;                     /* fetch thread only: entries in running */
    int64_t next_slot;                 /* fetch thread only: rate cap, monotonic ns */
    uint64_t rnd;                      /* fetch thread only: xorshift state for jitter */
    struct qp_fetch_hosts hosts;       /* fetch thread only */
    atomic_bool stop;                  /* atomic */
    atomic_uint_fast64_t requests;     /* atomic */
    atomic_uint_fast64_t bytes;        /* atomic */
    atomic_uint_fast64_t hosts_gone;   /* atomic */
    atomic_uint_fast64_t not_modified; /* atomic */
};

static uint64_t next_rand(struct qp_fetch *f)
{
    uint64_t x = f->rnd;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    f->rnd = x;
    return x;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct xfer *t = arg;
    size_t n = size * nmemb;
    int rc = qp_body_append(&t->body, data, n);
    if (rc == -EFBIG) {
        t->over_cap = true;
        return 0; // CURLE_WRITE_ERROR: final, the body is over the cap
    }
    if (rc != 0) {
        t->local_err = rc;
        return 0;
    }
    arc_sha256_update(&t->sha, data, n);
    atomic_fetch_add_explicit(&t->f->bytes, n, memory_order_relaxed);
    return n;
}

/* Copies a header's value (after its "name:"), trimmed of blanks and CRLF, if it fits. */
static void header_value(const char *data, size_t n, size_t name_len, char *out, size_t size)
{
    size_t b = name_len;
    while (b < n && (data[b] == ' ' || data[b] == '\t')) {
        b++;
    }
    size_t e = n;
    while (e > b && (data[e - 1] == '\r' || data[e - 1] == '\n' || data[e - 1] == ' ' ||
                     data[e - 1] == '\t')) {
        e--;
    }
    if (e - b < size) { // a longer value is not kept: no conditional request for it
        memcpy(out, data + b, e - b);
        out[e - b] = '\0';
    }
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    struct xfer *t = arg;
    size_t n = size * nmemb;
    static const char key[] = "retry-after:";
    static const char etag[] = "etag:";
    static const char lm[] = "last-modified:";
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        t->retry_after_s = -1; // a new response (after a redirect or 100-continue)
        t->body.etag[0] = '\0';
        t->body.last_modified[0] = '\0';
    } else if (n > sizeof(etag) - 1 && strncasecmp(data, etag, sizeof(etag) - 1) == 0) {
        header_value(data, n, sizeof(etag) - 1, t->body.etag, sizeof(t->body.etag));
    } else if (n > sizeof(lm) - 1 && strncasecmp(data, lm, sizeof(lm) - 1) == 0) {
        header_value(data, n, sizeof(lm) - 1, t->body.last_modified, sizeof(t->body.last_modified));
    } else if (n > sizeof(key) - 1 && strncasecmp(data, key, sizeof(key) - 1) == 0) {
        char v[128];
        size_t vl = CORE_MIN(n - (sizeof(key) - 1), sizeof(v) - 1);
        memcpy(v, data + sizeof(key) - 1, vl);
        v[vl] = '\0';
        t->retry_after_s = qp_fetch_parse_retry_after(v, (int64_t)time(NULL));
    }
    return n;
}

int qp_fetch_create(struct qp_fetch **out, const struct qp_fetch_config *cfg)
{
    struct qp_fetch *f = core_xcalloc(1, sizeof(*f));
    *out = NULL;
    f->cfg = *cfg;
    if (f->cfg.speed_limit == 0) {
        f->cfg.speed_limit = 1;
    }
    if (f->cfg.connect_timeout_s <= 0) {
        f->cfg.connect_timeout_s = 10;
    }
    if (f->cfg.spill_at == 0) {
        f->cfg.spill_at = (size_t)4 << 20;
    }
    for (size_t i = 0; i < cfg->nheaders; i++) {
        struct curl_slist *l = curl_slist_append(f->headers, cfg->headers[i]);
        if (l == NULL) {
            curl_slist_free_all(f->headers);
            free(f);
            return -ENOMEM;
        }
        f->headers = l;
    }
    f->multi = curl_multi_init();
    if (f->multi == NULL) {
        curl_slist_free_all(f->headers);
        free(f);
        return -ENOMEM;
    }
    curl_multi_setopt(f->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)cfg->connections);
    curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, (long)cfg->connections);
    f->waiting = core_xcalloc(cfg->connections + 1, sizeof(struct xfer *));
    f->running = core_xcalloc(cfg->connections + 1, sizeof(struct xfer *));
    f->rnd = (uint64_t)core_now_ns() | 1;
    atomic_init(&f->stop, false);
    atomic_init(&f->requests, 0);
    atomic_init(&f->bytes, 0);
    atomic_init(&f->hosts_gone, 0);
    atomic_init(&f->not_modified, 0);
    *out = f;
    return 0;
}

static void xfer_free(struct xfer *t)
{
    if (t == NULL) {
        return;
    }
    if (t->easy != NULL) {
        curl_easy_cleanup(t->easy);
    }
    curl_slist_free_all(t->req_headers);
    qp_body_release(&t->body);
    free(t);
}

static int xfer_start(struct qp_fetch *f, struct xfer *t)
{
    CURL *e = curl_easy_init();
    if (e == NULL) {
        return -ENOMEM;
    }
    t->easy = e;
    qp_body_reset(&t->body);
    arc_sha256_init(&t->sha);
    t->over_cap = false;
    t->local_err = 0;
    t->retry_after_s = -1;
    t->errbuf[0] = '\0';
    const struct qp_fetch_config *c = &f->cfg;
    long speed_time = (long)(c->timeout_s + 0.999); // curl counts whole seconds
    curl_easy_setopt(e, CURLOPT_URL, t->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->connect_timeout_s * 1000.0));
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, (long)c->speed_limit);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, speed_time > 0 ? speed_time : 1L);
    if (c->max_time_s > 0) {
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, CORE_MAX((long)(c->max_time_s * 1000.0), 1L));
    }
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT,
                     c->user_agent != NULL ? c->user_agent : "quotepack/" CORE_VERSION);
    if (t->req_headers != NULL) {
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->req_headers);
    } else if (f->headers != NULL) {
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, f->headers);
    }
    if (c->cacert != NULL) {
        curl_easy_setopt(e, CURLOPT_CAINFO, c->cacert);
    }
    if (c->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_body);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
    if (curl_multi_add_handle(f->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        t->easy = NULL;
        return -ENOMEM;
    }
    f->running[f->active++] = t;
    atomic_fetch_add_explicit(&f->requests, 1, memory_order_relaxed);
    return 0;
}

/* Whether the transfer failed before any response came from the host (counts to give up). */
static bool connection_failure(CURLcode c, CURL *e)
{
    curl_off_t connect_us = 0;
    if (c == CURLE_OPERATION_TIMEDOUT) {
        curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connect_us);
    }
    return qp_fetch_curl_connection_failure(c, connect_us != 0);
}

static void fail_symbol(struct qp_fetch *f, struct xfer *t, const char *msg, bool permanent,
                        bool host_given_up)
{
    struct qp_fetch_failure fail = { msg, permanent, host_given_up, t->local_err };
    f->cfg.done(f->cfg.ctx, t->idx, NULL, &fail);
    xfer_free(t);
}

/* Fails every waiting transfer of a host that was given up. */
static void fail_host_waiting(struct qp_fetch *f, size_t host)
{
    const struct qp_fetch_host *h = &f->hosts.v[host];
    char msg[1024];
    snprintf(msg, sizeof(msg), "gave up on %s after %u connection failures in a row (%s)", h->key,
             h->conn_failures, h->last_error);
    for (size_t i = 0; i < f->nwaiting;) {
        struct xfer *t = f->waiting[i];
        if (t->host == host) {
            f->waiting[i] = f->waiting[--f->nwaiting];
            fail_symbol(f, t, msg, false, true);
        } else {
            i++;
        }
    }
}

/* What one finished transfer says about its host. */
static void note_host(struct qp_fetch *f, struct xfer *t, CURLcode code, long status,
                      const char *err)
{
    struct qp_fetch_host *h = &f->hosts.v[t->host];
    if (status > 0) {
        h->conn_failures = 0;
    } else if (code != CURLE_OK && connection_failure(code, t->easy)) {
        h->conn_failures++;
        snprintf(h->last_error, sizeof(h->last_error), "%s", err);
        if (f->cfg.host_failures > 0 && h->conn_failures >= f->cfg.host_failures && !h->given_up) {
            h->given_up = true;
            atomic_fetch_add(&f->hosts_gone, 1);
            qp_console_log(CORE_LOG_WARN,
                           "giving up on %s: %u connection failures in a row (last: %s); its "
                           "symbols fail now and a rerun tries them again",
                           h->key, h->conn_failures, err);
        }
    }
    if (t->retry_after_s >= 0 && qp_fetch_status_retryable(status)) {
        int64_t until = core_now_ns() + qp_fetch_retry_after_ms(t->retry_after_s) * CORE_NS_PER_MS;
        if (until > h->pause_until) {
            h->pause_until = until;
            qp_console_log(
                    CORE_LOG_DEBUG,
                    "%s asked for a pause of %lld s (Retry-After): no request to it until then",
                    h->key, (long long)t->retry_after_s);
        }
    }
}

/* Finishes a transfer: either done() or back into the waiting list for a retry. */
static void xfer_finish(struct qp_fetch *f, struct xfer *t, CURLcode code)
{
    long status = 0;
    char err[CURL_ERROR_SIZE + 128];
    bool retry = false;
    bool permanent = false;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(f->multi, t->easy);
    for (size_t i = 0; i < f->active; i++) {
        if (f->running[i] == t) {
            f->running[i] = f->running[--f->active];
            break;
        }
    }
    err[0] = '\0';

    bool not_modified = code == CURLE_OK && status == 304 && t->req_headers != NULL;
    if (code == CURLE_OK && (status == 0 || (status >= 200 && status <= 299) || not_modified)) {
        note_host(f, t, code, status == 0 ? 200 : status, "");
        curl_easy_cleanup(t->easy);
        t->easy = NULL;
        unsigned char digest[ARC_SHA256_LEN];
        arc_sha256_final(&t->sha, digest);
        arc_sha256_hex(digest, t->body.sha256);
        if (not_modified) {
            // Nothing was sent: the archived body stands (its validators stay the catalog's).
            qp_body_reset(&t->body);
            t->body.sha256[0] = '\0';
            t->body.not_modified = true;
            atomic_fetch_add(&f->not_modified, 1);
        }
        struct qp_body *body = core_xmalloc(sizeof(*body));
        *body = t->body;
        qp_body_init(&t->body, f->cfg.spill_dir, f->cfg.spill_at, f->cfg.max_body);
        f->cfg.done(f->cfg.ctx, t->idx, body, NULL);
        xfer_free(t);
        return;
    }
    if (code == CURLE_OK) {
        snprintf(err, sizeof(err), "HTTP %ld", status);
        retry = qp_fetch_status_retryable(status);
        permanent = !retry;
    } else if (t->over_cap || code == CURLE_FILESIZE_EXCEEDED) {
        snprintf(err, sizeof(err), "body larger than the %zu-byte cap (--max-body)",
                 f->cfg.max_body);
        permanent = true;
    } else if (t->local_err != 0) {
        snprintf(err, sizeof(err), "cannot store the body: %s", strerror(-t->local_err));
    } else {
        snprintf(err, sizeof(err), "%s (curl error %d)",
                 t->errbuf[0] != '\0' ? t->errbuf : curl_easy_strerror(code), (int)code);
        retry = qp_fetch_curl_retryable(code);
        permanent = qp_fetch_curl_permanent(code);
    }
    note_host(f, t, code, status, err);
    curl_easy_cleanup(t->easy);
    t->easy = NULL;
    struct qp_fetch_host *h = &f->hosts.v[t->host];
    if (h->given_up) {
        fail_host_waiting(f, t->host);
        char msg[sizeof(err) + sizeof(h->key) + 16];
        snprintf(msg, sizeof(msg), "%s; gave up on %s", err, h->key);
        fail_symbol(f, t, msg, false, true);
        return;
    }
    if (retry && t->attempt < f->cfg.retries && !atomic_load(&f->stop)) {
        t->attempt++;
        // Capped before it is scaled: a Retry-After past 2^63 ms / 1000 must not overflow.
        int64_t ra = qp_fetch_retry_after_ms(t->retry_after_s);
        int64_t delay = qp_fetch_backoff_ms(t->attempt, ra, next_rand(f));
        qp_console_log(CORE_LOG_DEBUG, "%s: %s; retry %u in %lld ms", t->symbol, err, t->attempt,
                       (long long)delay);
        t->not_before = CORE_MAX(core_now_ns() + delay * CORE_NS_PER_MS, h->pause_until);
        qp_body_reset(&t->body);
        f->waiting[f->nwaiting++] = t;
        return;
    }
    if (t->attempt > 0) {
        size_t l = strlen(err);
        snprintf(err + l, sizeof(err) - l, " after %u attempts", t->attempt + 1);
    }
    fail_symbol(f, t, err, permanent, false);
}

/* The rate cap: whether a request may start now (rate_book() then takes the slot). */
static bool rate_ready(struct qp_fetch *f, int64_t now)
{
    return f->cfg.rate <= 0 || now >= f->next_slot;
}

static void rate_book(struct qp_fetch *f, int64_t now)
{
    if (f->cfg.rate > 0) {
        int64_t step = (int64_t)(1e9 / f->cfg.rate);
        f->next_slot = CORE_MAX(f->next_slot, now) + step;
    }
}

/*
 * The run's headers plus If-None-Match / If-Modified-Since when the symbol has validators (a
 * refresh of an archived symbol): t->req_headers, or NULL for none. 0 or -ENOMEM.
 */
static int conditional_headers(struct qp_fetch *f, struct xfer *t)
{
    char etag[192] = "";
    char lm[64] = "";
    f->cfg.validators(f->cfg.ctx, t->idx, etag, sizeof(etag), lm, sizeof(lm));
    if (etag[0] == '\0' && lm[0] == '\0') {
        return 0;
    }
    struct curl_slist *l = NULL;
    for (size_t i = 0; i < f->cfg.nheaders; i++) {
        struct curl_slist *n = curl_slist_append(l, f->cfg.headers[i]);
        if (n == NULL) {
            curl_slist_free_all(l);
            return -ENOMEM;
        }
        l = n;
    }
    const char *cond[2] = { NULL, NULL };
    if (etag[0] != '\0') {
        snprintf(t->if_none_match, sizeof(t->if_none_match), "If-None-Match: %s", etag);
        cond[0] = t->if_none_match;
    }
    if (lm[0] != '\0') {
        snprintf(t->if_modified_since, sizeof(t->if_modified_since), "If-Modified-Since: %s", lm);
        cond[1] = t->if_modified_since;
    }
    for (size_t i = 0; i < 2; i++) {
        if (cond[i] == NULL) {
            continue;
        }
        struct curl_slist *n = curl_slist_append(l, cond[i]);
        if (n == NULL) {
            curl_slist_free_all(l);
            return -ENOMEM;
        }
        l = n;
    }
    t->req_headers = l;
    return 0;
}

/* A new transfer for an admitted symbol, or NULL when it ended at once (done() was called). */
static struct xfer *new_xfer(struct qp_fetch *f, size_t idx, const char *sym)
{
    struct xfer *t = core_xcalloc(1, sizeof(*t));
    t->f = f;
    t->idx = idx;
    t->symbol = sym;
    qp_body_init(&t->body, f->cfg.spill_dir, f->cfg.spill_at, f->cfg.max_body);
    char from[128] = "";
    if (f->cfg.from != NULL) {
        f->cfg.from(f->cfg.ctx, idx, from, sizeof(from));
    }
    if (qp_template_expand(f->cfg.url_template, sym, f->cfg.from != NULL ? from : NULL, f->cfg.to,
                           t->url, sizeof(t->url)) != 0) {
        fail_symbol(f, t, "URL too long", true, false);
        return NULL;
    }
    if (f->cfg.validators != NULL && conditional_headers(f, t) != 0) {
        fail_symbol(f, t, "cannot prepare the request (out of memory)", false, false);
        return NULL;
    }
    t->host = qp_fetch_hosts_find(&f->hosts, t->url);
    const struct qp_fetch_host *h = &f->hosts.v[t->host];
    if (h->given_up) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "not tried: gave up on %s after %u connection failures (%s)",
                 h->key, h->conn_failures, h->last_error);
        fail_symbol(f, t, msg, false, true);
        return NULL;
    }
    return t;
}

/* Starts what may start: due retries and paused starts first, then new symbols. */
static int64_t start_some(struct qp_fetch *f, bool *admit_done)
{
    int64_t now = core_now_ns();
    int64_t wake = now + 200 * CORE_NS_PER_MS;
    while (f->active < f->cfg.connections) {
        size_t due = SIZE_MAX;
        for (size_t i = 0; i < f->nwaiting; i++) {
            struct xfer *w = f->waiting[i];
            int64_t at = CORE_MAX(w->not_before, f->hosts.v[w->host].pause_until);
            if (at <= now) {
                due = i;
                break;
            }
            wake = CORE_MIN(wake, at);
        }
        if (due == SIZE_MAX && (*admit_done || f->nwaiting + f->active >= f->cfg.connections)) {
            break;
        }
        if (!rate_ready(f, now)) {
            wake = CORE_MIN(wake, f->next_slot);
            break;
        }
        struct xfer *t = NULL;
        if (due != SIZE_MAX) {
            t = f->waiting[due];
            f->waiting[due] = f->waiting[--f->nwaiting];
        } else {
            size_t idx = 0;
            const char *sym = NULL;
            enum qp_fetch_admit a = f->cfg.admit(f->cfg.ctx, &idx, &sym);
            if (a != QP_FETCH_ADMIT_OK) {
                *admit_done = a == QP_FETCH_ADMIT_DONE;
                break;
            }
            t = new_xfer(f, idx, sym);
            if (t == NULL) {
                continue;
            }
            int64_t pause = f->hosts.v[t->host].pause_until;
            if (pause > now) {
                // The host asked for a pause: this symbol waits for it like a retry.
                t->not_before = pause;
                f->waiting[f->nwaiting++] = t;
                wake = CORE_MIN(wake, pause);
                continue;
            }
        }
        rate_book(f, now);
        if (xfer_start(f, t) != 0) {
            fail_symbol(f, t, "cannot start a transfer (out of memory)", false, false);
        }
    }
    return wake;
}

int qp_fetch_run(struct qp_fetch *f)
{
    bool admit_done = false;
    int rc = 0;
    while (!atomic_load(&f->stop)) {
        int64_t wake = start_some(f, &admit_done);
        if (admit_done && f->active == 0 && f->nwaiting == 0) {
            break;
        }
        int running = 0;
        CURLMcode mc = curl_multi_perform(f->multi, &running);
        if (mc != CURLM_OK) {
            qp_console_log(CORE_LOG_ERROR, "curl_multi_perform: %s", curl_multi_strerror(mc));
            rc = -EIO;
            break;
        }
        CURLMsg *msg;
        int left = 0;
        bool finished_some = false;
        while ((msg = curl_multi_info_read(f->multi, &left)) != NULL) {
            if (msg->msg == CURLMSG_DONE) {
                finished_some = true;
                struct xfer *t = NULL;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
                xfer_finish(f, t, msg->data.result);
            }
        }
        long ct = -1;
        curl_multi_timeout(f->multi, &ct);
        int64_t now = core_now_ns();
        int64_t ms = (wake - now) / CORE_NS_PER_MS;
        if (ct >= 0 && ct < ms) {
            ms = ct;
        }
        if (ms < 0) {
            ms = 0;
        }
        if (finished_some) {
            continue; // slots are free: admit more before sleeping
        }
        if (ms > 0 || f->active > 0) {
            curl_multi_poll(f->multi, NULL, 0, (int)ms, NULL);
        }
    }
    // Stopped: abandon what is in flight or waiting; the catalog still says pending for them.
    for (size_t i = 0; i < f->nwaiting; i++) {
        xfer_free(f->waiting[i]);
    }
    f->nwaiting = 0;
    for (size_t i = 0; i < f->active; i++) {
        curl_multi_remove_handle(f->multi, f->running[i]->easy);
        xfer_free(f->running[i]);
    }
    f->active = 0;
    return rc;
}

void qp_fetch_wakeup(struct qp_fetch *f)
{
    curl_multi_wakeup(f->multi);
}

void qp_fetch_stop(struct qp_fetch *f)
{
    atomic_store(&f->stop, true);
    curl_multi_wakeup(f->multi);
}

void qp_fetch_destroy(struct qp_fetch *f)
{
    if (f == NULL) {
        return;
    }
    curl_multi_cleanup(f->multi);
    curl_slist_free_all(f->headers);
    qp_fetch_hosts_release(&f->hosts);
    free(f->waiting);
    free(f->running);
    free(f);
}

uint64_t qp_fetch_requests(struct qp_fetch *f)
{
    return atomic_load_explicit(&f->requests, memory_order_relaxed);
}

uint64_t qp_fetch_bytes(struct qp_fetch *f)
{
    return atomic_load_explicit(&f->bytes, memory_order_relaxed);
}

uint64_t qp_fetch_hosts_given_up(struct qp_fetch *f)
{
    return atomic_load(&f->hosts_gone);
}

uint64_t qp_fetch_not_modified(struct qp_fetch *f)
{
    return atomic_load(&f->not_modified);
}
