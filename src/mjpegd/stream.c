// SPDX-License-Identifier: MIT
/* The stream writer: the multipart/x-mixed-replace head, and one part per new frame. */
#include "mjpegd/stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/log.h"
#include "mjpegd/conn.h"
#include "mjpegd/loop.h"
#include "mjpegd/respond.h"

/*
 * Each part is sent whole with the boundary line after it: browsers display a part only once
 * the next boundary arrives, so a boundary sent with the next frame would show every frame
 * one frame interval late (as mjpg-streamer does, the first boundary follows the head).
 */
static const char boundary_line[] = "--" MJD_STREAM_BOUNDARY "\r\n";
static const char part_tail[] = "\r\n--" MJD_STREAM_BOUNDARY "\r\n";

/* The response head of a stream (a multipart body without a length, then close). */
static void stream_head(struct mjd_conn *c)
{
    mjd_respond_head(c, 200, "multipart/x-mixed-replace;boundary=" MJD_STREAM_BOUNDARY, -1,
                     "Cache-Control: no-store\r\nPragma: no-cache\r\n");
}

bool mjd_stream_frame_update(struct mjd_stream_frame *sf, struct mjd_hub *hub)
{
    struct mjd_frame f;
    if (!mjd_hub_latest(hub, &f)) {
        return false;
    }
    if (f.seq <= sf->frame.seq) {
        core_buf_unref(f.jpeg);
        return false;
    }
    core_buf_unref(sf->frame.jpeg);
    sf->frame = f;
    char ts[64];
    mjd_respond_format_timestamp(ts, sizeof(ts), f.wall_ns);
    int n = snprintf(sf->part_hdr, sizeof(sf->part_hdr),
                     "Content-Type: image/jpeg\r\nContent-Length: %zu\r\nX-Timestamp: %s\r\n\r\n",
                     f.jpeg->len, ts);
    sf->part_hdr_len = n > 0 && (size_t)n < sizeof(sf->part_hdr) ? (size_t)n : 0;
    return true;
}

void mjd_stream_frame_release(struct mjd_stream_frame *sf)
{
    core_buf_unref(sf->frame.jpeg);
    sf->frame.jpeg = NULL;
}

bool mjd_stream_begin(struct mjd_conn *c, const struct mjd_route *route)
{
    const struct mjd_loop_shared *sh = c->loop->shared;
    c->close_after = true;
    if (c->head_only) {
        stream_head(c);
        return false;
    }
    int rc = mjd_limits_acquire(sh->limits, (const struct sockaddr *)&c->peer);
    if (rc != 0) {
        LOG_DEBUG("stream refused: %s", rc == -EBUSY ? "max clients" : "max clients per ip");
        mjd_respond_error(c, 503, "Retry-After: 1\r\n");
        return false;
    }
    c->counted = true;
    if (sh->sources[route->source].demand != NULL) {
        mjd_demand_add_client(sh->sources[route->source].demand);
    }
    // A stream reads nothing more: give back the request buffer.
    free(c->in);
    c->in = NULL;
    c->in_len = 0;
    c->in_cap = 0;
    c->stream.source = route->source;
    c->stream.interval_ns = route->fps > 0 ? CORE_NS_PER_SEC / route->fps : 0;
    c->stream.next_due_ns = 0;
    c->stream.seq = 0;
    stream_head(c);
    mjd_out_append(&c->out, boundary_line, sizeof(boundary_line) - 1);
    return true;
}

bool mjd_stream_next_part(struct mjd_conn *c)
{
    struct mjd_loop *l = c->loop;
    struct mjd_stream_state *st = &c->stream;
    const struct mjd_stream_frame *sf = &l->frames[st->source];
    const struct mjd_frame *f = &sf->frame;
    if (f->jpeg == NULL || f->seq <= st->seq) {
        return false;
    }
    if (st->interval_ns > 0) {
        // A little slack, so that frame-time jitter does not skip a whole source frame.
        if (l->now + 2 * CORE_NS_PER_MS < st->next_due_ns) {
            return false;
        }
        st->next_due_ns += st->interval_ns;
        if (st->next_due_ns < l->now - st->interval_ns) {
            st->next_due_ns = l->now;
        }
    }
    st->seq = f->seq;
    mjd_out_reset(&c->out);
    // The part header is the same for every client: formatted once per frame per loop.
    mjd_out_append(&c->out, sf->part_hdr, sf->part_hdr_len);
    mjd_out_set_body(&c->out, f->jpeg->data, f->jpeg->len, core_buf_ref(f->jpeg));
    mjd_out_set_tail(&c->out, part_tail, sizeof(part_tail) - 1);
    return true;
}
