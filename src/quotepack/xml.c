// SPDX-License-Identifier: MIT
/* XML helpers for the converter: element names from CSV headers, text checks and escaping. */
#include "quotepack/xml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decodes one UTF-8 code point at s[0..len); returns its length, or 0 if the bytes are not
 * valid UTF-8 (surrogates included). */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t n;
    uint32_t v;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        v = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        v = c & 0x0Fu;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        v = c & 0x07u;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (len < n) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if (s[i] < lo || s[i] > hi) {
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    *cp = v;
    return n;
}

/* XML 1.0 (fifth edition) NameStartChar, without ':' which namespaces reserve. */
static bool name_start(uint32_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
           (c >= 0xC0 && c <= 0xD6) || (c >= 0xD8 && c <= 0xF6) || (c >= 0xF8 && c <= 0x2FF) ||
           (c >= 0x370 && c <= 0x37D) || (c >= 0x37F && c <= 0x1FFF) ||
           (c >= 0x200C && c <= 0x200D) || (c >= 0x2070 && c <= 0x218F) ||
           (c >= 0x2C00 && c <= 0x2FEF) || (c >= 0x3001 && c <= 0xD7FF) ||
           (c >= 0xF900 && c <= 0xFDCF) || (c >= 0xFDF0 && c <= 0xFFFD) ||
           (c >= 0x10000 && c <= 0xEFFFF);
}

/* XML 1.0 NameChar, without ':'. */
static bool name_char(uint32_t c)
{
    return name_start(c) || c == '-' || c == '.' || (c >= '0' && c <= '9') || c == 0xB7 ||
           (c >= 0x300 && c <= 0x36F) || (c >= 0x203F && c <= 0x2040);
}

size_t qp_xml_name_from_header(const char *hdr, size_t len, char *out)
{
    const unsigned char *s = (const unsigned char *)hdr;
    /* Leave one byte in front for a '_' prefix, moved into place at the end if not needed. */
    char *o = out + 1;
    bool first = true, prefix = false;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (n == 0) {
            cp = 0xFFFFFFFFu; /* invalid: one '_' per bad byte */
            n = 1;
        } else if (cp == ' ') {
            i += n;
            continue;
        }
        if (first && cp != 0xFFFFFFFFu && name_char(cp) && !name_start(cp)) {
            prefix = true;
        }
        first = false;
        if (cp != 0xFFFFFFFFu && name_char(cp)) {
            memcpy(o, s + i, n);
            o += n;
        } else {
            *o++ = '_';
        }
        i += n;
    }
    size_t nlen = (size_t)(o - (out + 1));
    if (nlen == 0) {
        out[0] = '_';
        return 1;
    }
    if (!prefix && nlen >= 3 && (out[1] == 'x' || out[1] == 'X') &&
        (out[2] == 'm' || out[2] == 'M') && (out[3] == 'l' || out[3] == 'L')) {
        prefix = true;
    }
    if (prefix) {
        out[0] = '_';
        return nlen + 1;
    }
    memmove(out, out + 1, nlen);
    return nlen;
}

struct slot {
    const char *s; /* NULL: empty */
    size_t len;
    bool taken; /* assigned to a column (else only reserved as some column's own name) */
};

struct set {
    struct slot *slots;
    size_t mask;
};

static uint64_t hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    }
    return h;
}

/* Finds s, or the empty slot where it belongs. */
static struct slot *set_find(struct set *set, const char *s, size_t len)
{
    size_t i = (size_t)hash(s, len) & set->mask;
    for (;;) {
        struct slot *sl = &set->slots[i];
        if (sl->s == NULL || (sl->len == len && memcmp(sl->s, s, len) == 0)) {
            return sl;
        }
        i = (i + 1) & set->mask;
    }
}

void qp_xml_names_destroy(struct qp_xml_names *names)
{
    if (names == NULL) {
        return;
    }
    free(names->names);
    free(names->lens);
    free(names);
}

int qp_xml_names_create(const struct qp_xml_text *headers, size_t n, struct qp_xml_names **out)
{
    *out = NULL;
    /* Each name: its mapped bytes, up to 21 for "_<number>", and a NUL. */
    const size_t extra = 24;
    if (n > SIZE_MAX / 64) {
        return -E2BIG;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t need = headers[i].len + 2 + extra;
        if (headers[i].len > SIZE_MAX / 4 || total > SIZE_MAX / 2 - need) {
            return -E2BIG;
        }
        total += need;
    }
    size_t setcap = 16;
    while (setcap < 4 * n) {
        setcap *= 2;
    }
    struct qp_xml_names *names = calloc(1, sizeof(*names));
    /* One block: the name pointers, then the characters. */
    char **ptrs = malloc(n * sizeof(char *) + total + 1);
    size_t *lens = malloc((n ? n : 1) * sizeof(size_t));
    struct slot *slots = calloc(setcap, sizeof(*slots));
    if (names == NULL || ptrs == NULL || lens == NULL || slots == NULL) {
        free(names);
        free(ptrs);
        free(lens);
        free(slots);
        return -ENOMEM;
    }
    struct set set = { slots, setcap - 1 };
    char *chars = (char *)(ptrs + n);
    char *cur = chars;

    /* Pass 1: every column's own name, reserved so that numbering never takes it. */
    for (size_t i = 0; i < n; i++) {
        size_t len = qp_xml_name_from_header(headers[i].data, headers[i].len, cur);
        cur[len] = '\0';
        ptrs[i] = cur;
        lens[i] = len;
        struct slot *sl = set_find(&set, cur, len);
        if (sl->s == NULL) {
            sl->s = cur;
            sl->len = len;
        }
        cur += len + 1 + extra;
    }
    /* Pass 2: the first column with a name keeps it, the others get the lowest free _N. */
    for (size_t i = 0; i < n; i++) {
        struct slot *sl = set_find(&set, ptrs[i], lens[i]);
        if (!sl->taken) {
            sl->taken = true;
            continue;
        }
        char *base = ptrs[i];
        size_t blen = lens[i];
        for (size_t k = 2;; k++) {
            int w = snprintf(base + blen, extra, "_%zu", k);
            size_t clen = blen + (size_t)w;
            struct slot *c = set_find(&set, base, clen);
            if (c->s == NULL) {
                c->s = base;
                c->len = clen;
                c->taken = true;
                lens[i] = clen;
                break;
            }
        }
    }
    free(slots);
    names->count = n;
    names->names = ptrs;
    names->lens = lens;
    *out = names;
    return 0;
}

int qp_xml_check_text(const char *s, size_t len, size_t *bad_offset)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = u[i];
        if (c >= 0x20 && c < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = utf8_decode(u + i, len - i, &cp);
        bool ok = n > 0 && (cp >= 0x20 || cp == '\t' || cp == '\n' || cp == '\r') && cp != 0xFFFE &&
                  cp != 0xFFFF;
        if (!ok) {
            if (bad_offset != NULL) {
                *bad_offset = i;
            }
            return -EILSEQ;
        }
        i += n;
    }
    return 0;
}

/* Bytes that need an entity in character data. */
static const uint8_t escape_class[256] = {
    ['&'] = 1,
    ['<'] = 2,
    ['>'] = 3,
    ['\r'] = 4,
};

size_t qp_xml_escape_text(const char *s, size_t len, char *out)
{
    char *o = out;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (escape_class[c]) {
        case 0:
            *o++ = (char)c;
            break;
        case 1:
            memcpy(o, "&amp;", 5);
            o += 5;
            break;
        case 2:
            memcpy(o, "&lt;", 4);
            o += 4;
            break;
        case 3:
            memcpy(o, "&gt;", 4);
            o += 4;
            break;
        default:
            memcpy(o, "&#13;", 5);
            o += 5;
            break;
        }
    }
    return (size_t)(o - out);
}
