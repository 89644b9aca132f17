// SPDX-License-Identifier: MIT
/* The server's configuration: filled from the command line, then read-only and shared. */
#include "mjpegd/config.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/version.h"
#include "mjpegd/sources/source.h"

static const char usage_text[] =
        "usage: mjpegd [options]\n"
        "Serves an MJPEG stream to many clients at once.\n"
        "\n"
        "  --source SPEC            frame source: test (default)\n"
        "  --size WxH               frame size (default 1280x720; even, 16..8192)\n"
        "  --fps N                  frames per second (default 30; 1..240)\n"
        "  --quality Q              JPEG quality 1-100 (default 75)\n"
        "  --listen HOST:PORT       address to listen on (default 127.0.0.1:8080;\n"
        "                           [::1]:PORT for IPv6, port 0 for an ephemeral port)\n"
        "  --workers N              network event loops (default: number of cores; 1..64)\n"
        "  --encoders N             JPEG encoder threads (default: number of cores, at most 4)\n"
        "  --max-clients N          streaming clients at once (default 1000); then 503\n"
        "  --max-clients-per-ip N   streaming clients per IP address (default 0: no limit)\n"
        "  --max-pending N          connections that have not sent a full request head\n"
        "                           (default 1024); when full the oldest one is closed\n"
        "  --auth USER:PASS         require HTTP basic authentication on every path\n"
        "  --header-timeout SEC     total time allowed to send a request head (default 10)\n"
        "  --send-timeout SEC       drop a client that accepts no data for SEC (default 10)\n"
        "  --log-level LEVEL        error, warn, info (default) or debug\n"
        "  --log-format FORMAT      text (default) or json (one object per line)\n"
        "  --help                   print this help and exit\n"
        "  --version                print the version and exit\n"
        "\n"
        "Endpoints: / (viewer), /stream, /snapshot, /state (JSON), /metrics (Prometheus),\n"
        "/?action=stream, /?action=snapshot. /stream?fps=N caps one client's rate.\n";

static unsigned cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MJD_MAX_WORKERS ? MJD_MAX_WORKERS : (unsigned)n;
}

void mjd_config_defaults(struct mjd_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    strcpy(cfg->source, "test");
    cfg->width = 1280;
    cfg->height = 720;
    cfg->fps = 30;
    cfg->quality = MJD_DEFAULT_QUALITY;
    strcpy(cfg->listen_host, "127.0.0.1");
    strcpy(cfg->listen_port, "8080");
    cfg->workers = cores();
    cfg->encoders = CORE_MIN(cores(), 4u);
    cfg->max_clients = 1000;
    cfg->max_clients_per_ip = 0;
    cfg->max_pending = MJD_DEFAULT_MAX_PENDING;
    cfg->header_timeout_ns = 10 * CORE_NS_PER_SEC;
    cfg->send_timeout_ns = 10 * CORE_NS_PER_SEC;
    cfg->log_level = CORE_LOG_INFO;
    cfg->log_format = CORE_LOG_FORMAT_TEXT;
}

static bool parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
    if (s[0] < '0' || s[0] > '9') {
        return false;
    }
    errno = 0;
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return false;
    }
    *out = (unsigned)v;
    return true;
}

static bool parse_seconds(const char *s, int64_t *out)
{
    if ((s[0] < '0' || s[0] > '9') && s[0] != '.') {
        return false;
    }
    char *end = NULL;
    double v = strtod(s, &end);
    if (*end != '\0' || !isfinite(v) || v <= 0.0 || v > 86400.0) {
        return false;
    }
    *out = (int64_t)(v * 1e9);
    return true;
}

static bool parse_size(const char *s, unsigned *w, unsigned *h)
{
    const char *x = strchr(s, 'x');
    if (x == NULL || x - s > 5) {
        return false;
    }
    char wbuf[8];
    memcpy(wbuf, s, (size_t)(x - s));
    wbuf[x - s] = '\0';
    return parse_uint(wbuf, 16, 8192, w) && parse_uint(x + 1, 16, 8192, h) && *w % 2 == 0 &&
           *h % 2 == 0;
}

static bool parse_listen(const char *s, struct mjd_config *cfg)
{
    const char *host;
    size_t hlen;
    const char *port;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':') {
            return false;
        }
        host = s + 1;
        hlen = (size_t)(close - host);
        port = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL) {
            return false;
        }
        host = s;
        hlen = (size_t)(colon - s);
        port = colon + 1;
    }
    unsigned p;
    if (hlen == 0 || hlen >= sizeof(cfg->listen_host) || !parse_uint(port, 0, 65535, &p)) {
        return false;
    }
    memcpy(cfg->listen_host, host, hlen);
    cfg->listen_host[hlen] = '\0';
    snprintf(cfg->listen_port, sizeof(cfg->listen_port), "%u", p);
    return true;
}

static bool copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        return false;
    }
    memcpy(dst, src, n + 1);
    return true;
}

enum mjd_config_result mjd_config_parse(struct mjd_config *cfg, int argc, char **argv, FILE *out,
                                        FILE *err)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(usage_text, out);
            return MJD_CONFIG_EXIT;
        }
        if (strcmp(arg, "--version") == 0) {
            fprintf(out, "mjpegd %s\n", CORE_VERSION);
            return MJD_CONFIG_EXIT;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(err, "mjpegd: unexpected argument '%s'\nTry 'mjpegd --help'.\n", arg);
            return MJD_CONFIG_USAGE;
        }
        // Both "--name value" and "--name=value".
        char name[64];
        const char *value = NULL;
        const char *eq = strchr(arg, '=');
        size_t nlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        if (nlen >= sizeof(name)) {
            nlen = sizeof(name) - 1;
        }
        memcpy(name, arg, nlen);
        name[nlen] = '\0';
        if (eq != NULL) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            fprintf(err, "mjpegd: option '%s' needs a value\nTry 'mjpegd --help'.\n", name);
            return MJD_CONFIG_USAGE;
        }
        bool ok;
        if (strcmp(name, "--source") == 0) {
            ok = copy_str(cfg->source, sizeof(cfg->source), value) && mjd_source_known(value);
        } else if (strcmp(name, "--size") == 0) {
            ok = parse_size(value, &cfg->width, &cfg->height);
        } else if (strcmp(name, "--fps") == 0) {
            ok = parse_uint(value, 1, 240, &cfg->fps);
        } else if (strcmp(name, "--quality") == 0) {
            unsigned q = 0;
            ok = parse_uint(value, 1, 100, &q);
            if (ok) {
                cfg->quality = (int)q;
            }
        } else if (strcmp(name, "--listen") == 0) {
            ok = parse_listen(value, cfg);
        } else if (strcmp(name, "--workers") == 0) {
            ok = parse_uint(value, 1, MJD_MAX_WORKERS, &cfg->workers);
        } else if (strcmp(name, "--encoders") == 0) {
            ok = parse_uint(value, 1, 64, &cfg->encoders);
        } else if (strcmp(name, "--max-clients") == 0) {
            ok = parse_uint(value, 0, 1000000, &cfg->max_clients);
        } else if (strcmp(name, "--max-clients-per-ip") == 0) {
            ok = parse_uint(value, 0, 1000000, &cfg->max_clients_per_ip);
        } else if (strcmp(name, "--max-pending") == 0) {
            ok = parse_uint(value, 1, 1000000, &cfg->max_pending);
        } else if (strcmp(name, "--auth") == 0) {
            ok = strchr(value, ':') != NULL && copy_str(cfg->auth, sizeof(cfg->auth), value);
        } else if (strcmp(name, "--header-timeout") == 0) {
            ok = parse_seconds(value, &cfg->header_timeout_ns);
        } else if (strcmp(name, "--send-timeout") == 0) {
            ok = parse_seconds(value, &cfg->send_timeout_ns);
        } else if (strcmp(name, "--log-level") == 0) {
            ok = core_log_parse_level(value, &cfg->log_level) == 0;
        } else if (strcmp(name, "--log-format") == 0) {
            ok = core_log_parse_format(value, &cfg->log_format) == 0;
        } else {
            fprintf(err, "mjpegd: unknown option '%s'\nTry 'mjpegd --help'.\n", name);
            return MJD_CONFIG_USAGE;
        }
        if (!ok) {
            fprintf(err, "mjpegd: invalid value '%s' for %s\nTry 'mjpegd --help'.\n", value, name);
            return MJD_CONFIG_USAGE;
        }
    }
    return MJD_CONFIG_RUN;
}
