// SPDX-License-Identifier: MIT
/* The option table's value readers: sizes, byte counts, seconds, addresses, names, secrets. */
#include "mjpegd/options_values.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/compiler.h"
#include "mjpegd/sources/source.h"

// Every reader has the one mjd_opt_parse_fn signature, and most use two or three of its six
// parameters: unused ones are expected here, not a slip.
#pragma GCC diagnostic ignored "-Wunused-parameter"

bool mjd_opt_parse_uint(const char *s, unsigned long long min, unsigned long long max,
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

bool mjd_opt_parse_decimal(const char *s, double *out)
{
    if ((s[0] < '0' || s[0] > '9') && s[0] != '.') {
        return false;
    }
    char *end = NULL;
    double v = strtod(s, &end);
    if (*end != '\0' || !isfinite(v)) {
        return false;
    }
    *out = v;
    return true;
}

int mjd_opt_read_size(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                      const char *value, char *why, size_t why_cap)
{
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
    if (!mjd_opt_parse_uint(wbuf, 16, 8192, &w) || !mjd_opt_parse_uint(x + 1, 16, 8192, &h) ||
        w % 2 != 0 || h % 2 != 0) {
        return -EINVAL;
    }
    src->width = (unsigned)w;
    src->height = (unsigned)h;
    return 0;
}

int mjd_opt_read_source(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                        const char *value, char *why, size_t why_cap)
{
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
int mjd_opt_read_format(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                        const char *value, char *why, size_t why_cap)
{
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
int mjd_opt_read_flip(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                      const char *value, char *why, size_t why_cap)
{
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
int mjd_opt_read_control(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                         const char *value, char *why, size_t why_cap)
{
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

int mjd_opt_read_listen(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                        const char *value, char *why, size_t why_cap)
{
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
    if (hlen == 0 || hlen >= sizeof(l->host) || !mjd_opt_parse_uint(port, 0, 65535, &p)) {
        return -EINVAL;
    }
    memcpy(l->host, host, hlen);
    l->host[hlen] = '\0';
    snprintf(l->port, sizeof(l->port), "%llu", p);
    cfg->nlisten++;
    return 0;
}

/* --recordings DIR, repeatable: a folder whose recordings.sqlite playback reads. */
int mjd_opt_read_recordings(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                            const char *value, char *why, size_t why_cap)
{
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

int mjd_opt_read_auth(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                      const char *value, char *why, size_t why_cap)
{
    size_t n = strlen(value);
    if (strchr(value, ':') == NULL || n >= sizeof(cfg->auth)) {
        return -EINVAL;
    }
    memcpy(cfg->auth, value, n + 1);
    return 0;
}

/* The first line of the file named by value: USER:PASS, kept out of argv (and so out of ps). */
int mjd_opt_read_auth_file(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                           const char *value, char *why, size_t why_cap)
{
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
int mjd_opt_read_origin(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                        const char *value, char *why, size_t why_cap)
{
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

int mjd_opt_read_log_format(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                            const char *value, char *why, size_t why_cap)
{
    return core_log_parse_format(value, &cfg->log_format) == 0 ? 0 : -EINVAL;
}

int mjd_opt_read_log_level(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                           const char *value, char *why, size_t why_cap)
{
    return core_log_parse_level(value, &cfg->log_level) == 0 ? 0 : -EINVAL;
}

int mjd_opt_read_send(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                      const char *value, char *why, size_t why_cap)
{
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
int mjd_opt_read_bytes(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                       const char *value, char *why, size_t why_cap)
{
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
int mjd_opt_read_record_on(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                           const char *value, char *why, size_t why_cap)
{
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
int mjd_opt_read_roll(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                      const char *value, char *why, size_t why_cap)
{
    double v = 0.0;
    if (!mjd_opt_parse_decimal(value, &v) || v < 0.0 || v > (double)opt->max) {
        return -EINVAL;
    }
    *(int64_t *)(void *)((char *)base + opt->offset) = (int64_t)(v * 1e9);
    return 0;
}

/* --motion-threshold: a percentage above 0, at most 100, decimals allowed. */
int mjd_opt_read_percent(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                         const char *value, char *why, size_t why_cap)
{
    struct mjd_source_config *src = base;
    double v = 0.0;
    if (!mjd_opt_parse_decimal(value, &v) || v <= 0.0 || v > 100.0) {
        return -EINVAL;
    }
    src->motion_threshold = v;
    return 0;
}
