// SPDX-License-Identifier: MIT
/* libFuzzer target: Basic auth decoding. Properties: base64 decoding agrees with a reference
 * decoder, encoding then decoding gives the bytes back, and check_basic accepts exactly the
 * header that encodes the credentials. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mjpegd/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)           \
    do {                      \
        if (!(cond)) {        \
            __builtin_trap(); \
        }                     \
    } while (0)

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t encode(const uint8_t *in, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < len) {
            v |= (unsigned)in[i + 1] << 8;
        }
        if (i + 2 < len) {
            v |= in[i + 2];
        }
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? alphabet[v & 63] : '=';
    }
    return o;
}

/* The 6-bit value of c, or -1. */
static int b64index(char c)
{
    for (int i = 0; i < 64; i++) {
        if (alphabet[i] == c) {
            return i;
        }
    }
    return -1;
}

/* Reference: strip trailing '=', reject len%4==1 and foreign bytes, else decode. */
static int ref_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
    while (len > 0 && in[len - 1] == '=') {
        len--;
    }
    if (len % 4 == 1) {
        return -EINVAL;
    }
    size_t want = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    for (size_t i = 0; i < len; i++) {
        if (b64index(in[i]) < 0) {
            return -EINVAL;
        }
    }
    if (want > cap) {
        return -EINVAL;
    }
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        unsigned v = 0;
        size_t k = 0;
        for (; k < 4 && i + k < len; k++) {
            v = v << 6 | (unsigned)b64index(in[i + k]);
        }
        v <<= 6 * (4 - k);
        for (size_t b = 0; b + 1 < k; b++) {
            out[o++] = (unsigned char)(v >> (16 - 8 * b));
        }
    }
    return (int)o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 2048) {
        return 0;
    }
    const char *s = (const char *)data;
    unsigned char a[1600], b[1600];
    size_t cap = (data[0] & 1) ? data[0] : sizeof(a);
    int n = mjd_auth_base64_decode(s, size, a, cap);
    int r = ref_decode(s, size, b, cap);
    CHECK(n == r);
    if (n > 0) {
        CHECK(memcmp(a, b, (size_t)n) == 0);
    }

    // The whole input as a header value against a fixed secret: no crash, and "Basic" needed.
    bool ok = mjd_auth_check_basic(s, size, "user:pass");
    CHECK(!ok || (size > 6 && (s[0] | 0x20) == 'b'));

    // Round trip: the input's bytes (NUL-free prefix, up to 300) as credentials.
    size_t ulen = strnlen(s, size < 300 ? size : 300);
    if (ulen == 0) {
        return 0;
    }
    char up[301];
    memcpy(up, s, ulen);
    up[ulen] = '\0';
    char hdr[8 + 404];
    static const char scheme[7] = { 'b', 'a', 's', 'i', 'c', ' ', '\t' };
    memcpy(hdr, scheme, sizeof(scheme));
    size_t h = 7 + encode((const uint8_t *)up, ulen, hdr + 7);
    int d = mjd_auth_base64_decode(hdr + 7, h - 7, a, sizeof(a));
    CHECK(d == (int)ulen && memcmp(a, up, ulen) == 0);
    CHECK(mjd_auth_check_basic(hdr, h, up));
    // Any other secret of the same length is refused (flip the last byte).
    char other[301];
    memcpy(other, up, ulen + 1);
    other[ulen - 1] = (char)(other[ulen - 1] == 'x' ? 'y' : 'x');
    CHECK(!mjd_auth_check_basic(hdr, h, other));
    // A truncated header is refused unless the truncation decodes to the same bytes.
    if (h > 8) {
        CHECK(!mjd_auth_check_basic(hdr, h - 4, up));
    }
    return 0;
}
