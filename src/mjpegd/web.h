// SPDX-License-Identifier: MIT
/* The viewer page, embedded from web/index.html at build time. */
#ifndef MJD_WEB_H
#define MJD_WEB_H

#include <stddef.h>

/** The bytes of web/index.html (generated into $(B)/gen/mjd_web_index.c). Immutable. */
extern const unsigned char mjd_web_index_html[];
extern const size_t mjd_web_index_html_len;

#endif
