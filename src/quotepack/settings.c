// SPDX-License-Identifier: MIT
/* The run options a directory keeps in its catalog, so that `quotepack update DIR` reuses them. */
#include "quotepack/settings.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "quotepack/catalog.h"
#include "quotepack/config.h"
#include "quotepack/transcode.h"

/* The recorded options: flags take no argument ("1" when given, "0" when not). */
static const struct {
    const char *key;
    bool flag;
} keys[] = {
    { "source", false },   { "format", false },      { "level", false },    { "batch", false },
    { "compact", true },   { "delimiter", false },   { "encoding", false }, { "strict", true },
    { "max-body", false }, { "date-format", false },
};

const char *qp_settings_delimiter(char delimiter, bool detect, char *buf, size_t size)
{
    if (detect) {
        return "auto";
    }
    if (delimiter == '\t') {
        return "tab";
    }
    if (delimiter == ' ') {
        return "space";
    }
    snprintf(buf, size, "%c", delimiter != 0 ? delimiter : ',');
    return buf;
}

int qp_settings_store(struct qp_catalog *cat, const struct qp_config *cfg)
{
    static const char *const formats[] = { "tgz", "tzst" };
    static const char *const levels[] = { "fast", "default", "best" };
    char batch[32];
    char max_body[32];
    char delim[8];
    snprintf(batch, sizeof(batch), "%zu", cfg->batch);
    snprintf(max_body, sizeof(max_body), "%zu", cfg->max_body);
    const char *values[sizeof(keys) / sizeof(keys[0])] = {
        cfg->source,
        formats[cfg->format],
        levels[cfg->level],
        batch,
        cfg->compact ? "1" : "0",
        qp_settings_delimiter(cfg->dialect.delimiter, cfg->dialect.detect, delim, sizeof(delim)),
        qp_encoding_name(cfg->dialect.encoding),
        cfg->dialect.strict ? "1" : "0",
        max_body,
        cfg->date_format,
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        int rc = qp_catalog_set_setting(cat, keys[i].key, values[i]);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int qp_settings_args(struct qp_catalog *cat, char ***argv, size_t *n)
{
    size_t cap = 2 * (sizeof(keys) / sizeof(keys[0]));
    char **v = core_xcalloc(cap + 1, sizeof(char *));
    size_t k = 0;
    *argv = NULL;
    *n = 0;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char value[QP_MAX_URL];
        int rc = qp_catalog_get_setting(cat, keys[i].key, value, sizeof(value));
        if (rc == -ENOENT) {
            continue;
        }
        if (rc != 0) {
            qp_settings_free(v, k);
            return rc;
        }
        char opt[32];
        snprintf(opt, sizeof(opt), "--%s", keys[i].key);
        if (keys[i].flag) {
            if (strcmp(value, "1") == 0) {
                v[k++] = core_xstrdup(opt);
            }
            continue;
        }
        v[k++] = core_xstrdup(opt);
        v[k++] = core_xstrdup(value);
    }
    *argv = v;
    *n = k;
    return 0;
}

void qp_settings_free(char **argv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(argv[i]);
    }
    free(argv);
}
