// SPDX-License-Identifier: MIT
/* The http:// relay source's one pure helper, for tests (the source itself is in source.h). */
#ifndef MJD_HTTP_SOURCE_H
#define MJD_HTTP_SOURCE_H

#include <stdbool.h>

/**
 * Why a relayed transfer ended, as the negative errno its reads then fail with (what /state
 * shows as last_error): curl_code is the transfer's CURLcode, http_status the response code
 * (0 if none). 401/403 are -EACCES ("Permission denied": the URL's USER:PASS), 404 -ENOENT,
 * another HTTP error -EPROTO, a 3xx redirect (not followed) -EPROTO; a refused connection
 * -ECONNREFUSED, a name that does not resolve -EHOSTUNREACH, a timeout -ETIMEDOUT, a body that
 * is not multipart (not_multipart) -EPROTO, anything else (the upstream closed) -ECONNRESET.
 * Pure, any thread.
 */
int mjd_http_end_errno(int curl_code, long http_status, bool not_multipart);

#endif
