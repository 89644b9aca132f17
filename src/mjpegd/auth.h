// SPDX-License-Identifier: MIT
/* HTTP basic authentication: base64 decoding and a constant-time credential compare. */
#ifndef MJD_AUTH_H
#define MJD_AUTH_H

#include <stdbool.h>
#include <stddef.h>

/**
 * Compares a[0..alen) with the secret b[0..blen). The time taken depends on blen only, never
 * on the contents or on alen, so a client cannot learn the secret byte by byte. Any thread.
 */
bool mjd_auth_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/**
 * Decodes standard base64 (with or without '=' padding) into out (capacity cap).
 * Returns the decoded length, or -EINVAL for a malformed input or one that does not fit.
 */
int mjd_auth_base64_decode(const char *in, size_t len, unsigned char *out, size_t cap);

/**
 * Checks an Authorization header value (borrowed, e.g. "Basic dXNlcjpwYXNz") against
 * "user:pass" (borrowed). The scheme is case-insensitive. Any thread.
 */
bool mjd_auth_check_basic(const char *value, size_t len, const char *userpass);

#endif
