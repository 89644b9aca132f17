// SPDX-License-Identifier: MIT
/* The /state JSON and /metrics Prometheus writers, from a snapshot of the server's numbers. */
#include "mjpegd/report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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

static uint64_t dropped_sum(const struct mjd_report_source *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < MJD_DROP_REASONS; i++) {
        n += s->frames_dropped[i];
    }
    return n;
}

/* "recording": the recorder's state (docs/RECORDING.md); absent when the source is not recorded. */
static void json_recording(struct out *o, const struct mjd_report_source *s)
{
    if (!s->recorded) {
        return;
    }
    const struct mjd_recorder_stats *rec = &s->rec;
    put(o, ",\"recording\":{\"dir\":");
    put_json_string(o, rec->dir != NULL ? rec->dir : "");
    put(o, ",\"segment\":");
    if (rec->segment[0] != '\0') {
        put_json_string(o, rec->segment);
    } else {
        put(o, "null");
    }
    put(o, ",\"segments\":%llu,\"bytes\":%llu,\"dropped\":%llu", (unsigned long long)rec->segments,
        (unsigned long long)rec->bytes,
        (unsigned long long)rec->dropped_queue + rec->dropped_error + rec->dropped_missed);
    put(o, ",\"frames\":%llu,\"deleted\":%llu,\"error\":", (unsigned long long)rec->frames,
        (unsigned long long)rec->deleted);
    if (rec->error[0] != '\0') {
        put_json_string(o, rec->error);
    } else {
        put(o, "null");
    }
    put(o, "}");
}

/* "motion": the detector's last score and state (docs/RECORDING.md); absent when it is off. */
static void json_motion(struct out *o, const struct mjd_report_source *s)
{
    if (!s->recorded || !s->rec.motion) {
        return;
    }
    put(o, ",\"motion\":{\"score\":%.2f,\"active\":%s}", s->rec.motion_score,
        s->rec.motion_active ? "true" : "false");
}

/* The keys of one source, after a '{' or a ','; no leading comma. */
static void json_source(struct out *o, const struct mjd_report_source *s, bool spec)
{
    // Top level: the kind, as always; in the sources array: the --source spec (the contract
    // in docs/mjpegd.md), with the kind beside it.
    put(o, "\"source\":");
    put_json_string(o, spec && s->spec != NULL ? s->spec : s->kind);
    if (spec) {
        put(o, ",\"kind\":");
        put_json_string(o, s->kind);
    }
    put(o, ",\"width\":%u,\"height\":%u,\"fps\":%.2f,\"target_fps\":%u,\"quality\":%d", s->width,
        s->height, s->fps, s->target_fps, s->quality);
    put(o, ",\"flip\":");
    put_json_string(o, s->flip != NULL ? s->flip : "none");
    put(o, ",\"frames_captured\":%llu,\"frames_published\":%llu,\"frames_dropped\":%llu",
        (unsigned long long)s->frames_captured, (unsigned long long)s->frames_published,
        (unsigned long long)dropped_sum(s));
    put(o, ",\"frames_dropped_by\":{");
    for (size_t i = 0; i < MJD_DROP_REASONS; i++) {
        put(o, "%s\"%s\":%llu", i > 0 ? "," : "", mjd_hub_drop_reason_name((enum mjd_drop_reason)i),
            (unsigned long long)s->frames_dropped[i]);
    }
    put(o, "},\"frames_in_flight\":%llu,\"frames_skipped\":%llu",
        (unsigned long long)s->frames_in_flight, (unsigned long long)s->frames_skipped);
    put(o, ",\"status\":");
    put_json_string(o, s->status != NULL ? s->status : "ok");
    put(o, ",\"last_error\":");
    if (s->last_error != NULL) {
        put_json_string(o, s->last_error);
    } else {
        put(o, "null");
    }
    put(o, ",\"restarts\":%llu", (unsigned long long)s->restarts);
    if (s->last_frame_age >= 0) {
        put(o, ",\"last_frame_age\":%.3f", s->last_frame_age);
    } else {
        put(o, ",\"last_frame_age\":null");
    }
    json_recording(o, s);
    json_motion(o, s);
}

int mjd_report_json(const struct mjd_report *r, char *buf, size_t cap)
{
    struct out o = { buf, cap, 0, cap == 0 };
    put(&o, "{\"version\":");
    put_json_string(&o, r->version != NULL ? r->version : "");
    put(&o, ",");
    json_source(&o, &r->sources[0], false);
    put(&o, ",\"clients\":%llu,\"clients_total\":%llu,\"pending\":%llu,\"bytes_sent\":%llu",
        (unsigned long long)r->clients, (unsigned long long)r->clients_total,
        (unsigned long long)r->pending, (unsigned long long)r->bytes_sent);
    put(&o, ",\"send_path\":");
    put_json_string(&o, r->send_path != NULL ? r->send_path : "copy");
    // What ran: whole stream parts by the path of their last send (as /metrics counts them).
    put(&o, ",\"send_parts\":{");
    for (int p = 0; p < MJD_SEND_PATHS; p++) {
        put(&o, "%s\"%s\":%llu", p > 0 ? "," : "", mjd_send_path_name((enum mjd_send_path)p),
            (unsigned long long)r->send_stats.parts[p]);
    }
    put(&o, "}");
    put(&o, ",\"uptime\":%.3f", r->uptime);
    put(&o, ",\"playbacks\":{\"active\":%llu,\"max\":%llu,\"refused\":%llu}",
        (unsigned long long)r->playbacks, (unsigned long long)r->playbacks_max,
        (unsigned long long)r->playbacks_refused);
    put(&o, ",\"snapshots\":{\"waiting\":%llu,\"timeouts\":%llu}",
        (unsigned long long)r->snapshots_waiting, (unsigned long long)r->snapshot_timeouts);
    if (r->nsources > 1) {
        put(&o, ",\"sources\":[");
        for (size_t i = 0; i < r->nsources; i++) {
            const struct mjd_report_source *s = &r->sources[i];
            put(&o, "%s{\"index\":%zu,", i > 0 ? "," : "", i);
            json_source(&o, s, true);
            if (i == 0) {
                put(&o, ",\"stream\":\"/stream\",\"snapshot\":\"/snapshot\"");
            } else {
                put(&o, ",\"stream\":\"/%zu/stream\",\"snapshot\":\"/%zu/snapshot\"", i, i);
            }
            put(&o, ",\"clients\":%llu}", (unsigned long long)s->clients);
        }
        put(&o, "]");
    }
    put(&o, "}\n");
    return finish(&o);
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_u64(struct out *o, const char *name, const char *labels, uint64_t v)
{
    put(o, "%s%s%s%s %llu\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
        (unsigned long long)v);
}

static void sample_double(struct out *o, const char *name, const char *labels, double v)
{
    put(o, "%s%s%s%s %.3f\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "", v);
}

static void metric_u64(struct out *o, const char *name, const char *type, const char *help,
                       uint64_t v)
{
    family(o, name, type, help);
    sample_u64(o, name, "", v);
}

/* Stream bytes and whole parts by send path (splice, sendfile, copy). */
static void send_families(struct out *o, const struct mjd_report *r)
{
    static const struct {
        const char *name;
        const char *help;
    } fam[2] = {
        { "mjpegd_send_bytes_total", "Stream part bytes sent, by send path." },
        { "mjpegd_send_parts_total", "Stream parts sent whole, by the path of their last send." },
    };
    for (int f = 0; f < 2; f++) {
        family(o, fam[f].name, "counter", fam[f].help);
        for (int p = 0; p < MJD_SEND_PATHS; p++) {
            char labels[32];
            snprintf(labels, sizeof(labels), "path=\"%s\"",
                     mjd_send_path_name((enum mjd_send_path)p));
            sample_u64(o, fam[f].name, labels,
                       f == 0 ? r->send_stats.bytes[p] : r->send_stats.parts[p]);
        }
    }
}

/* The source label of source i ("" with one source), followed by a comma when more follow. */
static void source_label(const struct mjd_report *r, size_t i, bool more, char *buf, size_t cap)
{
    if (r->nsources > 1) {
        snprintf(buf, cap, "source=\"%zu\"%s", i, more ? "," : "");
    } else {
        buf[0] = '\0';
    }
}

enum per_source {
    PS_CAPTURED,
    PS_PUBLISHED,
    PS_IN_FLIGHT,
    PS_SKIPPED,
    PS_FPS,
    PS_TARGET_FPS,
    PS_AGE,
    PS_UP,
    PS_RESTARTS,
};

static const struct {
    const char *name;
    const char *type;
    const char *help;
} per_source[] = {
    [PS_CAPTURED] = { "mjpegd_frames_captured_total", "counter",
                      "Frames read from the source (published + dropped + in flight)." },
    [PS_PUBLISHED] = { "mjpegd_frames_published_total", "counter",
                       "Frames made visible to clients." },
    [PS_IN_FLIGHT] = { "mjpegd_frames_in_flight", "gauge",
                       "Frames captured and still with an encoder." },
    [PS_SKIPPED] = { "mjpegd_capture_skipped_total", "counter",
                     "Source reads skipped because every frame buffer was with an encoder." },
    [PS_FPS] = { "mjpegd_fps", "gauge", "Measured publish rate in frames per second." },
    [PS_TARGET_FPS] = { "mjpegd_target_fps", "gauge", "Configured frame rate." },
    [PS_AGE] = { "mjpegd_last_frame_age_seconds", "gauge",
                 "Seconds since the newest frame was published (absent before the first)." },
    [PS_UP] = { "mjpegd_source_up", "gauge",
                "1 while the source delivers (or sleeps under --on-demand), 0 while it is "
                "retried after a failure or its input ended." },
    [PS_RESTARTS] = { "mjpegd_source_restarts_total", "counter",
                      "Times the source was reopened after a failure." },
};

static void per_source_family(struct out *o, const struct mjd_report *r, enum per_source k)
{
    family(o, per_source[k].name, per_source[k].type, per_source[k].help);
    for (size_t i = 0; i < r->nsources; i++) {
        const struct mjd_report_source *s = &r->sources[i];
        char labels[32];
        source_label(r, i, false, labels, sizeof(labels));
        switch (k) {
        case PS_CAPTURED:
            sample_u64(o, per_source[k].name, labels, s->frames_captured);
            break;
        case PS_PUBLISHED:
            sample_u64(o, per_source[k].name, labels, s->frames_published);
            break;
        case PS_IN_FLIGHT:
            sample_u64(o, per_source[k].name, labels, s->frames_in_flight);
            break;
        case PS_SKIPPED:
            sample_u64(o, per_source[k].name, labels, s->frames_skipped);
            break;
        case PS_FPS:
            sample_double(o, per_source[k].name, labels, s->fps);
            break;
        case PS_AGE:
            if (s->last_frame_age >= 0) {
                sample_double(o, per_source[k].name, labels, s->last_frame_age);
            }
            break;
        case PS_UP:
            sample_u64(o, per_source[k].name, labels, s->up ? 1 : 0);
            break;
        case PS_RESTARTS:
            sample_u64(o, per_source[k].name, labels, s->restarts);
            break;
        case PS_TARGET_FPS:
        default:
            sample_u64(o, per_source[k].name, labels, s->target_fps);
            break;
        }
    }
}

/* The mjpegd_record_* families, each sample labelled source="N" (only recorded sources). */
static void record_families(struct out *o, const struct mjd_report *r)
{
    bool any = false;
    for (size_t i = 0; i < r->nsources; i++) {
        any = any || r->sources[i].recorded;
    }
    if (!any) {
        return;
    }
    static const struct {
        const char *name;
        const char *type;
        const char *help;
    } fam[] = {
        { "mjpegd_record_frames_total", "counter", "Frames written into segment archives." },
        { "mjpegd_record_bytes_written_total", "counter", "Bytes written into segment archives." },
        { "mjpegd_record_dropped_total", "counter",
          "Frames not recorded, by reason (queue: the disk was slower than the source; error: "
          "recording was stopped by a disk error; missed: replaced in the hub before the "
          "recorder took it)." },
        { "mjpegd_record_segments", "gauge", "Committed segments listed in the catalog." },
        { "mjpegd_record_bytes", "gauge",
          "Bytes of the committed segments listed in the catalog." },
        { "mjpegd_record_deleted_total", "counter", "Segments deleted by retention." },
        { "mjpegd_record_errors_total", "counter", "Disk errors that stopped recording." },
        { "mjpegd_record_up", "gauge", "1 while recording, 0 while stopped by a disk error." },
    };
    for (size_t f = 0; f < CORE_ARRAY_SIZE(fam); f++) {
        family(o, fam[f].name, fam[f].type, fam[f].help);
        for (size_t i = 0; i < r->nsources; i++) {
            const struct mjd_report_source *s = &r->sources[i];
            if (!s->recorded) {
                continue;
            }
            const struct mjd_recorder_stats *rec = &s->rec;
            char labels[64];
            snprintf(labels, sizeof(labels), "source=\"%zu\"", i);
            switch (f) {
            case 0:
                sample_u64(o, fam[f].name, labels, rec->frames);
                break;
            case 1:
                sample_u64(o, fam[f].name, labels, rec->bytes_written);
                break;
            case 2: {
                char l2[96];
                snprintf(l2, sizeof(l2), "%s,reason=\"queue\"", labels);
                sample_u64(o, fam[f].name, l2, rec->dropped_queue);
                snprintf(l2, sizeof(l2), "%s,reason=\"error\"", labels);
                sample_u64(o, fam[f].name, l2, rec->dropped_error);
                snprintf(l2, sizeof(l2), "%s,reason=\"missed\"", labels);
                sample_u64(o, fam[f].name, l2, rec->dropped_missed);
                break;
            }
            case 3:
                sample_u64(o, fam[f].name, labels, rec->segments);
                break;
            case 4:
                sample_u64(o, fam[f].name, labels, rec->bytes);
                break;
            case 5:
                sample_u64(o, fam[f].name, labels, rec->deleted);
                break;
            case 6:
                sample_u64(o, fam[f].name, labels, rec->errors);
                break;
            default:
                sample_u64(o, fam[f].name, labels, rec->error[0] == '\0' ? 1 : 0);
                break;
            }
        }
    }
}

/* mjpegd_motion_score and mjpegd_motion_active, labelled source="N", for the sources whose
 * recorder runs motion detection. */
static void motion_families(struct out *o, const struct mjd_report *r)
{
    bool any = false;
    for (size_t i = 0; i < r->nsources; i++) {
        any = any || (r->sources[i].recorded && r->sources[i].rec.motion);
    }
    if (!any) {
        return;
    }
    for (int f = 0; f < 2; f++) {
        const char *name = f == 0 ? "mjpegd_motion_score" : "mjpegd_motion_active";
        family(o, name, "gauge",
               f == 0 ? "Percentage of 8x8 blocks that differ from the background in the last "
                        "frame (motion detection at 1/8 scale)."
                      : "1 while motion is detected (the hold time included, the post-roll "
                        "not), else 0.");
        for (size_t i = 0; i < r->nsources; i++) {
            const struct mjd_report_source *s = &r->sources[i];
            if (!s->recorded || !s->rec.motion) {
                continue;
            }
            char labels[32];
            snprintf(labels, sizeof(labels), "source=\"%zu\"", i);
            if (f == 0) {
                sample_double(o, name, labels, s->rec.motion_score);
            } else {
                sample_u64(o, name, labels, s->rec.motion_active ? 1 : 0);
            }
        }
    }
}

int mjd_report_metrics(const struct mjd_report *r, char *buf, size_t cap)
{
    struct out o = { buf, cap, 0, cap == 0 };
    metric_u64(&o, "mjpegd_clients", "gauge", "Clients streaming now.", r->clients);
    // Not mjpegd_clients_total: under OpenMetrics that would be one family with the gauge.
    metric_u64(&o, "mjpegd_streams_started_total", "counter", "Streams started since start.",
               r->clients_total);
    metric_u64(&o, "mjpegd_pending_connections", "gauge",
               "Connections that have not sent a full request head.", r->pending);
    metric_u64(&o, "mjpegd_playbacks_active", "gauge",
               "Playbacks of recordings and /recordings listings running now (at most "
               "--max-playbacks).",
               r->playbacks);
    metric_u64(&o, "mjpegd_playbacks_refused_total", "counter",
               "Playbacks and /recordings listings refused with 503 past --max-playbacks.",
               r->playbacks_refused);
    metric_u64(&o, "mjpegd_snapshots_waiting", "gauge",
               "Snapshots parked for a fresh frame (a sleeping or not yet producing source).",
               r->snapshots_waiting);
    metric_u64(&o, "mjpegd_snapshot_timeouts_total", "counter",
               "Parked snapshots answered 503 at --snapshot-timeout.", r->snapshot_timeouts);
    per_source_family(&o, r, PS_CAPTURED);
    per_source_family(&o, r, PS_PUBLISHED);
    family(&o, "mjpegd_frames_dropped_total", "counter",
           "Frames captured and not published, by reason (busy: encoders full; stale: a newer "
           "frame was published first; error; same: --drop-same-frames; invalid: refused by the "
           "source, not one complete JPEG).");
    for (size_t i = 0; i < r->nsources; i++) {
        for (size_t k = 0; k < MJD_DROP_REASONS; k++) {
            char labels[64];
            source_label(r, i, true, labels, sizeof(labels));
            size_t n = strlen(labels);
            snprintf(labels + n, sizeof(labels) - n, "reason=\"%s\"",
                     mjd_hub_drop_reason_name((enum mjd_drop_reason)k));
            sample_u64(&o, "mjpegd_frames_dropped_total", labels, r->sources[i].frames_dropped[k]);
        }
    }
    per_source_family(&o, r, PS_IN_FLIGHT);
    per_source_family(&o, r, PS_SKIPPED);
    metric_u64(&o, "mjpegd_bytes_sent_total", "counter", "Bytes sent to clients.", r->bytes_sent);
    send_families(&o, r);
    per_source_family(&o, r, PS_FPS);
    per_source_family(&o, r, PS_TARGET_FPS);
    per_source_family(&o, r, PS_AGE);
    per_source_family(&o, r, PS_UP);
    per_source_family(&o, r, PS_RESTARTS);
    record_families(&o, r);
    motion_families(&o, r);
    family(&o, "mjpegd_uptime_seconds", "gauge", "Seconds since the server started.");
    sample_double(&o, "mjpegd_uptime_seconds", "", r->uptime);
    return finish(&o);
}
