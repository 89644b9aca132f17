// SPDX-License-Identifier: MIT
/* quotepack's immutable configuration: command-line parsing and symbol lists. */
#include "quotepack/config.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/version.h"
#include "quotepack/datetmpl.h"
#include "quotepack/shard.h"
#include "quotepack/strset.h"

// The usage text is in config_usage.c, the URL templates in config_url.c.

bool qp_config_looks_like_command(const char *word)
{
    size_t n = strlen(word);
    if (n < 2) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (word[i] < 'a' || word[i] > 'z') {
            return false;
        }
    }
    return true;
}

bool qp_symbol_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > QP_MAX_SYMBOL || s[0] == '.' || s[0] == '-') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '^' || c == '=' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

static int add_symbol(char ***list, size_t *n, size_t *cap, const char *s)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        *list = core_xrealloc(*list, *cap * sizeof(**list));
    }
    (*list)[(*n)++] = core_xstrdup(s);
    return 0;
}

static int read_symbols(const char *path, char ***list, size_t *n, size_t *cap, char *err,
                        size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        int e = errno;
        snprintf(err, errlen, "cannot read --symbols %s: %s", path, strerror(e));
        return -EINVAL;
    }
    char line[512];
    unsigned long lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        char *e = p + strlen(p);
        while (e > p && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) {
            *--e = '\0';
        }
        if (*p == '\0' || *p == '#') {
            continue;
        }
        if (!qp_symbol_valid(p)) {
            snprintf(err, errlen, "%s:%lu: invalid symbol \"%.64s\"", path, lineno, p);
            rc = -EINVAL;
            goto out;
        }
        add_symbol(list, n, cap, p);
    }
out:
    fclose(f);
    return rc;
}

static int parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < lo || v > hi) {
        return -EINVAL;
    }
    *out = (size_t)v;
    return 0;
}

/* A byte count with an optional K, M or G (powers of 1024) suffix. */
static int parse_bytes(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || s[0] == '-') {
        return -EINVAL;
    }
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k') {
        shift = 10;
    } else if (*end == 'M' || *end == 'm') {
        shift = 20;
    } else if (*end == 'G' || *end == 'g') {
        shift = 30;
    }
    if (shift > 0) {
        end++;
        if (*end == 'B' || *end == 'b') {
            end++;
        }
    }
    if (*end != '\0' || v > (UINT64_MAX >> shift)) {
        return -EINVAL;
    }
    v <<= shift;
    if (v < lo || v > hi) {
        return -EINVAL;
    }
    *out = v;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi)) {
        return -EINVAL;
    }
    *out = v;
    return 0;
}

int qp_config_parse(struct qp_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
    enum {
        OPT_SOURCE = 256,
        OPT_OUT,
        OPT_BATCH,
        OPT_JOBS,
        OPT_ISOLATE,
        OPT_CONNECTIONS,
        OPT_RATE,
        OPT_RETRIES,
        OPT_TIMEOUT,
        OPT_FORMAT,
        OPT_LEVEL,
        OPT_COMPACT,
        OPT_SHARD,
        OPT_SYMBOLS,
        OPT_HELP,
        OPT_VERSION,
        OPT_MAX_BODY,
        OPT_SPOOL_FILES,
        OPT_SPOOL_SIZE,
        OPT_CONNECT_TIMEOUT,
        OPT_SPEED_LIMIT,
        OPT_MAX_TIME,
        OPT_HOST_FAILURES,
        OPT_CACERT,
        OPT_INSECURE,
        OPT_HEADER,
        OPT_USER_AGENT,
        OPT_RETRY_FAILED,
        OPT_ONLY_FAILED,
        OPT_DELIMITER,
        OPT_ENCODING,
        OPT_STRICT,
        OPT_REFRESH,
        OPT_CATALOG_SYMBOLS,
        OPT_DATE_FORMAT,
    };
    static const struct option opts[] = {
        { "source", required_argument, NULL, OPT_SOURCE },
        { "out", required_argument, NULL, OPT_OUT },
        { "batch", required_argument, NULL, OPT_BATCH },
        { "jobs", required_argument, NULL, OPT_JOBS },
        { "isolate", no_argument, NULL, OPT_ISOLATE },
        { "connections", required_argument, NULL, OPT_CONNECTIONS },
        { "rate", required_argument, NULL, OPT_RATE },
        { "retries", required_argument, NULL, OPT_RETRIES },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "format", required_argument, NULL, OPT_FORMAT },
        { "level", required_argument, NULL, OPT_LEVEL },
        { "compact", no_argument, NULL, OPT_COMPACT },
        { "shard", required_argument, NULL, OPT_SHARD },
        { "symbols", required_argument, NULL, OPT_SYMBOLS },
        { "help", no_argument, NULL, OPT_HELP },
        { "version", no_argument, NULL, OPT_VERSION },
        { "max-body", required_argument, NULL, OPT_MAX_BODY },
        { "spool-files", required_argument, NULL, OPT_SPOOL_FILES },
        { "spool-size", required_argument, NULL, OPT_SPOOL_SIZE },
        { "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
        { "speed-limit", required_argument, NULL, OPT_SPEED_LIMIT },
        { "max-time", required_argument, NULL, OPT_MAX_TIME },
        { "host-failures", required_argument, NULL, OPT_HOST_FAILURES },
        { "cacert", required_argument, NULL, OPT_CACERT },
        { "insecure", no_argument, NULL, OPT_INSECURE },
        { "header", required_argument, NULL, OPT_HEADER },
        { "user-agent", required_argument, NULL, OPT_USER_AGENT },
        { "retry-failed", no_argument, NULL, OPT_RETRY_FAILED },
        { "only-failed", no_argument, NULL, OPT_ONLY_FAILED },
        { "delimiter", required_argument, NULL, OPT_DELIMITER },
        { "encoding", required_argument, NULL, OPT_ENCODING },
        { "strict", no_argument, NULL, OPT_STRICT },
        { "refresh", no_argument, NULL, OPT_REFRESH },
        { "catalog-symbols", no_argument, NULL, OPT_CATALOG_SYMBOLS },
        { "date-format", required_argument, NULL, OPT_DATE_FORMAT },
        { NULL, 0, NULL, 0 },
    };
    char **list = NULL;
    size_t n = 0;
    size_t cap = 0;
    const char *source = QP_DEFAULT_SOURCE;
    const char *symbols_file = NULL;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t retries = 3;
    size_t host_failures = 8;
    uint64_t bytes = 0;
    bool spool_files_given = false;
    int rc = 0;

    memset(cfg, 0, sizeof(*cfg));
    cfg->batch = 100;
    cfg->jobs = cores > 0 ? (size_t)cores : 1;
    cfg->connections = 16;
    cfg->timeout_s = 30;
    cfg->shard_n = 1;
    cfg->max_body = (size_t)2 << 30;
    cfg->spool_bytes = (uint64_t)1 << 30;
    cfg->connect_timeout_s = 10;
    cfg->speed_limit = 1;
    cfg->dialect.detect = true;
    err[0] = '\0';

    optind = 0; // full reset: parse may run more than once in one process (tests)
    opterr = 0;
    for (;;) {
        int li = -1;
        int c = getopt_long(argc, argv, "", opts, &li);
        if (c == -1) {
            break;
        }
        const char *a = optarg;
        switch (c) {
        case OPT_SOURCE:
            source = a;
            cfg->source_given = true;
            break;
        case OPT_OUT:
            free(cfg->out);
            cfg->out = core_xstrdup(a);
            break;
        case OPT_BATCH:
            rc = parse_size(a, 1, 1000000, &cfg->batch);
            break;
        case OPT_JOBS:
            rc = parse_size(a, 1, 1024, &cfg->jobs);
            break;
        case OPT_ISOLATE:
            cfg->isolate = true;
            break;
        case OPT_CONNECTIONS:
            rc = parse_size(a, 1, 1024, &cfg->connections);
            break;
        case OPT_RATE:
            rc = parse_double(a, 0, 1e6, &cfg->rate);
            break;
        case OPT_RETRIES:
            rc = parse_size(a, 0, 100, &retries);
            break;
        case OPT_TIMEOUT:
            rc = parse_double(a, 0.001, 86400, &cfg->timeout_s);
            break;
        case OPT_FORMAT:
            if (strcmp(a, "tgz") == 0) {
                cfg->format = QP_FORMAT_TGZ;
            } else if (strcmp(a, "tzst") == 0) {
                cfg->format = QP_FORMAT_TZST;
            } else {
                rc = -EINVAL;
            }
            break;
        case OPT_LEVEL:
            if (strcmp(a, "fast") == 0) {
                cfg->level = QP_LEVEL_FAST;
            } else if (strcmp(a, "default") == 0) {
                cfg->level = QP_LEVEL_DEFAULT;
            } else if (strcmp(a, "best") == 0) {
                cfg->level = QP_LEVEL_BEST;
            } else {
                rc = -EINVAL;
            }
            break;
        case OPT_COMPACT:
            cfg->compact = true;
            break;
        case OPT_SHARD:
            rc = qp_shard_parse(a, &cfg->shard_k, &cfg->shard_n);
            break;
        case OPT_SYMBOLS:
            symbols_file = a;
            break;
        case OPT_HELP:
            qp_config_usage(stdout);
            rc = 1;
            goto out;
        case OPT_VERSION:
            printf("quotepack %s\n", CORE_VERSION);
            rc = 1;
            goto out;
        case OPT_MAX_BODY:
            rc = parse_bytes(a, 1, (uint64_t)1 << 40, &bytes);
            cfg->max_body = (size_t)bytes;
            break;
        case OPT_SPOOL_FILES:
            rc = parse_size(a, 1, 10000000, &cfg->spool_files);
            spool_files_given = true;
            break;
        case OPT_SPOOL_SIZE:
            rc = parse_bytes(a, 1, (uint64_t)1 << 50, &cfg->spool_bytes);
            break;
        case OPT_CONNECT_TIMEOUT:
            rc = parse_double(a, 0.001, 86400, &cfg->connect_timeout_s);
            break;
        case OPT_SPEED_LIMIT:
            rc = parse_size(a, 1, (size_t)1 << 40, &cfg->speed_limit);
            break;
        case OPT_MAX_TIME:
            rc = parse_double(a, 0.001, 864000, &cfg->max_time_s);
            break;
        case OPT_HOST_FAILURES:
            rc = parse_size(a, 1, 1000000, &host_failures);
            break;
        case OPT_CACERT:
            free(cfg->cacert);
            cfg->cacert = core_xstrdup(a);
            break;
        case OPT_INSECURE:
            cfg->insecure = true;
            break;
        case OPT_HEADER:
            // "Name: value" (or "Name:" to remove one of curl's): a name, then a colon.
            if (a[0] == ':' || strchr(a, ':') == NULL || strpbrk(a, "\r\n") != NULL) {
                rc = -EINVAL;
                break;
            }
            cfg->headers = core_xrealloc(cfg->headers, (cfg->nheaders + 1) * sizeof(char *));
            cfg->headers[cfg->nheaders++] = core_xstrdup(a);
            break;
        case OPT_USER_AGENT:
            if (strpbrk(a, "\r\n") != NULL) {
                rc = -EINVAL;
                break;
            }
            free(cfg->user_agent);
            cfg->user_agent = core_xstrdup(a);
            break;
        case OPT_RETRY_FAILED:
            cfg->retry_failed = true;
            break;
        case OPT_ONLY_FAILED:
            cfg->only_failed = true;
            cfg->retry_failed = true;
            break;
        case OPT_DELIMITER:
            rc = qp_dialect_parse_delimiter(a, &cfg->dialect);
            break;
        case OPT_ENCODING:
            rc = qp_encoding_parse(a, &cfg->dialect.encoding);
            break;
        case OPT_STRICT:
            cfg->dialect.strict = true;
            break;
        case OPT_REFRESH:
            cfg->refresh = true;
            break;
        case OPT_CATALOG_SYMBOLS:
            cfg->catalog_symbols = true;
            break;
        case OPT_DATE_FORMAT:
            if (!qp_date_format_ok(a)) {
                rc = -EINVAL;
                break;
            }
            free(cfg->date_format);
            cfg->date_format = core_xstrdup(a);
            break;
        default:
            if (optopt != 0) {
                snprintf(err, errlen, "option %s needs an argument or is unknown",
                         argv[optind - 1]);
            } else {
                snprintf(err, errlen, "unknown option %s", argv[optind - 1]);
            }
            rc = -EINVAL;
            goto out;
        }
        if (rc != 0) {
            snprintf(err, errlen, "invalid value \"%s\" for --%s", a,
                     li >= 0 ? opts[li].name : "?");
            goto out;
        }
    }
    cfg->retries = (unsigned)retries;
    cfg->host_failures = (unsigned)host_failures;
    if (!spool_files_given) {
        cfg->spool_files = 2 * cfg->batch + cfg->connections;
    }
    if (cfg->spool_files < cfg->batch) {
        snprintf(err, errlen, "--spool-files %zu is less than --batch %zu: no archive could form",
                 cfg->spool_files, cfg->batch);
        rc = -EINVAL;
        goto out;
    }
    if (cfg->out == NULL) {
        cfg->out = core_xstrdup("quotes");
    }
    cfg->source = qp_config_source_template(source);
    if (cfg->source == NULL) {
        snprintf(err, errlen, "invalid --source %s", source);
        rc = -EINVAL;
        goto out;
    }
    if (strstr(cfg->source, "{symbol}") == NULL) {
        snprintf(err, errlen, "--source %s has no {symbol}", source);
        rc = -EINVAL;
        goto out;
    }
    cfg->has_from = strstr(cfg->source, "{from}") != NULL;
    if (cfg->date_format == NULL) {
        cfg->date_format = core_xstrdup(QP_DEFAULT_DATE_FORMAT);
    }
    if (strncmp(cfg->source, "http://", 7) != 0 && strncmp(cfg->source, "https://", 8) != 0 &&
        strncmp(cfg->source, "file://", 7) != 0) {
        snprintf(err, errlen, "--source must be an http, https or file URL: %s", source);
        rc = -EINVAL;
        goto out;
    }
    if (symbols_file != NULL) {
        rc = read_symbols(symbols_file, &list, &n, &cap, err, errlen);
        if (rc != 0) {
            goto out;
        }
    }
    if (optind < argc && qp_config_looks_like_command(argv[optind]) &&
        strcmp(argv[optind - 1], "--") != 0) {
        snprintf(err, errlen,
                 "\"%s\" looks like a command, not a symbol (commands: verify, ls, cat, retry, "
                 "update, compact, convert); to fetch a symbol of that name, put it after --",
                 argv[optind]);
        rc = -EINVAL;
        goto out;
    }
    for (int i = optind; i < argc; i++) {
        if (!qp_symbol_valid(argv[i])) {
            snprintf(err, errlen, "invalid symbol \"%.64s\"", argv[i]);
            rc = -EINVAL;
            goto out;
        }
        add_symbol(&list, &n, &cap, argv[i]);
    }
    if (n > 0 && cfg->catalog_symbols) {
        snprintf(err, errlen, "--catalog-symbols takes the catalog's symbols: give no SYMBOL");
        rc = -EINVAL;
        goto out;
    }
    if (n == 0 && !cfg->only_failed && !cfg->catalog_symbols) {
        snprintf(err, errlen, "no symbols: give SYMBOL... or --symbols FILE");
        rc = -EINVAL;
        goto out;
    }
    cfg->nsymbols_input = n;

    // De-duplicate (the first occurrence wins, so the order stays the input's) and shard.
    struct qp_strset set;
    qp_strset_init(&set, n);
    cfg->symbols = core_xcalloc(n + 1, sizeof(*cfg->symbols));
    for (size_t i = 0; i < n; i++) {
        if (qp_strset_add(&set, list[i], i) &&
            qp_shard_selects(list[i], cfg->shard_k, cfg->shard_n)) {
            cfg->symbols[cfg->nsymbols++] = list[i];
            list[i] = NULL;
        }
    }
    qp_strset_release(&set);
out:
    for (size_t i = 0; i < n; i++) {
        free(list[i]);
    }
    free(list);
    if (rc != 0) {
        qp_config_release(cfg);
    }
    return rc;
}

void qp_config_release(struct qp_config *cfg)
{
    if (cfg == NULL) {
        return;
    }
    for (size_t i = 0; i < cfg->nsymbols; i++) {
        free(cfg->symbols[i]);
    }
    free(cfg->symbols);
    for (size_t i = 0; i < cfg->nheaders; i++) {
        free(cfg->headers[i]);
    }
    free(cfg->headers);
    free(cfg->cacert);
    free(cfg->user_agent);
    free(cfg->date_format);
    free(cfg->source);
    free(cfg->out);
    memset(cfg, 0, sizeof(*cfg));
}
