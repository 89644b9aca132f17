// SPDX-License-Identifier: MIT
/* HTTP basic authentication: base64 decoding and a constant-time credential compare. */
#include "mjpegd/auth.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

bool mjd_auth_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    const volatile unsigned char *pa = a;
    const volatile unsigned char *pb = b;
    // Walk the whole secret whatever the input; out-of-range input bytes read as 0.
    unsigned diff = (alen != blen);
    for (size_t i = 0; i < blen; i++) {
        unsigned char ca = i < alen ? pa[i] : 0;
        diff |= (unsigned)(ca ^ pb[i]);
    }
    return diff == 0;
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

int mjd_auth_base64_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
    while (len > 0 && in[len - 1] == '=') {
        len--;
    }
    if (len % 4 == 1) {
        return -EINVAL;
    }
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64val((unsigned char)in[i]);
        if (v < 0) {
            return -EINVAL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap) {
                return -EINVAL;
            }
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return (int)o;
}

bool mjd_auth_check_basic(const char *value, size_t len, const char *userpass)
{
    unsigned char decoded[512];
    if (len < 6 || strncasecmp(value, "Basic", 5) != 0 || (value[5] != ' ' && value[5] != '\t')) {
        return false;
    }
    size_t i = 6;
    while (i < len && (value[i] == ' ' || value[i] == '\t')) {
        i++;
    }
    int n = mjd_auth_base64_decode(value + i, len - i, decoded, sizeof(decoded));
    if (n < 0) {
        // Still compare, so that a malformed header costs the same time as a wrong one.
        n = 0;
    }
    return mjd_auth_ct_equal(decoded, (size_t)n, userpass, strlen(userpass)) && n > 0;
}
