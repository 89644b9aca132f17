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
 * Each part is sent whole with the boundary line after it (the part holds it: part.h):
 * browsers display a part only once the next boundary arrives, so a boundary sent with the
 * next frame would show every frame one frame interval late (as mjpg-streamer does, the first
 * boundary follows the head).
 */
_Static_assert(sizeof(MJD_STREAM_BOUNDARY) == sizeof(MJD_PART_BOUNDARY), "one boundary");

/* The response head of a stream (a multipart body without a length, then close). */
static void stream_head(struct mjd_conn *c)
{
    mjd_respond_head(c, 200, "multipart/x-mixed-replace;boundary=" MJD_STREAM_BOUNDARY, -1,
                     "Cache-Control: no-store\r\nPragma: no-cache\r\n");
}

bool mjd_stream_frame_update(struct mjd_stream_frame *sf, struct mjd_hub *hub, bool want_part)
{
    struct mjd_frame f;
    if (!mjd_hub_latest(hub, &f)) {
        return false;
    }
    struct mjd_part *part = NULL;
    if (f.seq > sf->frame.seq && want_part) {
        part = mjd_hub_part(hub, &f);
    }
    if (f.seq <= sf->frame.seq || (want_part && part == NULL)) {
        // Not newer, or no part could be made for it (out of memory): keep the one we have.
        core_buf_unref(f.jpeg);
        return false;
    }
    mjd_stream_frame_release(sf);
    sf->frame = f;
    sf->part = part;
    return true;
}

void mjd_stream_frame_release(struct mjd_stream_frame *sf)
{
    core_buf_unref(sf->frame.jpeg);
    sf->frame.jpeg = NULL;
    mjd_part_unref(sf->part);
    sf->part = NULL;
}

void mjd_stream_drop_part(struct mjd_conn *c)
{
    mjd_part_unref(c->stream.part);
    c->stream.part = NULL;
    c->stream.part_off = 0;
}

static enum mjd_send_path first_path(enum mjd_send_mode mode)
{
    switch (mode) {
    case MJD_SEND_MODE_COPY:
        return MJD_SEND_COPY;
    case MJD_SEND_MODE_SENDFILE:
        return MJD_SEND_SENDFILE;
    case MJD_SEND_MODE_AUTO:
    case MJD_SEND_MODE_SPLICE:
    default:
        return MJD_SEND_SPLICE;
    }
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
    c->stream.part = NULL;
    c->stream.part_off = 0;
    c->stream.path = first_path(sh->cfg->send_mode);
    stream_head(c);
    size_t blen = 0;
    const char *bline = mjd_part_first_boundary(&blen);
    mjd_out_append(&c->out, bline, blen);
    return true;
}

bool mjd_stream_next_part(struct mjd_conn *c)
{
    struct mjd_loop *l = c->loop;
    struct mjd_stream_state *st = &c->stream;
    struct mjd_stream_frame *sf = &l->frames[st->source];
    const struct mjd_frame *f = &sf->frame;
    if (f->jpeg == NULL || f->seq <= st->seq) {
        return false;
    }
    if (sf->part == NULL) {
        // The loop had no viewer of this source when the frame came (stream_frame_update).
        sf->part = mjd_hub_part(l->shared->sources[st->source].hub, f);
        if (sf->part == NULL) {
            return false;
        }
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
    // The part is the same for every client: made once per frame by the publisher.
    mjd_stream_drop_part(c);
    st->part = mjd_part_ref(sf->part);
    return true;
}
