// SPDX-License-Identifier: MIT
/* Maps a request target to one of the server's endpoints. */
#include "mjpegd/route.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/http_parse.h"
#include "mjpegd/playback_time.h"
#include "mjpegd/url.h"

static bool parse_fps(const char *s, unsigned *out)
{
    if (s[0] == '\0' || strlen(s) > 4) {
        return false;
    }
    unsigned v = 0;
    for (const char *c = s; *c != '\0'; c++) {
        if (*c < '0' || *c > '9') {
            return false;
        }
        v = v * 10 + (unsigned)(*c - '0');
    }
    if (v == 0 || v > MJD_ROUTE_MAX_FPS) {
        return false;
    }
    *out = v;
    return true;
}

/* "stream", "stream_N", "snapshot", "snapshot_N" (N: 0..MJD_ROUTE_MAX_SOURCE, no leading 0). */
static bool parse_action(const char *v, struct mjd_route *out)
{
    static const struct {
        const char *name;
        enum mjd_route_kind kind;
    } actions[] = { { "stream", MJD_ROUTE_STREAM }, { "snapshot", MJD_ROUTE_SNAPSHOT } };
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        size_t n = strlen(actions[i].name);
        if (strncmp(v, actions[i].name, n) != 0) {
            continue;
        }
        const char *num = v + n;
        if (num[0] == '\0') {
            out->kind = actions[i].kind;
            return true;
        }
        if (num[0] != '_' || num[1] < '0' || num[1] > '9' || (num[1] == '0' && num[2] != '\0') ||
            strlen(num + 1) > 2) {
            return false;
        }
        unsigned idx = (unsigned)strtoul(num + 1, NULL, 10);
        for (const char *c = num + 1; *c != '\0'; c++) {
            if (*c < '0' || *c > '9') {
                return false;
            }
        }
        out->kind = actions[i].kind;
        out->source = idx;
        return idx <= MJD_ROUTE_MAX_SOURCE;
    }
    return false;
}

/* "/N/stream" or "/N/snapshot" (N: 0..MJD_ROUTE_MAX_SOURCE, no leading 0). */
static bool parse_numbered(const char *path, struct mjd_route *out)
{
    const char *p = path + 1;
    unsigned idx = 0;
    size_t digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 3) {
        idx = idx * 10 + (unsigned)(*p - '0');
        p++;
        digits++;
    }
    if (digits == 0 || *p != '/' || (path[1] == '0' && digits > 1) || idx > MJD_ROUTE_MAX_SOURCE) {
        return false;
    }
    if (strcmp(p, "/stream") == 0) {
        out->kind = MJD_ROUTE_STREAM;
    } else if (strcmp(p, "/snapshot") == 0) {
        out->kind = MJD_ROUTE_SNAPSHOT;
    } else {
        return false;
    }
    out->source = idx;
    return true;
}

/* "/recordings/NAME[?at=TIME]": a name only (never a path: the catalog maps it to a file). */
static int parse_recording(const char *name, const char *query, size_t qlen, struct mjd_route *out)
{
    char value[80];
    size_t n = strlen(name);
    if (!mjd_recordings_name_ok(name, n)) {
        return 400;
    }
    memcpy(out->name, name, n + 1);
    out->kind = MJD_ROUTE_RECORDING;
    int ar = mjd_query_get(query, qlen, "at", value, sizeof(value));
    if (ar == -ENOENT) {
        return 0;
    }
    if (ar < 0 || mjd_playback_parse_time(value, strlen(value), &out->at_us) != 0) {
        return 400;
    }
    out->has_at = true;
    return 0;
}

int mjd_route_resolve(const char *target, size_t len, struct mjd_route *out)
{
    char path[MJD_HTTP_MAX_REQUEST_LINE + 1];
    char value[64];
    out->kind = MJD_ROUTE_NOT_FOUND;
    out->source = 0;
    out->fps = 0;
    out->name[0] = '\0';
    out->has_at = false;
    out->at_us = 0;
    const char *q = memchr(target, '?', len);
    size_t plen = q != NULL ? (size_t)(q - target) : len;
    const char *query = q != NULL ? q + 1 : "";
    size_t qlen = q != NULL ? len - plen - 1 : 0;

    int n = mjd_url_decode(path, sizeof(path), target, plen, false);
    if (n < 0) {
        return n == -ENAMETOOLONG ? 414 : 400;
    }
    n = mjd_path_normalize(path, (size_t)n);
    if (n < 0) {
        return 400;
    }
    if (strcmp(path, "/") == 0) {
        int ar = mjd_query_get(query, qlen, "action", value, sizeof(value));
        if (ar == -ENOENT) {
            out->kind = MJD_ROUTE_INDEX;
        } else if (ar >= 0 && !parse_action(value, out)) {
            out->kind = MJD_ROUTE_NOT_FOUND;
        }
    } else if (strcmp(path, "/index.html") == 0) {
        out->kind = MJD_ROUTE_INDEX;
    } else if (strcmp(path, "/stream") == 0) {
        out->kind = MJD_ROUTE_STREAM;
    } else if (strcmp(path, "/snapshot") == 0) {
        out->kind = MJD_ROUTE_SNAPSHOT;
    } else if (strcmp(path, "/state") == 0) {
        out->kind = MJD_ROUTE_STATE;
    } else if (strcmp(path, "/metrics") == 0) {
        out->kind = MJD_ROUTE_METRICS;
    } else if (strcmp(path, "/recordings") == 0 || strcmp(path, "/recordings/") == 0) {
        out->kind = MJD_ROUTE_RECORDINGS;
    } else if (strncmp(path, "/recordings/", 12) == 0) {
        return parse_recording(path + 12, query, qlen, out);
    } else if (!parse_numbered(path, out)) {
        out->kind = MJD_ROUTE_NOT_FOUND;
        out->source = 0;
    }
    // fps means something only to a stream; anywhere else it is one more ignored parameter.
    if (out->kind == MJD_ROUTE_STREAM) {
        int fr = mjd_query_get(query, qlen, "fps", value, sizeof(value));
        if (fr >= 0 && !parse_fps(value, &out->fps)) {
            return 400;
        }
        if (fr < 0 && fr != -ENOENT) {
            return 400;
        }
    }
    return 0;
}
