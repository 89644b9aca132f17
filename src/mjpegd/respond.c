// SPDX-License-Identifier: MIT
/* Responses: the status line and common headers, errors, the page, snapshots and reports. */
#include "mjpegd/respond.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/version.h"
#include "mjpegd/conn.h"
#include "mjpegd/limits.h"
#include "mjpegd/loop.h"
#include "mjpegd/report.h"
#include "mjpegd/web.h"

#define REPORT_MAX 65536

/* With --allow-origin: who may read the answer (and, for one origin, that it may differ). */
static void cors_headers(struct mjd_conn *c)
{
    const struct mjd_config *cfg = c->loop->shared->cfg;
    if (cfg->allow_origin[0] == '\0') {
        return;
    }
    bool any = strcmp(cfg->allow_origin, "*") == 0;
    mjd_out_printf(&c->out,
                   "Access-Control-Allow-Origin: %s\r\n%s%s"
                   "Access-Control-Expose-Headers: X-Timestamp\r\n",
                   cfg->allow_origin, any ? "" : "Vary: Origin\r\n",
                   !any && cfg->auth[0] != '\0' ? "Access-Control-Allow-Credentials: true\r\n"
                                                : "");
}

void mjd_respond_head(struct mjd_conn *c, int status, const char *ctype, long long content_length,
                      const char *extra)
{
    struct mjd_out *o = &c->out;
    mjd_out_printf(o, "HTTP/1.1 %d %s\r\n%sServer: mjpegd/%s\r\n", status, mjd_http_reason(status),
                   c->loop->date_hdr, CORE_VERSION);
    if (ctype != NULL) {
        mjd_out_printf(o, "Content-Type: %s\r\n", ctype);
    }
    if (content_length >= 0) {
        mjd_out_printf(o, "Content-Length: %lld\r\n", content_length);
    }
    cors_headers(c);
    mjd_out_printf(o, "Connection: %s\r\nAccept-Ranges: none\r\n%s\r\n",
                   c->close_after ? "close" : "keep-alive", extra != NULL ? extra : "");
}

void mjd_respond_error(struct mjd_conn *c, int status, const char *extra)
{
    char body[96];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, mjd_http_reason(status));
    if (status == 405 && extra == NULL) {
        extra = "Allow: GET, HEAD\r\n";
    }
    c->close_after = true;
    mjd_respond_head(c, status, "text/plain; charset=utf-8", n, extra);
    if (!c->head_only) {
        mjd_out_append(&c->out, body, (size_t)n);
    }
    LOG_DEBUG("answered %d", status);
}

void mjd_respond_options(struct mjd_conn *c)
{
    const struct mjd_config *cfg = c->loop->shared->cfg;
    if (cfg->allow_origin[0] == '\0') {
        mjd_respond_error(c, 405, NULL);
        return;
    }
    // A preflight: which methods and request headers a cross-origin fetch() may use.
    const struct mjd_http_request *req = &c->parser.req;
    char extra[512];
    int n = snprintf(extra, sizeof(extra),
                     "Allow: GET, HEAD, OPTIONS\r\n"
                     "Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\n"
                     "Access-Control-Max-Age: 600\r\n");
    if (req->acr_headers.len > 0 && n > 0 &&
        (size_t)n + req->acr_headers.len + 40 < sizeof(extra)) {
        snprintf(extra + n, sizeof(extra) - (size_t)n, "Access-Control-Allow-Headers: %.*s\r\n",
                 (int)req->acr_headers.len, c->in + req->acr_headers.off);
    }
    // 204 has no Content-Length and no body (RFC 9110 8.6).
    c->head_only = true;
    mjd_respond_head(c, 204, NULL, -1, extra);
}

void mjd_respond_index(struct mjd_conn *c)
{
    mjd_respond_head(c, 200, "text/html; charset=utf-8", (long long)mjd_web_index_html_len,
                     "Cache-Control: no-cache\r\n");
    if (!c->head_only) {
        mjd_out_set_body(&c->out, mjd_web_index_html, mjd_web_index_html_len, NULL);
    }
}

void mjd_respond_format_timestamp(char *buf, size_t cap, int64_t wall_ns)
{
    snprintf(buf, cap, "%lld.%06lld", (long long)(wall_ns / CORE_NS_PER_SEC),
             (long long)((wall_ns % CORE_NS_PER_SEC) / 1000));
}

void mjd_respond_snapshot_frame(struct mjd_conn *c, const struct mjd_frame *f)
{
    char ts[64];
    char extra[128];
    mjd_respond_format_timestamp(ts, sizeof(ts), f->wall_ns);
    snprintf(extra, sizeof(extra), "Cache-Control: no-store\r\nX-Timestamp: %s\r\n", ts);
    mjd_respond_head(c, 200, "image/jpeg", (long long)f->jpeg->len, extra);
    if (!c->head_only) {
        mjd_out_set_body(&c->out, f->jpeg->data, f->jpeg->len, core_buf_ref(f->jpeg));
    }
}

/*
 * Parks c until its source publishes a frame newer than seq, or --snapshot-timeout: it holds a
 * client slot in the limits (refused: 503 at once, false) and keeps an --on-demand source
 * awake as a viewer does. mjd_conn_close releases both if it goes away while parked.
 */
static bool park(struct mjd_conn *c, unsigned source, uint64_t seq)
{
    const struct mjd_loop_shared *sh = c->loop->shared;
    if (mjd_limits_acquire(sh->limits, (const struct sockaddr *)&c->peer) != 0) {
        LOG_DEBUG("snapshot wait refused: client limit");
        mjd_respond_error(c, 503, "Retry-After: 1\r\n");
        return false;
    }
    c->counted = true;
    c->stream.source = source;
    if (sh->sources[source].demand != NULL) {
        mjd_demand_add_client(sh->sources[source].demand);
    }
    c->snap_seq = seq;
    c->snap_deadline = c->loop->now + sh->cfg->snapshot_timeout_ns;
    LOG_DEBUG("snapshot of source %u parked for a frame after %llu", source,
              (unsigned long long)seq);
    return true;
}

bool mjd_respond_snapshot(struct mjd_conn *c, unsigned source)
{
    struct mjd_frame f;
    const struct mjd_server_source *src = &c->loop->shared->sources[source];
    bool asleep = false;
    uint64_t stale_up_to = 0;
    if (src->demand != NULL && src->demand->linger_ns > 0) {
        // --on-demand: a snapshot keeps the source open for the linger time; a sleeping one
        // is woken and its last frame is stale: wait for a fresh one. So is a frame from
        // before the last wake (the source has just woken and not published yet): the state
        // is read first, and the capture thread stores wake_seq before it says ACTIVE.
        mjd_demand_touch(src->demand, c->loop->now);
        asleep = mjd_demand_state(src->demand) == MJD_DEMAND_IDLE;
        stale_up_to = atomic_load(&src->demand->wake_seq);
    }
    bool have = mjd_hub_latest(src->hub, &f);
    if (!have || asleep || f.seq <= stale_up_to) {
        uint64_t seq = have ? f.seq : 0;
        seq = seq > stale_up_to ? seq : stale_up_to;
        if (have) {
            core_buf_unref(f.jpeg);
        }
        return park(c, source, seq);
    }
    mjd_respond_snapshot_frame(c, &f);
    core_buf_unref(f.jpeg);
    return false;
}

void mjd_respond_report(struct mjd_conn *c, bool metrics)
{
    char body[REPORT_MAX];
    struct mjd_report r;
    const struct mjd_loop_shared *sh = c->loop->shared;
    sh->report(sh->report_ctx, &r);
    int n = metrics ? mjd_report_metrics(&r, body, sizeof(body))
                    : mjd_report_json(&r, body, sizeof(body));
    if (n < 0) {
        mjd_respond_error(c, 500, NULL);
        return;
    }
    mjd_respond_head(c, 200,
                     metrics ? "text/plain; version=0.0.4; charset=utf-8" : "application/json", n,
                     "Cache-Control: no-store\r\n");
    if (!c->head_only) {
        mjd_out_append(&c->out, body, (size_t)n);
    }
}
