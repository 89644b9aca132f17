// SPDX-License-Identifier: MIT
/* The command-line option table: one row per option drives parsing, errors, --help and man. */
#include "mjpegd/options.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/compiler.h"
#include "mjpegd/sources/source.h"

#define G(field) offsetof(struct mjd_config, field)
#define S(field) offsetof(struct mjd_source_config, field)

/* ---- value readers for the custom rows ------------------------------------------------------ */

static bool parse_u(const char *s, unsigned long long min, unsigned long long max,
                    unsigned long long *out)
{
    if (s[0] < '0' || s[0] > '9') {
        return false;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

static int read_size(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                     const char *value, char *why, size_t why_cap)
{
    (void)opt;
    (void)cfg;
    (void)why;
    (void)why_cap;
    struct mjd_source_config *src = base;
    const char *x = strchr(value, 'x');
    if (x == NULL || x - value > 5) {
        return -EINVAL;
    }
    char wbuf[8];
    memcpy(wbuf, value, (size_t)(x - value));
    wbuf[x - value] = '\0';
    unsigned long long w = 0;
    unsigned long long h = 0;
    if (!parse_u(wbuf, 16, 8192, &w) || !parse_u(x + 1, 16, 8192, &h) || w % 2 != 0 || h % 2 != 0) {
        return -EINVAL;
    }
    src->width = (unsigned)w;
    src->height = (unsigned)h;
    return 0;
}

static int read_source(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                       const char *value, char *why, size_t why_cap)
{
    (void)opt;
    (void)cfg;
    size_t n = strlen(value);
    struct mjd_source_config *src = base;
    if (n >= sizeof(src->spec)) {
        snprintf(why, why_cap, "at most %zu bytes", sizeof(src->spec) - 1);
        return -EINVAL;
    }
    if (!mjd_source_known(value)) {
        return -EINVAL;
    }
    memcpy(src->spec, value, n + 1);
    return 0;
}

/* --format: a camera's pixel format. */
static int read_format(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                       const char *value, char *why, size_t why_cap)
{
    (void)opt;
    (void)cfg;
    (void)why;
    (void)why_cap;
    static const struct {
        const char *name;
        enum mjd_capture_format format;
    } names[] = {
        { "auto", MJD_CAPTURE_AUTO }, { "mjpeg", MJD_CAPTURE_MJPEG }, { "yuyv", MJD_CAPTURE_YUYV },
        { "nv12", MJD_CAPTURE_NV12 }, { "rgb24", MJD_CAPTURE_RGB24 },
    };
    struct mjd_source_config *src = base;
    for (size_t i = 0; i < CORE_ARRAY_SIZE(names); i++) {
        if (strcmp(value, names[i].name) == 0) {
            src->format = (unsigned)names[i].format;
            return 0;
        }
    }
    return -EINVAL;
}

/* --flip: h, v, hv (or vh), none. */
static int read_flip(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                     const char *value, char *why, size_t why_cap)
{
    (void)opt;
    (void)cfg;
    (void)why;
    (void)why_cap;
    struct mjd_source_config *src = base;
    if (strcmp(value, "none") == 0) {
        src->flip = 0;
        return 0;
    }
    unsigned flip = 0;
    for (const char *p = value; *p != '\0'; p++) {
        unsigned bit = *p == 'h' ? MJD_FLIP_H : *p == 'v' ? MJD_FLIP_V : 0;
        if (bit == 0 || (flip & bit) != 0) {
            return -EINVAL;
        }
        flip |= bit;
    }
    if (flip == 0) {
        return -EINVAL;
    }
    src->flip = flip;
    return 0;
}

/* --control NAME=VALUE, repeatable: appended to the source's list (items joined by ','). */
static int read_control(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                        const char *value, char *why, size_t why_cap)
{
    (void)opt;
    (void)cfg;
    struct mjd_source_config *src = base;
    const char *eq = strchr(value, '=');
    if (eq == NULL || eq == value) {
        return -EINVAL;
    }
    for (const char *p = value; p < eq; p++) {
        if (!isalnum((unsigned char)*p) && *p != '_') {
            return -EINVAL;
        }
    }
    const char *v = eq + 1;
    errno = 0;
    char *end = NULL;
    long long n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < INT32_MIN || n > INT32_MAX) {
        return -EINVAL;
    }
    size_t have = strlen(src->controls);
    size_t add = strlen(value) + (have > 0 ? 1 : 0);
    if (have + add >= sizeof(src->controls)) {
        snprintf(why, why_cap, "at most %zu bytes of --control values per source",
                 sizeof(src->controls) - 1);
        return -EINVAL;
    }
    snprintf(src->controls + have, sizeof(src->controls) - have, "%s%s", have > 0 ? "," : "",
             value);
    return 0;
}

static int read_listen(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                       const char *value, char *why, size_t why_cap)
{
    (void)opt;
    (void)base;
    if (cfg->nlisten >= MJD_MAX_LISTEN) {
        snprintf(why, why_cap, "at most %d --listen options", MJD_MAX_LISTEN);
        return -EINVAL;
    }
    struct mjd_listen_config *l = &cfg->listen[cfg->nlisten];
    const char *host;
    size_t hlen;
    const char *port;
    if (value[0] == '[') {
        const char *close = strchr(value, ']');
        if (close == NULL || close[1] != ':') {
            return -EINVAL;
        }
        host = value + 1;
        hlen = (size_t)(close - host);
        port = close + 2;
    } else {
        const char *colon = strrchr(value, ':');
        if (colon == NULL || memchr(value, ':', (size_t)(colon - value)) != NULL) {
            return -EINVAL;
        }
        host = value;
        hlen = (size_t)(colon - value);
        port = colon + 1;
    }
    unsigned long long p;
    if (hlen == 0 || hlen >= sizeof(l->host) || !parse_u(port, 0, 65535, &p)) {
        return -EINVAL;
    }
    memcpy(l->host, host, hlen);
    l->host[hlen] = '\0';
    snprintf(l->port, sizeof(l->port), "%llu", p);
    cfg->nlisten++;
    return 0;
}

/* --recordings DIR, repeatable: a folder whose recordings.sqlite playback reads. */
static int read_recordings(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                           const char *value, char *why, size_t why_cap)
{
    (void)opt;
    (void)base;
    size_t n = strlen(value);
    if (cfg->nrecordings >= MJD_MAX_RECORDINGS) {
        snprintf(why, why_cap, "at most %d --recordings options", MJD_MAX_RECORDINGS);
        return -EINVAL;
    }
    if (n == 0 || n >= sizeof(cfg->recordings[0]) - 200) {
        snprintf(why, why_cap, "a folder name of 1..%zu bytes", sizeof(cfg->recordings[0]) - 201);
        return -EINVAL;
    }
    memcpy(cfg->recordings[cfg->nrecordings], value, n + 1);
    cfg->nrecordings++;
    return 0;
}

static int read_auth(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                     const char *value, char *why, size_t why_cap)
{
    (void)opt;
    (void)base;
    (void)why;
    (void)why_cap;
    size_t n = strlen(value);
    if (strchr(value, ':') == NULL || n >= sizeof(cfg->auth)) {
        return -EINVAL;
    }
    memcpy(cfg->auth, value, n + 1);
    return 0;
}

/* The first line of the file named by value: USER:PASS, kept out of argv (and so out of ps). */
static int read_auth_file(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                          const char *value, char *why, size_t why_cap)
{
    (void)opt;
    (void)base;
    int fd = open(value, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_cap, "a readable file (%s)", strerror(errno));
        return -EINVAL;
    }
    char buf[sizeof(cfg->auth) + 1];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
        if (len == sizeof(buf) - 1 || memchr(buf, '\n', len) != NULL) {
            break;
        }
    }
    close(fd);
    buf[len] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    size_t n = strlen(buf);
    int rc = 0;
    if (strchr(buf, ':') == NULL || n >= sizeof(cfg->auth)) {
        snprintf(why, why_cap, "a file whose first line is USER:PASS");
        rc = -EINVAL;
    } else {
        memcpy(cfg->auth, buf, n + 1);
    }
    explicit_bzero(buf, sizeof(buf));
    return rc;
}

/* "*" or one origin (scheme://host[:port]): visible ASCII, no space or comma. */
static int read_origin(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                       const char *value, char *why, size_t why_cap)
{
    (void)opt;
    (void)base;
    (void)why;
    (void)why_cap;
    size_t n = strlen(value);
    if (n == 0 || n >= sizeof(cfg->allow_origin)) {
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c <= 0x20 || c >= 0x7f || c == ',') {
            return -EINVAL;
        }
    }
    if (strcmp(value, "*") != 0 && strstr(value, "://") == NULL) {
        return -EINVAL;
    }
    memcpy(cfg->allow_origin, value, n + 1);
    return 0;
}

static int read_log_format(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                           const char *value, char *why, size_t why_cap)
{
    (void)opt;
    (void)base;
    (void)why;
    (void)why_cap;
    return core_log_parse_format(value, &cfg->log_format) == 0 ? 0 : -EINVAL;
}

static int read_log_level(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                          const char *value, char *why, size_t why_cap)
{
    (void)opt;
    (void)base;
    (void)why;
    (void)why_cap;
    return core_log_parse_level(value, &cfg->log_level) == 0 ? 0 : -EINVAL;
}

static int read_send(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                     const char *value, char *why, size_t why_cap)
{
    (void)opt;
    (void)base;
    (void)why;
    (void)why_cap;
    static const char *const names[] = { "auto", "splice", "sendfile", "copy" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(value, names[i]) == 0) {
            cfg->send_mode = (enum mjd_send_mode)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* --keep-size: bytes, with an optional K, M, G or T suffix (powers of 1024); 0 is no limit. */
static int read_bytes(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                      const char *value, char *why, size_t why_cap)
{
    (void)opt;
    (void)cfg;
    (void)why;
    (void)why_cap;
    struct mjd_source_config *src = base;
    if (value[0] < '0' || value[0] > '9') {
        return -EINVAL;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(value, &end, 10);
    if (errno != 0) {
        return -EINVAL;
    }
    static const char units[] = "KMGT";
    unsigned shift = 0;
    if (*end != '\0') {
        const char *u = strchr(units, toupper((unsigned char)*end));
        if (u == NULL || end[1] != '\0') {
            return -EINVAL;
        }
        shift = 10 * (unsigned)(u - units + 1);
    }
    if (shift > 0 && v > (UINT64_MAX >> shift)) {
        return -EINVAL;
    }
    src->keep_size = (uint64_t)v << shift;
    return 0;
}

/* --record-on: always or motion. */
static int read_record_on(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                          const char *value, char *why, size_t why_cap)
{
    (void)opt;
    (void)cfg;
    (void)why;
    (void)why_cap;
    struct mjd_source_config *src = base;
    if (strcmp(value, "always") == 0) {
        src->record_on = MJD_RECORD_ALWAYS;
        return 0;
    }
    if (strcmp(value, "motion") == 0) {
        src->record_on = MJD_RECORD_MOTION;
        return 0;
    }
    return -EINVAL;
}

/* --pre-roll, --post-roll: decimal seconds, 0 allowed, at most opt->max; into an int64_t ns. */
static int read_roll(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                     const char *value, char *why, size_t why_cap)
{
    (void)cfg;
    (void)why;
    (void)why_cap;
    if ((value[0] < '0' || value[0] > '9') && value[0] != '.') {
        return -EINVAL;
    }
    char *end = NULL;
    double v = strtod(value, &end);
    if (*end != '\0' || !isfinite(v) || v < 0.0 || v > (double)opt->max) {
        return -EINVAL;
    }
    *(int64_t *)(void *)((char *)base + opt->offset) = (int64_t)(v * 1e9);
    return 0;
}

/* --motion-threshold: a percentage above 0, at most 100, decimals allowed. */
static int read_percent(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                        const char *value, char *why, size_t why_cap)
{
    (void)opt;
    (void)cfg;
    (void)why;
    (void)why_cap;
    struct mjd_source_config *src = base;
    if ((value[0] < '0' || value[0] > '9') && value[0] != '.') {
        return -EINVAL;
    }
    char *end = NULL;
    double v = strtod(value, &end);
    if (*end != '\0' || !isfinite(v) || v <= 0.0 || v > 100.0) {
        return -EINVAL;
    }
    src->motion_threshold = v;
    return 0;
}

/* ---- the table ----------------------------------------------------------------------------- */

static const struct mjd_option table[] = {
    { .name = "source",
      .metavar = "SPEC",
      .kind = MJD_OPT_CUSTOM,
      .scope = MJD_OPT_SOURCE,
      .flags = MJD_OPT_NEW_SOURCE,
      .parse = read_source,
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
      .parse = read_size,
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
      .help = "Frames per second captured (per source)." },
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
      .parse = read_format,
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
      .parse = read_control,
      .expect = "NAME=VALUE, NAME of letters, digits and _, VALUE an integer",
      .help = "Set a v4l2 camera control at open, named as v4l2-ctl lists it (brightness, "
              "contrast, saturation, hue, gain, sharpness, exposure_auto, exposure_absolute, "
              "white_balance_temperature, power_line_frequency...); an unknown name is logged "
              "with the names the camera has (per source)." },
    { .name = "flip",
      .metavar = "h|v|hv",
      .kind = MJD_OPT_CUSTOM,
      .scope = MJD_OPT_SOURCE,
      .parse = read_flip,
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
      .parse = read_bytes,
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
      .parse = read_record_on,
      .expect = "always or motion",
      .def = "always",
      .help = "Record every frame (always), or only while the picture moves (motion) (per "
              "source)." },
    { .name = "motion-threshold",
      .metavar = "PCT",
      .kind = MJD_OPT_CUSTOM,
      .scope = MJD_OPT_SOURCE,
      .parse = read_percent,
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
      .parse = read_roll,
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
      .parse = read_roll,
      .max = 60,
      .offset = S(post_roll_ns),
      .expect = "seconds, 0 to 60, decimals allowed",
      .def = "2",
      .help = "With --record-on motion: how long recording goes on after motion stopped (per "
              "source)." },
    { .name = "listen",
      .metavar = "HOST:PORT",
      .kind = MJD_OPT_CUSTOM,
      .flags = MJD_OPT_REPEAT,
      .parse = read_listen,
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
      .parse = read_recordings,
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
      .parse = read_auth,
      .expect = "USER:PASS",
      .help = "Require HTTP basic authentication on every path (the value is hidden from ps "
              "once read, but prefer --auth-file)." },
    { .name = "auth-file",
      .metavar = "FILE",
      .kind = MJD_OPT_CUSTOM,
      .parse = read_auth_file,
      .help = "Require HTTP basic authentication with the USER:PASS on the first line of "
              "FILE." },
    { .name = "allow-origin",
      .metavar = "ORIGIN",
      .kind = MJD_OPT_CUSTOM,
      .parse = read_origin,
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
      .parse = read_send,
      .expect = "auto, splice, sendfile or copy",
      .def = "auto",
      .help = "How stream parts reach the sockets: splice (tee + splice of the frame's sealed "
              "memfd pages, no copy), sendfile (from the memfd), copy (sendmsg), or auto "
              "(splice where the kernel allows, else sendfile, else copy). A socket that "
              "refuses a path falls back to the next one." },
    { .name = "log-level",
      .metavar = "LEVEL",
      .kind = MJD_OPT_CUSTOM,
      .parse = read_log_level,
      .expect = "error, warn, info or debug",
      .def = "info",
      .help = "The most verbose messages logged: error, warn, info or debug." },
    { .name = "log-format",
      .metavar = "FORMAT",
      .kind = MJD_OPT_CUSTOM,
      .parse = read_log_format,
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
        snprintf(buf, cap, "seconds above 0, at most %llu, decimals allowed", o->max);
        break;
    case MJD_OPT_STRING:
    case MJD_OPT_CUSTOM:
        snprintf(buf, cap, "%s", o->expect != NULL ? o->expect : "a value");
        break;
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
        if (parse_u(value, opt->min, opt->max, &v)) {
            *(unsigned *)field = (unsigned)v;
            rc = 0;
        }
        break;
    }
    case MJD_OPT_SECONDS: {
        if ((value[0] >= '0' && value[0] <= '9') || value[0] == '.') {
            char *end = NULL;
            double v = strtod(value, &end);
            if (*end == '\0' && isfinite(v) && v > 0.0 && v <= (double)opt->max) {
                *(int64_t *)field = (int64_t)(v * 1e9);
                rc = 0;
            }
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
    case MJD_OPT_ACTION:
    default:
        break;
    }
    if (rc != 0 && why[0] == '\0') {
        mjd_option_describe(opt, why, why_cap);
    }
    return rc;
}
