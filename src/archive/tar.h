// SPDX-License-Identifier: MIT
/* Plain (uncompressed) tar members on an arc_writer, and the ustar header every writer uses. */
#ifndef ARC_TAR_H
#define ARC_TAR_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

struct arc_writer;

/** A tar block. */
#define ARC_TAR_BLOCK 512

/*
 * A member is written either from memory in one call or in pieces: arc_tar_begin() reserves
 * the header block, arc_tar_data() appends data as it comes, arc_tar_end() pads to a block and
 * writes the header, whose size field is known only then, back into its reserved place (the
 * file is a plain file, so pwrite does it). arc_tar_finish() appends the end of the archive.
 * Compressed archives (quotepack's .tgz/.tar.zst) frame these same bytes themselves and use
 * arc_tar_header() only. Not thread-safe: the writer's owner.
 */
struct arc_tar_member {
    uint64_t hdr_off; /* where the reserved header block starts */
    uint64_t size;    /* data bytes so far */
    int64_t mtime;
    char name[100];
};

/**
 * Fills a 512-byte ustar header for a regular file (mode 0644, owner root): -ENAMETOOLONG for
 * an empty name or one over 99 bytes. Sizes of 8 GiB and more use the base-256 size field
 * (GNU tar's and POSIX pax readers' extension). Pure.
 */
int arc_tar_header(unsigned char hdr[ARC_TAR_BLOCK], const char *name, uint64_t size,
                   int64_t mtime) CORE_MUST_CHECK;

/** Appends a whole member from memory (data borrowed). */
int arc_tar_add(struct arc_writer *w, const char *name, const void *data, size_t len,
                int64_t mtime) CORE_MUST_CHECK;

/** Starts a member written in pieces (name copied). */
int arc_tar_begin(struct arc_writer *w, struct arc_tar_member *m, const char *name,
                  int64_t mtime) CORE_MUST_CHECK;
/** Appends a piece of the member's data (borrowed). */
int arc_tar_data(struct arc_writer *w, struct arc_tar_member *m, const void *data,
                 size_t len) CORE_MUST_CHECK;
/** Pads the member to a block and writes its header. */
int arc_tar_end(struct arc_writer *w, struct arc_tar_member *m) CORE_MUST_CHECK;

/** Appends the end of the archive (two zero blocks); commit next. */
int arc_tar_finish(struct arc_writer *w) CORE_MUST_CHECK;

#endif
