// SPDX-License-Identifier: MIT
/* quotepack's URL templates: --source into a template, a symbol into a URL (config.h). */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "quotepack/config.h"

int qp_config_url(const char *tmpl, const char *symbol, char *out, size_t size)
{
    static const char key[] = "{symbol}";
    size_t o = 0;
    for (const char *p = tmpl; *p != '\0';) {
        if (strncmp(p, key, sizeof(key) - 1) == 0) {
            for (const char *s = symbol; *s != '\0'; s++) {
                if (*s == '^' || *s == '=') {
                    if (o + 3 >= size) {
                        return -ENAMETOOLONG;
                    }
                    snprintf(out + o, 4, "%%%02X", (unsigned char)*s);
                    o += 3;
                } else {
                    if (o + 1 >= size) {
                        return -ENAMETOOLONG;
                    }
                    out[o++] = *s;
                }
            }
            p += sizeof(key) - 1;
        } else {
            if (o + 1 >= size) {
                return -ENAMETOOLONG;
            }
            out[o++] = *p++;
        }
    }
    if (o >= size) {
        return -ENAMETOOLONG;
    }
    out[o] = '\0';
    return 0;
}

/* Appends path to t, percent-encoding every byte but unreserved ones, '/' and "{symbol}". */
static size_t encode_path(char *t, size_t o, const char *path)
{
    static const char key[] = "{symbol}";
    for (const char *p = path; *p != '\0';) {
        unsigned char c = (unsigned char)*p;
        if (strncmp(p, key, sizeof(key) - 1) == 0) {
            memcpy(t + o, key, sizeof(key) - 1);
            o += sizeof(key) - 1;
            p += sizeof(key) - 1;
            continue;
        }
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
        if (plain) {
            t[o++] = (char)c;
        } else {
            snprintf(t + o, 4, "%%%02X", c);
            o += 3;
        }
        p++;
    }
    t[o] = '\0';
    return o;
}

char *qp_config_source_template(const char *arg)
{
    if (strstr(arg, "://") != NULL) {
        return core_xstrdup(arg);
    }
    char cwd[PATH_MAX];
    const char *prefix = "";
    if (arg[0] != '/') {
        if (getcwd(cwd, sizeof(cwd)) == NULL) {
            return NULL;
        }
        prefix = cwd;
    }
    bool has_key = strstr(arg, "{symbol}") != NULL;
    // Every byte of the path may become three; file:// and the suffix are fixed.
    size_t n = 3 * (strlen(prefix) + strlen(arg)) + 32;
    char *t = core_xmalloc(n);
    size_t o = (size_t)snprintf(t, n, "file://");
    o = encode_path(t, o, prefix);
    if (arg[0] != '/') {
        t[o++] = '/';
    }
    o = encode_path(t, o, arg);
    if (!has_key) {
        snprintf(t + o, n - o, "/{symbol}.csv");
    }
    return t;
}
