// SPDX-License-Identifier: MIT
/* A streaming gzip encoder: ISA-L igzip for --level fast, libdeflate members otherwise. */
#ifndef QP_GZIP_H
#define QP_GZIP_H

#include <stddef.h>

#include "core/compiler.h"
#include "quotepack/config.h"

/*
 * The encoders were measured on generated quote XML (docs/quotepack.md): ISA-L igzip level 1
 * is the fastest by far at a zlib-level-1 ratio; libdeflate gives the best ratio per second
 * at the higher levels but has no streaming API, so it writes one gzip member per 1 MiB of
 * input (RFC 1952 allows concatenated members; gzip, tar, libarchive and Python read them).
 * Not thread-safe: one encoder belongs to one thread.
 */
struct qp_gzip;

/** Receives compressed bytes; returns 0 or a negative errno, which stops the encoder. */
typedef int (*qp_gzip_sink_fn)(void *ctx, const void *data, size_t len);

/** Creates an encoder for level that writes to sink(ctx, ...). *out NULL on failure. */
int qp_gzip_create(struct qp_gzip **out, enum qp_level level, qp_gzip_sink_fn sink,
                   void *ctx) CORE_MUST_CHECK;
/** Compresses len bytes (borrowed). 0 or the sink's / the encoder's negative errno. */
int qp_gzip_write(struct qp_gzip *gz, const void *data, size_t len) CORE_MUST_CHECK;
/** Ends the stream and flushes everything to the sink. 0 or -errno. */
int qp_gzip_finish(struct qp_gzip *gz) CORE_MUST_CHECK;
/** Frees the encoder. Accepts NULL. */
void qp_gzip_destroy(struct qp_gzip *gz);

/** "igzip-1", "libdeflate-6", ...: the encoder and level used for level. Pure. */
const char *qp_gzip_encoder_name(enum qp_level level);

#endif
