// SPDX-License-Identifier: MIT
/* Single-byte text encodings (Latin-1, Windows-1252) to UTF-8, by hand-written tables. */
#include "quotepack/transcode.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Windows-1252 0x80..0x9F (the rest is Latin-1). The undefined 0x81 0x8D 0x8F 0x90 0x9D map to
 * the C1 control of the same number, as the WHATWG index and Windows itself do. */
static const uint16_t cp1252_c1[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, /* 80..87 */
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F, /* 88..8F */
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, /* 90..97 */
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178, /* 98..9F */
};

int qp_encoding_parse(const char *name, enum qp_encoding *out)
{
    static const struct {
        const char *name;
        enum qp_encoding enc;
    } names[] = {
        { "utf-8", QP_ENCODING_UTF8 },        { "utf8", QP_ENCODING_UTF8 },
        { "latin-1", QP_ENCODING_LATIN1 },    { "latin1", QP_ENCODING_LATIN1 },
        { "iso-8859-1", QP_ENCODING_LATIN1 }, { "iso8859-1", QP_ENCODING_LATIN1 },
        { "cp1252", QP_ENCODING_CP1252 },     { "windows-1252", QP_ENCODING_CP1252 },
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].enc;
            return 0;
        }
    }
    return -EINVAL;
}

const char *qp_encoding_name(enum qp_encoding enc)
{
    switch (enc) {
    case QP_ENCODING_UTF8:
        return "utf-8";
    case QP_ENCODING_LATIN1:
        return "latin-1";
    case QP_ENCODING_CP1252:
        return "cp1252";
    }
    return "unknown";
}

/* The length of the ASCII run at s[0..len). */
static size_t ascii_run(const uint8_t *s, size_t len)
{
    size_t i = 0;
#if defined(__SSE2__)
    while (len - i >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        unsigned mask = (unsigned)_mm_movemask_epi8(x); /* the top bit of each byte */
        if (mask != 0) {
            return i + (size_t)__builtin_ctz(mask);
        }
        i += 16;
    }
#endif
    while (i < len && s[i] < 0x80) {
        i++;
    }
    return i;
}

size_t qp_transcode_to_utf8(enum qp_encoding enc, const char *in, size_t len, char *out)
{
    const uint8_t *s = (const uint8_t *)in;
    uint8_t *o = (uint8_t *)out;
    size_t i = 0;
    if (enc == QP_ENCODING_UTF8) {
        if (len > 0) {
            memcpy(out, in, len);
        }
        return len;
    }
    while (i < len) {
        size_t run = ascii_run(s + i, len - i);
        if (run > 0) {
            memcpy(o, s + i, run);
            o += run;
            i += run;
            if (i == len) {
                break;
            }
        }
        uint32_t cp = s[i++];
        if (enc == QP_ENCODING_CP1252 && cp < 0xA0) {
            cp = cp1252_c1[cp - 0x80];
        }
        if (cp < 0x800) {
            *o++ = (uint8_t)(0xC0 | (cp >> 6));
            *o++ = (uint8_t)(0x80 | (cp & 0x3F));
        } else {
            *o++ = (uint8_t)(0xE0 | (cp >> 12));
            *o++ = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
            *o++ = (uint8_t)(0x80 | (cp & 0x3F));
        }
    }
    return (size_t)(o - (uint8_t *)out);
}
