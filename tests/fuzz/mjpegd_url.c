// SPDX-License-Identifier: MIT
/* libFuzzer target: percent-decoding, path normalisation and query lookup. Properties: a
 * normalised path never leaves the root (checked against a reference segment stack), has no
 * empty, "." or ".." segment, is idempotent, and agrees with the reference on success. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mjpegd/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)           \
    do {                      \
        if (!(cond)) {        \
            __builtin_trap(); \
        }                     \
    } while (0)

#define CAP 4096

/* Reference normaliser: a stack of segments. Returns the length or -EINVAL. */
static int reference(const char *in, size_t len, char *out)
{
    if (len == 0 || in[0] != '/') {
        return -EINVAL;
    }
    size_t starts[CAP];
    size_t depth = 0, o = 0, i = 0;
    while (i < len) {
        while (i < len && in[i] == '/') {
            i++;
        }
        size_t s = i;
        while (i < len && in[i] != '/') {
            i++;
        }
        size_t seg = i - s;
        if (seg == 0 || (seg == 1 && in[s] == '.')) {
            continue;
        }
        if (seg == 2 && in[s] == '.' && in[s + 1] == '.') {
            if (depth == 0) {
                return -EINVAL; // climbing above the root
            }
            o = starts[--depth];
            continue;
        }
        starts[depth++] = o;
        out[o++] = '/';
        memcpy(out + o, in + s, seg);
        o += seg;
    }
    if (o == 0 || (len > 1 && in[len - 1] == '/' && out[o - 1] != '/')) {
        out[o++] = '/';
    }
    out[o] = '\0';
    return (int)o;
}

static void check_normal(const char *p, size_t n)
{
    CHECK(n >= 1 && p[0] == '/' && p[n] == '\0' && strlen(p) == n);
    // Every segment is non-empty (except a final one after a kept trailing slash) and neither
    // "." nor "..": the path names something at or below the root.
    size_t i = 1;
    while (i < n) {
        size_t s = i;
        while (i < n && p[i] != '/') {
            i++;
        }
        size_t seg = i - s;
        CHECK(seg > 0);
        CHECK(!(seg == 1 && p[s] == '.'));
        CHECK(!(seg == 2 && p[s] == '.' && p[s + 1] == '.'));
        i++; // past the '/', or past the end
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > CAP - 1) {
        return 0;
    }
    bool plus = (data[0] & 1) != 0;
    const char *src = (const char *)data + 1;
    size_t len = size - 1;

    static char dec[CAP], path[CAP], ref[CAP], again[CAP];
    // A small capacity from the input too, to exercise -ENAMETOOLONG at every length.
    size_t cap = (data[0] & 2) ? (size_t)(data[0] >> 2) + 1 : sizeof(dec);
    int n = mjd_url_decode(dec, cap, src, len, plus);
    CHECK(n == -EINVAL || n == -ENAMETOOLONG || (n >= 0 && (size_t)n < cap));
    if (n < 0) {
        return 0;
    }
    CHECK((size_t)n <= len && dec[n] == '\0' && memchr(dec, '\0', (size_t)n) == NULL);

    memcpy(path, dec, (size_t)n + 1);
    int m = mjd_path_normalize(path, (size_t)n);
    int r = reference(dec, (size_t)n, ref);
    CHECK(m == r);
    if (m >= 0) {
        CHECK((size_t)m <= (size_t)n + 1);
        CHECK(memcmp(path, ref, (size_t)m + 1) == 0);
        check_normal(path, (size_t)m);
        memcpy(again, path, (size_t)m + 1);
        CHECK(mjd_path_normalize(again, (size_t)m) == m);
        CHECK(memcmp(again, path, (size_t)m + 1) == 0);
    }

    // The same bytes as a query string: every lookup stays inside the output buffer.
    static const char *const keys[] = { "action", "fps", "q", "" };
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        char out[64];
        int q = mjd_query_get(src, len, keys[k], out, sizeof(out));
        CHECK(q == -ENOENT || q == -EINVAL || q == -ENAMETOOLONG ||
              (q >= 0 && (size_t)q < sizeof(out) && out[q] == '\0'));
    }
    return 0;
}
