// SPDX-License-Identifier: MIT
/* Percent-decoding, path normalisation and query lookup for request targets. */
#include "mjpegd/url.h"

#include <errno.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int mjd_url_decode(char *dst, size_t cap, const char *src, size_t len, bool plus_space)
{
    size_t o = 0;
    if (cap == 0) {
        return -ENAMETOOLONG;
    }
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            if (i + 2 >= len) {
                return -EINVAL;
            }
            int hi = hexval(src[i + 1]);
            int lo = hexval(src[i + 2]);
            if (hi < 0 || lo < 0) {
                return -EINVAL;
            }
            c = (char)(hi * 16 + lo);
            if (c == '\0') {
                return -EINVAL;
            }
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        } else if (c == '\0') {
            return -EINVAL;
        }
        if (o + 1 >= cap) {
            return -ENAMETOOLONG;
        }
        dst[o++] = c;
    }
    dst[o] = '\0';
    return (int)o;
}

int mjd_path_normalize(char *path, size_t len)
{
    if (len == 0 || path[0] != '/') {
        return -EINVAL;
    }
    // Segments are copied left to right; o is the output length, always starting with '/'.
    size_t o = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && path[i] == '/') {
            i++;
        }
        size_t s = i;
        while (i < len && path[i] != '/') {
            i++;
        }
        size_t seg = i - s;
        if (seg == 0 || (seg == 1 && path[s] == '.')) {
            continue;
        }
        if (seg == 2 && path[s] == '.' && path[s + 1] == '.') {
            if (o == 0) {
                return -EINVAL;
            }
            do {
                o--;
            } while (o > 0 && path[o] != '/');
            continue;
        }
        path[o] = '/';
        memmove(path + o + 1, path + s, seg);
        o += 1 + seg;
    }
    // A trailing slash of the input is kept ("/a/" stays a directory path).
    if (o == 0 || (len > 1 && path[len - 1] == '/' && path[o - 1] != '/')) {
        path[o++] = '/';
    }
    path[o] = '\0';
    return (int)o;
}

int mjd_query_get(const char *query, size_t len, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key);
    size_t i = 0;
    while (i <= len) {
        size_t s = i;
        while (i < len && query[i] != '&') {
            i++;
        }
        const char *pair = query + s;
        size_t plen = i - s;
        const char *eq = memchr(pair, '=', plen);
        size_t nlen = eq != NULL ? (size_t)(eq - pair) : plen;
        if (nlen == klen && memcmp(pair, key, klen) == 0) {
            const char *v = eq != NULL ? eq + 1 : pair + plen;
            size_t vlen = plen - (size_t)(v - pair);
            return mjd_url_decode(out, cap, v, vlen, true);
        }
        i++;
    }
    return -ENOENT;
}
