// SPDX-License-Identifier: MIT
/* One tar entry (header, data, padding), compressed in frames as its data arrives. */
#ifndef QP_MEMBER_H
#define QP_MEMBER_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "quotepack/config.h"

/*
 * The converter streams a member's XML in; this module frames it as a ustar entry, computes
 * its CRC-32 and SHA-256 and hands compressed frames (frame.h) to a sink, one frame per
 * QP_MEMBER_PIECE of tar data, so memory stays at a few pieces whatever the size. The tar header
 * must precede the data but holds its size, which is known only at the end, so:
 *   - an entry that ends within its first piece is one frame: header, data, padding;
 *   - a longer one is sent as its data frames, then one frame holding only the header
 *     (info.hdr_len bytes). The archive writer puts that last frame first (pack.h).
 * Not thread-safe: one writer per thread (or per worker process), reused entry after entry.
 */
struct qp_member;

/** Tar data per frame. */
#define QP_MEMBER_PIECE ((size_t)1 << 20)

/** Receives compressed bytes (borrowed for the call). 0 or a negative errno. */
typedef int (*qp_member_sink_fn)(void *ctx, const void *data, size_t len);

struct qp_member_info {
    uint64_t xml_len;         /* data bytes of the entry */
    uint32_t crc32;           /* CRC-32 of the data (gzip polynomial) */
    uint64_t data_len;        /* compressed bytes sent before the header frame */
    uint32_t hdr_len;         /* compressed bytes of the header frame sent last, 0 when inline */
    unsigned char sha256[32]; /* SHA-256 of the data (the archive's manifest lists it) */
};

/** Creates a writer for format and level. *out is NULL on failure (-ENOMEM). */
int qp_member_create(struct qp_member **out, enum qp_format format,
                     enum qp_level level) CORE_MUST_CHECK;
/** Frees. Accepts NULL. */
void qp_member_destroy(struct qp_member *m);

/**
 * Starts an entry named name (copied; -ENAMETOOLONG past 99 bytes) with mtime; its frames
 * go to sink(ctx). Any unfinished entry is dropped.
 */
int qp_member_begin(struct qp_member *m, const char *name, int64_t mtime, qp_member_sink_fn sink,
                    void *ctx) CORE_MUST_CHECK;
/**
 * Appends data bytes (borrowed). 0, or the sink's or the encoder's error. Its signature is
 * qp_convert_write_fn's, so the converter writes into it directly (ctx is the writer).
 */
int qp_member_write(void *m, const char *data, size_t len) CORE_MUST_CHECK;
/** Pads, sends the last frames and fills *info. 0 or a negative errno. */
int qp_member_end(struct qp_member *m, struct qp_member_info *info) CORE_MUST_CHECK;

/**
 * Fills a 512-byte ustar header for a regular file (mode 0644, owner root): -ENAMETOOLONG for
 * a name over 99 bytes. Sizes of 8 GiB and more use the base-256 size field (GNU tar's and
 * POSIX pax readers' extension). Pure.
 */
int qp_member_ustar_header(unsigned char hdr[512], const char *name, uint64_t size,
                           int64_t mtime) CORE_MUST_CHECK;

/** The end of a tar archive (two zero blocks) as one frame into out (malloc'd). Any thread. */
int qp_member_end_of_archive(enum qp_format format, enum qp_level level, char **out,
                             size_t *out_len) CORE_MUST_CHECK;

#endif
