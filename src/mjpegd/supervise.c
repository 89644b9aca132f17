// SPDX-License-Identifier: MIT
/* Source supervision: the status, the cached "no signal" JPEG, the reopen loop with backoff. */
#include "mjpegd/supervise.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "core/log.h"

int mjd_source_status_init(struct mjd_source_status *st)
{
    memset(st, 0, sizeof(*st));
    st->state = MJD_SRC_STARTING;
    return -pthread_mutex_init(&st->lock, NULL);
}

void mjd_source_status_destroy(struct mjd_source_status *st)
{
    pthread_mutex_destroy(&st->lock);
}

void mjd_source_status_set(struct mjd_source_status *st, enum mjd_source_state state,
                           const char *error)
{
    pthread_mutex_lock(&st->lock);
    if (st->state == MJD_SRC_NO_SIGNAL && state == MJD_SRC_OK) {
        st->restarts++;
    }
    st->state = state;
    if (error != NULL) {
        snprintf(st->last_error, sizeof(st->last_error), "%s", error);
    }
    pthread_mutex_unlock(&st->lock);
}

void mjd_source_status_get(struct mjd_source_status *st, struct mjd_source_status_snap *out)
{
    pthread_mutex_lock(&st->lock);
    out->state = st->state;
    out->restarts = st->restarts;
    memcpy(out->last_error, st->last_error, sizeof(out->last_error));
    pthread_mutex_unlock(&st->lock);
}

const char *mjd_source_state_name(enum mjd_source_state state)
{
    switch (state) {
    case MJD_SRC_OK:
        return "ok";
    case MJD_SRC_NO_SIGNAL:
        return "no_signal";
    case MJD_SRC_ENDED:
        return "ended";
    case MJD_SRC_STARTING:
    default:
        return "starting";
    }
}

/* 5x7 glyphs for the letters of "NO SIGNAL", one byte per row, bit 4 leftmost. */
static const unsigned char *glyph(char c)
{
    static const unsigned char n[7] = { 0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x11 };
    static const unsigned char o[7] = { 0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e };
    static const unsigned char s[7] = { 0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e };
    static const unsigned char i[7] = { 0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e };
    static const unsigned char g[7] = { 0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f };
    static const unsigned char a[7] = { 0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11 };
    static const unsigned char l[7] = { 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f };
    switch (c) {
    case 'N':
        return n;
    case 'O':
        return o;
    case 'S':
        return s;
    case 'I':
        return i;
    case 'G':
        return g;
    case 'A':
        return a;
    case 'L':
        return l;
    default:
        return NULL;
    }
}

int mjd_nosignal_jpeg(struct core_buf **out, unsigned width, unsigned height)
{
    *out = NULL;
    if (width == 0 || height == 0 || width > 16384 || height > 16384) {
        return -EINVAL;
    }
    unsigned char *grey = malloc((size_t)width * height);
    if (grey == NULL) {
        return -ENOMEM;
    }
    memset(grey, 96, (size_t)width * height);
    static const char text[] = "NO SIGNAL";
    int len = (int)sizeof(text) - 1;
    int scale = (int)width / (6 * len + 6);
    scale = scale < 1 ? 1 : scale > 16 ? 16 : scale;
    int x0 = ((int)width - 6 * len * scale) / 2;
    int y0 = ((int)height - 7 * scale) / 2;
    for (int k = 0; k < len; k++) {
        const unsigned char *rows = glyph(text[k]);
        for (int r = 0; rows != NULL && r < 7; r++) {
            for (int b = 0; b < 5; b++) {
                if (!(rows[r] & (0x10 >> b))) {
                    continue;
                }
                for (int dy = 0; dy < scale; dy++) {
                    for (int dx = 0; dx < scale; dx++) {
                        int x = x0 + (6 * k + b) * scale + dx;
                        int y = y0 + r * scale + dy;
                        if (x >= 0 && y >= 0 && x < (int)width && y < (int)height) {
                            grey[(size_t)y * width + (size_t)x] = 235;
                        }
                    }
                }
            }
        }
    }
    int rc = -EIO;
    tjhandle tj = tjInitCompress();
    unsigned char *jpeg = NULL;
    unsigned long jlen = 0;
    if (tj != NULL && tjCompress2(tj, grey, (int)width, 0, (int)height, TJPF_GRAY, &jpeg, &jlen,
                                  TJSAMP_GRAY, 75, 0) == 0) {
        rc = core_buf_from(out, jpeg, jlen);
    }
    tjFree(jpeg);
    if (tj != NULL) {
        tjDestroy(tj);
    }
    free(grey);
    return rc;
}

/* Publishes the no-signal frame (encoding it on first use). */
static void publish_nosignal(const struct mjd_outage *o, uint64_t *seq)
{
    if (*o->nosignal == NULL && mjd_nosignal_jpeg(o->nosignal, o->width, o->height) != 0) {
        return;
    }
    (*seq)++;
    mjd_hub_publish(o->hub, core_buf_ref(*o->nosignal), *seq, core_wall_ns());
}

struct mjd_source *mjd_supervise_outage(const struct mjd_outage *o, uint64_t *seq)
{
    int64_t backoff = MJD_BACKOFF_FIRST_NS;
    int64_t retry_at = core_now_ns() + backoff;
    int64_t frame_at = core_now_ns();
    for (;;) {
        int64_t now = core_now_ns();
        if (now >= frame_at) {
            publish_nosignal(o, seq);
            frame_at = now + CORE_NS_PER_SEC;
        }
        if (now >= retry_at) {
            struct mjd_source *src = NULL;
            int rc = mjd_source_create(&src, o->spec, o->params);
            if (rc == 0 && mjd_source_get_info(src)->max_frame_bytes > o->frame_cap) {
                mjd_source_destroy(src);
                src = NULL;
                rc = -EFBIG; // the capture's buffers were sized for the first source
            }
            if (rc == 0) {
                LOG_INFO("source %s reopened", o->spec);
                return src;
            }
            char why[160];
            snprintf(why, sizeof(why), "reopen failed: %s", strerror(-rc));
            if (o->status != NULL) {
                mjd_source_status_set(o->status, MJD_SRC_NO_SIGNAL, why);
            }
            backoff = backoff * 2 > MJD_BACKOFF_MAX_NS ? MJD_BACKOFF_MAX_NS : backoff * 2;
            retry_at = core_now_ns() + backoff;
            LOG_WARN("source %s: %s; next try in %lld ms", o->spec, why,
                     (long long)(backoff / CORE_NS_PER_MS));
        }
        int64_t until = retry_at < frame_at ? retry_at : frame_at;
        if (core_event_wait_until(o->stop, until) == 0) {
            return NULL;
        }
    }
}
