// SPDX-License-Identifier: MIT
/* quotepack's immutable configuration: command-line parsing, symbol lists, URL templates. */
#ifndef QP_CONFIG_H
#define QP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "quotepack/dialect.h"

enum qp_format {
    QP_FORMAT_TGZ = 0,
    QP_FORMAT_TZST,
};

enum qp_level {
    QP_LEVEL_FAST = 0,
    QP_LEVEL_DEFAULT,
    QP_LEVEL_BEST,
};

#define QP_DEFAULT_SOURCE "http://table.finance.yahoo.com/table.csv?s={symbol}"
#define QP_MAX_SYMBOL     64
#define QP_MAX_URL        4096

/*
 * Filled once by qp_config_parse on the main thread, then read-only and shared by every thread.
 */
struct qp_config {
    char *source;       /* URL template with {symbol}; a bare path becomes a file:// URL */
    char *out;          /* output directory */
    size_t batch;       /* symbols per batch, >= 1 */
    size_t jobs;        /* converter threads (or processes with isolate), >= 1 */
    bool isolate;       /* convert in worker processes */
    size_t connections; /* concurrent transfers, >= 1 */
    double rate;        /* requests per second, 0 = unlimited */
    unsigned retries;   /* retries after the first attempt */
    double timeout_s;   /* per transfer */
    enum qp_format format;
    enum qp_level level;
    bool compact;
    unsigned shard_k; /* 0 <= shard_k < shard_n */
    unsigned shard_n; /* 1 = no sharding */
    char **symbols;   /* after --shard selection and de-duplication, in input order */
    size_t nsymbols;
    size_t nsymbols_input;         /* before --shard selection */
    size_t max_body;               /* bytes; a bigger body is that symbol's error */
    struct qp_csv_dialect dialect; /* --delimiter (default: detect), --encoding, --strict */
    /* The spool between convert and pack (docs/quotepack.md, "The spool bound"). */
    size_t spool_files;   /* converted entries waiting or symbols in flight, at most */
    uint64_t spool_bytes; /* compressed bytes waiting; past this the packer packs what it has */
    /* The network client (curl's names in parentheses). */
    double connect_timeout_s; /* per connection attempt (CONNECTTIMEOUT) */
    size_t speed_limit;       /* bytes/s below which for timeout_s a transfer is cut (LOW_SPEED) */
    double max_time_s;        /* per transfer in all, 0 = none (TIMEOUT) */
    unsigned host_failures;   /* connection failures in a row after which a host is given up */
    char *cacert;             /* CA bundle file, or NULL for the system's */
    bool insecure;            /* no TLS certificate or host name check */
    char **headers;           /* "Name: value" request headers */
    size_t nheaders;
    char *user_agent; /* or NULL for quotepack/<version> */
    /* Which symbols. */
    bool retry_failed;    /* also fetch symbols that failed permanently before */
    bool only_failed;     /* the symbols are the catalog's failed ones (quotepack retry) */
    bool catalog_symbols; /* the symbols are all the catalog's (quotepack update) */
    bool source_given;    /* --source was given (else retry takes the catalog's) */
    /* --refresh: archived symbols are fetched again, conditionally (If-None-Match /
     * If-Modified-Since from the catalog); a 304 or a body with the archived SHA-256 costs no
     * conversion and no archive, a changed body is archived again (docs/quotepack.md). */
    bool refresh;
    char *date_format; /* --date-format: how {to} and {from} are written (datetmpl.h) */
    bool has_from;     /* the source template has {from} (row-level generations) */
};

/**
 * Parses the pipeline's options (argv[0] is the program). On a usage error returns -EINVAL
 * with a sentence in err; returns 1 when --help or --version was printed (the caller exits 0).
 * Reads --symbols FILE. Not thread-safe (main thread, before any thread starts).
 */
int qp_config_parse(struct qp_config *cfg, int argc, char **argv, char *err,
                    size_t errlen) CORE_MUST_CHECK;
/** Frees what parse allocated. Accepts a zeroed config. */
void qp_config_release(struct qp_config *cfg);

/**
 * Whether a word is taken for a command rather than a symbol: two or more lowercase letters
 * and nothing else ("list", "status"). As the first word, or the first symbol not after "--",
 * such a word is a usage error. Pure.
 */
bool qp_config_looks_like_command(const char *word);

/** Prints the usage text to f (config_usage.c). */
void qp_config_usage(void *f);

/**
 * Whether s is an acceptable symbol: 1..64 characters from [A-Za-z0-9._^=-], not starting with
 * '.' or '-'. Symbols name files (<symbol>.xml), so nothing else is let through. Pure.
 */
bool qp_symbol_valid(const char *s);

/* ---- URL templates (config_url.c) ---- */

/**
 * Expands every "{symbol}" in tmpl with symbol, percent-encoding what is not unreserved in a
 * URL ('^' and '='). Returns 0, or -ENAMETOOLONG when the result does not fit in size. Pure.
 */
int qp_config_url(const char *tmpl, const char *symbol, char *out, size_t size);

/**
 * Turns a --source argument into a template: a URL (contains "://") is kept, a path (absolute
 * or relative, a directory or a template) becomes file://<absolute path>, percent-encoded
 * (every byte but letters, digits, "-._~/" and "{symbol}", so a space, '#' or '%' in a
 * directory name survives), with "/{symbol}.csv" appended when it has no {symbol}. Returns a
 * malloc'd string, or NULL on -ENOMEM/bad input.
 */
char *qp_config_source_template(const char *arg);

#endif
