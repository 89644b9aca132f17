// SPDX-License-Identifier: MIT
/* Compressed frames: one gzip member or one zstd frame per piece of a tar stream. */
#ifndef QP_FRAME_H
#define QP_FRAME_H

#include <stddef.h>

#include "core/compiler.h"
#include "quotepack/config.h"

/*
 * A .tgz is a series of gzip members and a .tar.zst a series of zstd frames: both formats
 * allow concatenation (RFC 1952; the zstd format, RFC 8878), and gzip, GNU tar, zstd,
 * libarchive and Python read the result as one stream. So every piece of an archive can be
 * compressed on its own, on any thread, and an archive is made by concatenating them
 * (docs/quotepack.md, "Archive format"). Encoders, measured on quote XML: ISA-L igzip level 1
 * for tgz --level fast, libdeflate 6 and 12 for default and best; zstd 1, 3 and 19.
 *
 * A compressor keeps its encoder state between calls, so it is made once per thread. Not
 * thread-safe: one thread uses one compressor.
 */
struct qp_frame;

/** Creates a compressor for format and level. 0 or -ENOMEM; *out is NULL on failure. */
int qp_frame_create(struct qp_frame **out, enum qp_format format,
                    enum qp_level level) CORE_MUST_CHECK;
/** Frees. Accepts NULL. */
void qp_frame_destroy(struct qp_frame *f);

/** Room a frame of len input bytes may need, for either format. Pure. */
size_t qp_frame_bound(size_t len);

/**
 * Compresses len bytes (borrowed) into one complete frame in out (cap bytes, at least
 * qp_frame_bound(len)) and sets *out_len. 0, -EFBIG (len over 4 GiB) or -EIO.
 */
int qp_frame_compress(struct qp_frame *f, const void *in, size_t len, void *out, size_t cap,
                      size_t *out_len) CORE_MUST_CHECK;

/** "igzip-1", "libdeflate-6", "zstd-19", ...: the encoder and level used. Pure. */
const char *qp_frame_encoder_name(enum qp_format format, enum qp_level level);

#endif
