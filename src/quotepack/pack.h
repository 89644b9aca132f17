// SPDX-License-Identifier: MIT
/* Writes one archive crash-safely from spooled entries: temp name, fsync, rename, fsync dir. */
#ifndef QP_PACK_H
#define QP_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "quotepack/config.h"

struct qp_spool;
struct qp_spool_rec;

/*
 * An archive is the concatenation of its members' compressed frames (member.h), copied from
 * the spool as they are, and one last frame holding the end-of-archive blocks: the packer
 * compresses nothing. The file is written through the shared writer (archive/writer.h) as
 * DIR/.NAME.tmp; commit() fsyncs it, renames it to
 * DIR/NAME and fsyncs DIR, so after commit returns the archive survives a crash, and before
 * it nothing but a temporary file exists. destroy() without commit removes the temp file.
 * Errors are negative errnos (-ENOSPC for a full disk). Not thread-safe (the packer thread).
 */
struct qp_pack;

/** ".tgz" or ".tar.zst". Pure. */
const char *qp_pack_ext(enum qp_format format);

/** The name of archive number seq: "quotes-000042.tgz". Pure. */
void qp_pack_name(char *buf, size_t size, uint64_t seq, enum qp_format format);

enum qp_pack_name_kind {
    QP_PACK_NAME_OTHER = 0,
    QP_PACK_NAME_ARCHIVE, /* quotes-<digits>[-<digits>](.tgz|.tar.zst): ours, older runs too */
    QP_PACK_NAME_TEMP,    /* .quotes-<...>.tmp: an archive being written */
};

/** What a file name in the output directory is. The one matcher every reader uses. Pure. */
enum qp_pack_name_kind qp_pack_name_kind(const char *name);

/** Starts DIR/.NAME.tmp (replacing a stale one). *out is NULL on failure. */
int qp_pack_create(struct qp_pack **out, const char *dir, const char *name) CORE_MUST_CHECK;
/** Appends a spooled entry (header frame first). */
int qp_pack_add_record(struct qp_pack *p, struct qp_spool *sp,
                       const struct qp_spool_rec *rec) CORE_MUST_CHECK;
/** Appends bytes that are already compressed frames (borrowed). */
int qp_pack_add_frames(struct qp_pack *p, const void *data, size_t len) CORE_MUST_CHECK;
/**
 * Appends the end frame (end, end_len: qp_member_end_of_archive), fsyncs, renames into place,
 * fsyncs the directory. *bytes = archive size.
 */
int qp_pack_commit(struct qp_pack *p, const void *end, size_t end_len,
                   uint64_t *bytes) CORE_MUST_CHECK;
/** Frees; removes the temporary file unless committed. Accepts NULL. */
void qp_pack_destroy(struct qp_pack *p);

/** fsyncs the directory DIR. 0 or -errno. Any thread. */
int qp_fsync_dir(const char *dir);

#endif
