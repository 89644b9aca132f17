// SPDX-License-Identifier: MIT
/* The /state JSON and /metrics Prometheus writers, from a snapshot of the server's numbers. */
#include "mjpegd/report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/compiler.h"

struct out {
    char *buf;
    size_t cap;
    size_t len;
    bool overflow;
};

static void put(struct out *o, const char *fmt, ...) CORE_PRINTF(2, 3);

static void put(struct out *o, const char *fmt, ...)
{
    if (o->overflow) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->overflow = true;
        return;
    }
    o->len += (size_t)n;
}

/* Appends s as a JSON string literal. */
static void put_json_string(struct out *o, const char *s)
{
    put(o, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++) {
        if (*c == '"' || *c == '\\') {
            put(o, "\\%c", *c);
        } else if (*c < 0x20) {
            put(o, "\\u%04x", *c);
        } else {
            put(o, "%c", *c);
        }
    }
    put(o, "\"");
}

static int finish(struct out *o)
{
    if (o->overflow || o->cap == 0) {
        if (o->cap > 0) {
            o->buf[0] = '\0';
        }
        return -ENOSPC;
    }
    return (int)o->len;
}

int mjd_report_json(const struct mjd_report *r, char *buf, size_t cap)
{
    struct out o = { buf, cap, 0, cap == 0 };
    put(&o, "{\"source\":");
    put_json_string(&o, r->source);
    put(&o, ",\"width\":%u,\"height\":%u,\"fps\":%.2f,\"target_fps\":%u,\"quality\":%d", r->width,
        r->height, r->fps, r->target_fps, r->quality);
    put(&o, ",\"clients\":%llu,\"clients_total\":%llu", (unsigned long long)r->clients,
        (unsigned long long)r->clients_total);
    put(&o, ",\"frames_captured\":%llu,\"frames_encoded\":%llu,\"frames_dropped\":%llu",
        (unsigned long long)r->frames_captured, (unsigned long long)r->frames_encoded,
        (unsigned long long)r->frames_dropped);
    put(&o, ",\"uptime\":%.3f}\n", r->uptime);
    return finish(&o);
}

static void metric(struct out *o, const char *name, const char *type, const char *help,
                   const char *value)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", name, help, name, type, name, value);
}

static void metric_u64(struct out *o, const char *name, const char *type, const char *help,
                       uint64_t v)
{
    char s[32];
    snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
    metric(o, name, type, help, s);
}

static void metric_double(struct out *o, const char *name, const char *type, const char *help,
                          double v)
{
    char s[32];
    snprintf(s, sizeof(s), "%.3f", v);
    metric(o, name, type, help, s);
}

int mjd_report_metrics(const struct mjd_report *r, char *buf, size_t cap)
{
    struct out o = { buf, cap, 0, cap == 0 };
    metric_u64(&o, "mjpegd_clients", "gauge", "Clients streaming now.", r->clients);
    metric_u64(&o, "mjpegd_clients_total", "counter", "Streams started since start.",
               r->clients_total);
    metric_u64(&o, "mjpegd_pending_connections", "gauge",
               "Connections that have not sent a full request head.", r->pending);
    metric_u64(&o, "mjpegd_frames_captured_total", "counter", "Frames produced by the source.",
               r->frames_captured);
    metric_u64(&o, "mjpegd_frames_encoded_total", "counter", "Frames encoded to JPEG.",
               r->frames_encoded);
    metric_u64(&o, "mjpegd_frames_dropped_total", "counter",
               "Frames dropped (encoders busy or stale).", r->frames_dropped);
    metric_u64(&o, "mjpegd_bytes_sent_total", "counter", "Bytes sent to clients.", r->bytes_sent);
    metric_double(&o, "mjpegd_fps", "gauge", "Measured publish rate in frames per second.", r->fps);
    metric_u64(&o, "mjpegd_target_fps", "gauge", "Configured frame rate.", r->target_fps);
    metric_double(&o, "mjpegd_uptime_seconds", "gauge", "Seconds since the server started.",
                  r->uptime);
    return finish(&o);
}
