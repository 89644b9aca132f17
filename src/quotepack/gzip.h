// SPDX-License-Identifier: MIT
/* Gzip members: ISA-L igzip for --level fast, libdeflate for default and best. */
#ifndef QP_GZIP_H
#define QP_GZIP_H

#include <stddef.h>

#include "core/compiler.h"
#include "quotepack/config.h"

/*
 * The encoders were measured on generated quote XML (docs/quotepack.md): ISA-L igzip level 1
 * is the fastest by far at a zlib-level-1 ratio; libdeflate gives the best ratio per second
 * at the higher levels. A .tgz is written as a series of gzip members, one per tar entry
 * (RFC 1952 allows concatenated members; gzip, GNU tar, libarchive and Python read them), so
 * that each member can be compressed on the converter thread that produced the XML, on every
 * core at once, and the packer only concatenates.
 */

/**
 * Compresses len bytes (borrowed) into one complete gzip member in a new malloc'd buffer
 * (*out, *out_len; the caller frees). 0, -ENOMEM, or -EIO on an encoder failure. Pure; any
 * thread.
 */
int qp_gzip_compress(enum qp_level level, const void *data, size_t len, char **out,
                     size_t *out_len) CORE_MUST_CHECK;

/** "igzip-1", "libdeflate-6", ...: the encoder and level used for level. Pure. */
const char *qp_gzip_encoder_name(enum qp_level level);

#endif
