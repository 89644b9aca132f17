// SPDX-License-Identifier: MIT
/* Percent-decoding, path normalisation and query lookup for request targets. */
#ifndef MJD_URL_H
#define MJD_URL_H

#include <stdbool.h>
#include <stddef.h>

/**
 * Decodes %XX escapes of src[0..len) into dst (capacity cap, NUL-terminated). With plus_space,
 * '+' becomes a space (query values). Returns the decoded length, -EINVAL for a malformed
 * escape or an encoded NUL, -ENAMETOOLONG if it does not fit. Borrows both buffers. Any thread.
 */
int mjd_url_decode(char *dst, size_t cap, const char *src, size_t len, bool plus_space);

/**
 * Normalises a decoded absolute path in place: empty and "." segments go, ".." removes the
 * previous segment. Returns the new length (the path stays NUL-terminated), or -EINVAL if
 * the path does not start with '/' or a ".." would climb above the root. Any thread.
 */
int mjd_path_normalize(char *path, size_t len);

/**
 * Looks key up in an encoded query string (the part after '?', without it) and decodes its
 * first value into out (capacity cap). Returns the value length, -ENOENT if the key is
 * absent, -EINVAL for bad encoding, -ENAMETOOLONG if the value does not fit. Any thread.
 */
int mjd_query_get(const char *query, size_t len, const char *key, char *out, size_t cap);

#endif
