// SPDX-License-Identifier: MIT
/* Writes one archive (tar + gzip or zstd) crash-safely: temp name, fsync, rename, fsync dir. */
#ifndef QP_PACK_H
#define QP_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "quotepack/config.h"

/*
 * The archive is written to DIR/.NAME.tmp; commit() finishes it, fsyncs it, renames it to
 * DIR/NAME and fsyncs DIR, so after commit returns the archive survives a crash, and before
 * it nothing but a temporary file exists. destroy() without commit removes the temp file.
 * Errors are negative errnos (-ENOSPC for a full disk). Not thread-safe (the packer thread).
 */
struct qp_pack;

/** ".tgz" or ".tar.zst". Pure. */
const char *qp_pack_ext(enum qp_format format);

/** Starts DIR/.NAME.tmp (replacing a stale one). *out is NULL on failure. */
int qp_pack_create(struct qp_pack **out, const char *dir, const char *name, enum qp_format format,
                   enum qp_level level) CORE_MUST_CHECK;
/**
 * Adds a regular file member (data borrowed) with mode 0644 and mtime. For tgz this
 * compresses it here, as qp_pack_gzip_entry does.
 */
int qp_pack_add(struct qp_pack *p, const char *member, const void *data, size_t len,
                int64_t mtime) CORE_MUST_CHECK;
/**
 * Builds one ustar entry (header, data, padding to 512 bytes) for member and compresses it
 * into one gzip member in a new malloc'd buffer: the unit that a .tgz is made of. Pure; any
 * thread (the converters call it so that compression runs on every core).
 */
int qp_pack_gzip_entry(enum qp_level level, const char *member, const void *data, size_t len,
                       int64_t mtime, char **out, size_t *out_len) CORE_MUST_CHECK;
/** Appends an entry made by qp_pack_gzip_entry (borrowed) to a tgz archive. */
int qp_pack_add_gzip_entry(struct qp_pack *p, const void *gz, size_t len) CORE_MUST_CHECK;

/**
 * Fills a 512-byte ustar header for a regular file (mode 0644, owner root). -ENAMETOOLONG
 * for a name over 99 bytes, -EFBIG for a size of 8 GiB or more. Pure.
 */
int qp_pack_ustar_header(unsigned char hdr[512], const char *member, uint64_t size,
                         int64_t mtime) CORE_MUST_CHECK;

/** Finishes, fsyncs, renames into place, fsyncs the directory. *bytes = archive size. */
int qp_pack_commit(struct qp_pack *p, uint64_t *bytes) CORE_MUST_CHECK;
/** Frees; removes the temporary file unless committed. Accepts NULL. */
void qp_pack_destroy(struct qp_pack *p);

/** fsyncs the directory DIR. 0 or -errno. Any thread. */
int qp_fsync_dir(const char *dir);

#endif
