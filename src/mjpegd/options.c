// SPDX-License-Identifier: MIT
/* The command-line option table: one row per option drives parsing, errors, --help and man. */
#include "mjpegd/options.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/compiler.h"
#include "mjpegd/options_values.h"

#define G(field) offsetof(struct mjd_config, field)
#define S(field) offsetof(struct mjd_source_config, field)

/* ---- the table ----------------------------------------------------------------------------- */

// The custom rows' readers are in options_values.c; --help and --dump-options in options_help.c.

static const struct mjd_option table[] = {
    { .name = "source",
      .metavar = "SPEC",
      .kind = MJD_OPT_CUSTOM,
      .scope = MJD_OPT_SOURCE,
      .flags = MJD_OPT_NEW_SOURCE,
      .parse = mjd_opt_read_source,
      .expect = "a known source kind (test, v4l2:/dev/videoN, file:PATH, pipe:-, pipe:PATH, "
                "http://HOST/PATH)",
      .def = "test",
      .help = "Frame source; give it up to 16 times for several sources (source 0 at /stream "
              "and /snapshot, source N at /N/stream, /N/snapshot and /?action=stream_N). The "
              "options marked per source given after a --source apply to it; given before "
              "any --source they apply to every source." },
    { .name = "size",
      .metavar = "WxH",
      .kind = MJD_OPT_CUSTOM,
      .scope = MJD_OPT_SOURCE,
      .parse = mjd_opt_read_size,
      .expect = "WxH, even numbers 16..8192",
      .def = "1280x720",
      .help = "Frame size (per source)." },
    { .name = "fps",
      .metavar = "N",
      .kind = MJD_OPT_UINT,
      .scope = MJD_OPT_SOURCE,
      .min = 1,
      .max = 240,
      .offset = S(fps),
      .def = "30",
      .help = "Frames per second captured (per source); a pipe: or http:// source goes at its "
              "input's pace instead." },
    { .name = "quality",
      .metavar = "Q",
      .kind = MJD_OPT_UINT,
      .scope = MJD_OPT_SOURCE,
      .min = 1,
      .max = 100,
      .offset = S(quality),
      .def = "75",
      .help = "JPEG quality (per source)." },
    { .name = "format",
      .metavar = "FMT",
      .kind = MJD_OPT_CUSTOM,
      .scope = MJD_OPT_SOURCE,
      .parse = mjd_opt_read_format,
      .expect = "mjpeg, yuyv, nv12, rgb24 or auto",
      .def = "auto",
      .help = "Pixel format asked of a v4l2 camera: mjpeg is passed through without "
              "re-encoding, yuyv, nv12 and rgb24 are encoded at --quality; auto takes MJPEG if "
              "the camera has it, else YUYV, NV12, RGB24 (per source)." },
    { .name = "control",
      .metavar = "NAME=VALUE",
      .kind = MJD_OPT_CUSTOM,
      .scope = MJD_OPT_SOURCE,
      .flags = MJD_OPT_REPEAT,
      .parse = mjd_opt_read_control,
      .expect = "NAME=VALUE, NAME of letters, digits and _, VALUE an integer",
      .help = "Set a v4l2 camera control at open, named as v4l2-ctl lists it (brightness, "
              "contrast, saturation, hue, gain, sharpness, exposure_auto, exposure_absolute, "
              "white_balance_temperature, power_line_frequency...); an unknown name is logged "
              "with the names the camera has (per source)." },
    { .name = "flip",
      .metavar = "h|v|hv",
      .kind = MJD_OPT_CUSTOM,
      .scope = MJD_OPT_SOURCE,
      .parse = mjd_opt_read_flip,
      .expect = "h, v, hv or none",
      .def = "none",
      .help = "Mirror the picture: h horizontally, v vertically, hv both (a half turn). A v4l2 "
              "camera is asked first (V4L2_CID_HFLIP, V4L2_CID_VFLIP); what it cannot do, and "
              "every other source, is flipped in software: raw frames in their planes, JPEG "
              "losslessly, or re-encoded at --quality when its size is not whole MCUs (per "
              "source)." },
    { .name = "on-demand",
      .metavar = "SEC",
      .kind = MJD_OPT_SECONDS,
      .scope = MJD_OPT_SOURCE,
      .flags = MJD_OPT_ZERO_OFF,
      .max = 86400,
      .offset = S(on_demand_ns),
      .def = "0",
      .help = "Open the source only while someone watches: when its first viewer or snapshot "
              "arrives, and close it SEC seconds after the last one leaves (a camera's LED goes "
              "off, nothing is drawn or encoded). 0 keeps it open (per source)." },
    { .name = "source-timeout",
      .metavar = "SEC",
      .kind = MJD_OPT_SECONDS,
      .scope = MJD_OPT_SOURCE,
      .flags = MJD_OPT_ZERO_OFF,
      .max = 86400,
      .offset = S(source_timeout_ns),
      .def = "5",
      .help = "A camera, pipe or relay that stays open but delivers no frame for SEC seconds "
              "(after its first one) counts as failed: it is closed and reopened with backoff, "
              "viewers see no signal meanwhile. Not for test or file sources. 0: off (per "
              "source)." },
    { .name = "drop-same-frames",
      .metavar = "N",
      .kind = MJD_OPT_UINT,
      .scope = MJD_OPT_SOURCE,
      .min = 0,
      .max = 1000000,
      .offset = S(drop_same),
      .def = "0",
      .help = "Skip JPEG frames byte-identical to the previous one, at most N in a row (then one "
              "is sent, so viewers see the stream is alive); counted as dropped, reason \"same\". "
              "0: off (per source)." },
    { .name = "record",
      .metavar = "DIR",
      .kind = MJD_OPT_STRING,
      .scope = MJD_OPT_SOURCE,
      .offset = S(record_dir),
      .size = sizeof(((struct mjd_source_config *)NULL)->record_dir),
      .expect = "a directory",
      .def = "off",
      .help = "Record the source into DIR/N/ (N its index: 0, 1, ...): one tar archive of its "
              "JPEG frames every --segment seconds, written crash-safely and listed in "
              "DIR/recordings.sqlite; see docs/RECORDING.md (per source)." },
    { .name = "segment",
      .metavar = "SEC",
      .kind = MJD_OPT_SECONDS,
      .scope = MJD_OPT_SOURCE,
      .max = 86400,
      .offset = S(segment_ns),
      .def = "60",
      .help = "How much time one recorded segment archive spans (per source)." },
    { .name = "keep-size",
      .metavar = "BYTES",
      .kind = MJD_OPT_CUSTOM,
      .scope = MJD_OPT_SOURCE,
      .parse = mjd_opt_read_bytes,
      .expect = "a number of bytes, optionally with a K, M, G or T suffix",
      .def = "0, no limit",
      .help = "Delete the oldest recorded segments of the source while its segments take more "
              "than BYTES; the segment being written is never deleted (per source)." },
    { .name = "keep-days",
      .metavar = "N",
      .kind = MJD_OPT_UINT,
      .scope = MJD_OPT_SOURCE,
      .min = 0,
      .max = 36500,
      .offset = S(keep_days),
      .def = "0, kept",
      .help = "Delete recorded segments that ended more than N days ago (per source)." },
    { .name = "record-on",
      .metavar = "WHEN",
      .kind = MJD_OPT_CUSTOM,
      .scope = MJD_OPT_SOURCE,
      .parse = mjd_opt_read_record_on,
      .expect = "always or motion",
      .def = "always",
      .help = "Record every frame (always), or only while the picture moves (motion) (per "
              "source)." },
    { .name = "motion-threshold",
      .metavar = "PCT",
      .kind = MJD_OPT_CUSTOM,
      .scope = MJD_OPT_SOURCE,
      .parse = mjd_opt_read_percent,
      .expect = "a percentage above 0, at most 100",
      .def = "1",
      .help = "The percentage of the picture's 8x8 blocks that must differ from the running "
              "background (frames decoded at 1/8 scale) for a frame to count as motion, for "
              "--record-on motion. With --record-on always it only scores the frames (/state, "
              "/metrics); without --record it has no effect (per source)." },
    { .name = "pre-roll",
      .metavar = "SEC",
      .kind = MJD_OPT_CUSTOM,
      .scope = MJD_OPT_SOURCE,
      .parse = mjd_opt_read_roll,
      .max = 60,
      .offset = S(pre_roll_ns),
      .expect = "seconds, 0 to 60, decimals allowed",
      .def = "3",
      .help = "With --record-on motion: the seconds of frames from before motion started that "
              "begin its segment (kept in memory meanwhile) (per source)." },
    { .name = "post-roll",
      .metavar = "SEC",
      .kind = MJD_OPT_CUSTOM,
      .scope = MJD_OPT_SOURCE,
      .parse = mjd_opt_read_roll,
      .max = 60,
      .offset = S(post_roll_ns),
      .expect = "seconds, 0 to 60, decimals allowed",
      .def = "2",
      .help = "With --record-on motion: how long recording goes on after motion stopped (per "
              "source)." },
    { .name = "wait-for-source",
      .kind = MJD_OPT_FLAG,
      .offset = G(wait_for_source),
      .def = "off, the only source must open at start-up",
      .help = "With one --source: if it cannot be opened at start-up (a camera not plugged in "
              "yet, an IP camera or relay not up yet), serve it as retrying with the no-signal "
              "frame and retry it with backoff, as a source that failed later, instead of "
              "exiting. A bad spec (EINVAL: a malformed URL, a format the camera lacks) still "
              "exits. Several sources always start this way." },
    { .name = "listen",
      .metavar = "HOST:PORT",
      .kind = MJD_OPT_CUSTOM,
      .flags = MJD_OPT_REPEAT,
      .parse = mjd_opt_read_listen,
      .expect = "HOST:PORT or [IPV6]:PORT with a port 0..65535",
      .def = "127.0.0.1:8080",
      .help = "Address to listen on: a name listens on every address it resolves to, [::] "
              "on every IPv6 and IPv4 address, [::1]:PORT on IPv6 loopback; port 0 picks an "
              "ephemeral port." },
    { .name = "workers",
      .metavar = "N",
      .kind = MJD_OPT_UINT,
      .min = 1,
      .max = MJD_MAX_WORKERS,
      .offset = G(workers),
      .def = "the number of cores",
      .help = "Network event loops." },
    { .name = "encoders",
      .metavar = "N",
      .kind = MJD_OPT_UINT,
      .min = 1,
      .max = 64,
      .offset = G(encoders),
      .def = "the number of cores, at most 4",
      .help = "JPEG encoder threads." },
    { .name = "max-clients",
      .metavar = "N",
      .kind = MJD_OPT_UINT,
      .min = 0,
      .max = 1000000,
      .offset = G(max_clients),
      .def = "1000",
      .help = "Streaming clients at once; past it, 503 with Retry-After." },
    { .name = "max-clients-per-ip",
      .metavar = "N",
      .kind = MJD_OPT_UINT,
      .min = 0,
      .max = 1000000,
      .offset = G(max_clients_per_ip),
      .def = "0, no limit",
      .help = "Streaming clients per IP address." },
    { .name = "max-pending",
      .metavar = "N",
      .kind = MJD_OPT_UINT,
      .min = 1,
      .max = 1000000,
      .offset = G(max_pending),
      .def = "1024",
      .help = "Connections that have not sent a full request head; when full, the oldest "
              "idle one is closed." },
    { .name = "recordings",
      .metavar = "DIR",
      .kind = MJD_OPT_CUSTOM,
      .flags = MJD_OPT_REPEAT,
      .parse = mjd_opt_read_recordings,
      .expect = "a folder",
      .def = "none",
      .help = "Also serve the recordings in DIR (read-only: its catalog DIR/recordings.sqlite) "
              "at /recordings and /recordings/SEGMENT; every --record DIR is served without "
              "it. Never written to." },
    { .name = "max-playbacks",
      .metavar = "N",
      .kind = MJD_OPT_UINT,
      .min = 1,
      .max = 10000,
      .offset = G(max_playbacks),
      .def = "8",
      .help = "Playbacks of recordings (and /recordings listings) at once, server-wide; past "
              "it, 503 with Retry-After. Each holds at most 8 frames (4 MiB) read ahead." },
    { .name = "auth",
      .metavar = "USER:PASS",
      .kind = MJD_OPT_CUSTOM,
      .flags = MJD_OPT_SECRET,
      .parse = mjd_opt_read_auth,
      .expect = "USER:PASS",
      .help = "Require HTTP basic authentication on every path (the value is hidden from ps "
              "once read, but prefer --auth-file)." },
    { .name = "auth-file",
      .metavar = "FILE",
      .kind = MJD_OPT_CUSTOM,
      .parse = mjd_opt_read_auth_file,
      .help = "Require HTTP basic authentication with the USER:PASS on the first line of "
              "FILE." },
    { .name = "allow-origin",
      .metavar = "ORIGIN",
      .kind = MJD_OPT_CUSTOM,
      .parse = mjd_opt_read_origin,
      .expect = "* or one origin such as https://host:port",
      .def = "off",
      .help = "Let pages from ORIGIN (or * for any) read the streams and snapshots with fetch(): "
              "every answer gets Access-Control-Allow-Origin, and OPTIONS preflights are "
              "answered." },
    { .name = "header-timeout",
      .metavar = "SEC",
      .kind = MJD_OPT_SECONDS,
      .max = 86400,
      .offset = G(header_timeout_ns),
      .def = "10",
      .help = "Total time a client has to send a request head." },
    { .name = "send-timeout",
      .metavar = "SEC",
      .kind = MJD_OPT_SECONDS,
      .max = 86400,
      .offset = G(send_timeout_ns),
      .def = "10",
      .help = "Close a client that accepts no data for this long." },
    { .name = "snapshot-timeout",
      .metavar = "SEC",
      .kind = MJD_OPT_SECONDS,
      .max = 86400,
      .offset = G(snapshot_timeout_ns),
      .def = "5",
      .help = "How long a snapshot of a source that has no fresh frame yet (sleeping with "
              "--on-demand, or starting) waits for one before it gets 503." },
    { .name = "send",
      .metavar = "PATH",
      .kind = MJD_OPT_CUSTOM,
      .parse = mjd_opt_read_send,
      .expect = "auto, splice, sendfile or copy",
      .def = "auto",
      .help = "How stream parts reach the sockets: splice (tee + splice of the frame's sealed "
              "memfd pages, no copy), sendfile (from the memfd), copy (sendmsg), or auto "
              "(splice where the kernel allows, else sendfile, else copy). A socket that "
              "refuses a path falls back to the next one." },
    { .name = "log-level",
      .metavar = "LEVEL",
      .kind = MJD_OPT_CUSTOM,
      .parse = mjd_opt_read_log_level,
      .expect = "error, warn, info or debug",
      .def = "info",
      .help = "The most verbose messages logged: error, warn, info or debug." },
    { .name = "log-format",
      .metavar = "FORMAT",
      .kind = MJD_OPT_CUSTOM,
      .parse = mjd_opt_read_log_format,
      .expect = "text or json",
      .def = "text",
      .help = "How log lines are written: text, or json (one object per line with time, level, "
              "ident, thread and msg)." },
    { .name = "log-file",
      .metavar = "FILE",
      .kind = MJD_OPT_STRING,
      .offset = G(log_file),
      .size = sizeof(((struct mjd_config *)NULL)->log_file),
      .expect = "a file name",
      .def = "stderr",
      .help = "Append the log to FILE; SIGHUP reopens it (after a rotation)." },
    { .name = "help",
      .kind = MJD_OPT_ACTION,
      .action = MJD_OPT_ACT_HELP,
      .help = "Print this help and exit." },
    { .name = "dump-options",
      .kind = MJD_OPT_ACTION,
      .flags = MJD_OPT_HIDDEN,
      .action = MJD_OPT_ACT_DUMP,
      .help = "Print the options --help lists, one a line: name, value name and help, "
              "tab-separated (for scripts/gen-manpage), and exit." },
    { .name = "version",
      .kind = MJD_OPT_ACTION,
      .action = MJD_OPT_ACT_VERSION,
      .help = "Print the version and exit." },
};

const struct mjd_option *mjd_options_table(size_t *n)
{
    *n = CORE_ARRAY_SIZE(table);
    return table;
}

const struct mjd_option *mjd_option_find(const char *name, size_t len)
{
    for (size_t i = 0; i < CORE_ARRAY_SIZE(table); i++) {
        if (strlen(table[i].name) == len && memcmp(table[i].name, name, len) == 0) {
            return &table[i];
        }
    }
    return NULL;
}

void mjd_option_describe(const struct mjd_option *o, char *buf, size_t cap)
{
    switch (o->kind) {
    case MJD_OPT_UINT:
        snprintf(buf, cap, "an integer %llu..%llu", o->min, o->max);
        break;
    case MJD_OPT_SECONDS:
        snprintf(buf, cap, "seconds %s, at most %llu, decimals allowed",
                 (o->flags & MJD_OPT_ZERO_OFF) ? "(0 for off)" : "above 0", o->max);
        break;
    case MJD_OPT_STRING:
    case MJD_OPT_CUSTOM:
        snprintf(buf, cap, "%s", o->expect != NULL ? o->expect : "a value");
        break;
    case MJD_OPT_FLAG:
    case MJD_OPT_ACTION:
    default:
        snprintf(buf, cap, "no value");
        break;
    }
}

int mjd_option_read(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                    const char *value, char *why, size_t why_cap)
{
    void *field = (char *)base + opt->offset;
    why[0] = '\0';
    int rc = -EINVAL;
    switch (opt->kind) {
    case MJD_OPT_UINT: {
        unsigned long long v = 0;
        if (mjd_opt_parse_uint(value, opt->min, opt->max, &v)) {
            *(unsigned *)field = (unsigned)v;
            rc = 0;
        }
        break;
    }
    case MJD_OPT_SECONDS: {
        double v = 0.0;
        bool low_ok = false;
        if (mjd_opt_parse_decimal(value, &v)) {
            low_ok = (opt->flags & MJD_OPT_ZERO_OFF) ? v >= 0.0 : v > 0.0;
        }
        if (low_ok && v <= (double)opt->max) {
            *(int64_t *)field = (int64_t)(v * 1e9);
            rc = 0;
        }
        break;
    }
    case MJD_OPT_STRING: {
        size_t n = strlen(value);
        if (n > 0 && n < opt->size) {
            memcpy(field, value, n + 1);
            rc = 0;
        } else {
            snprintf(why, why_cap, "at most %zu bytes", opt->size - 1);
        }
        break;
    }
    case MJD_OPT_CUSTOM:
        rc = opt->parse(opt, cfg, base, value, why, why_cap);
        break;
    case MJD_OPT_FLAG:
        // Given without a value (config.c refuses one): present means on.
        if (value == NULL) {
            *(bool *)field = true;
            rc = 0;
        }
        break;
    case MJD_OPT_ACTION:
    default:
        break;
    }
    if (rc != 0 && why[0] == '\0') {
        mjd_option_describe(opt, why, why_cap);
    }
    return rc;
}
