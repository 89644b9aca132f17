// SPDX-License-Identifier: MIT
/* The spool: compressed archive entries waiting in DIR/.spool segment files to be packed. */
#ifndef QP_SPOOL_H
#define QP_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

/*
 * Each converter appends the archive entries it makes (member.h: compressed frames) to its own
 * segment file, DIR/.spool/seg-<id>, one record after the other, and starts a new segment past
 * 64 MiB. So converting a symbol costs a write or a few and no file is created, renamed or
 * deleted per symbol (those calls, on one directory from every thread, were what bounded small
 * files). The packer copies records into archives (copy_file_range) and releases them; a
 * segment is deleted when no writer uses it and every record in it was released.
 *
 * Records are not fsynced: after a crash the catalog's size and CRC-32 decide whether a
 * recorded one is still intact (recover.c), and anything the catalog does not record is
 * pruned. Thread safety: every function may be called from any thread (one mutex inside,
 * never held across I/O or a call out), except that a writer is used by one thread at a time
 * and open/adopt/prune/finish/close belong to the owner before and after the run.
 */
struct qp_spool;
struct qp_spool_writer;

#define QP_SPOOL_DIR ".spool"

/** Where one symbol's archive entry is: data frames at off, then hdr_len header bytes. */
struct qp_spool_rec {
    uint64_t seg;
    uint64_t off;
    uint64_t data_len;
    uint32_t hdr_len;
};

/** Creates DIR/.spool if needed; new segments are numbered after any there. *out NULL on error. */
int qp_spool_open(struct qp_spool **out, const char *dir) CORE_MUST_CHECK;
/** Closes every file. Accepts NULL. Owner, after every writer was destroyed. */
void qp_spool_close(struct qp_spool *sp);

/** The path of segment seg (for a worker process that writes a record). */
void qp_spool_segment_path(const struct qp_spool *sp, uint64_t seg, char *buf, size_t size);

/** A new writer, without a segment until its first record. */
int qp_spool_writer_create(struct qp_spool *sp, struct qp_spool_writer **out) CORE_MUST_CHECK;
/** Stops using the segment (deleted if nothing in it is live). Accepts NULL. */
void qp_spool_writer_destroy(struct qp_spool_writer *w);
/**
 * Starts a record: *seg and *off say where its first byte goes (a new segment when the current
 * one is full or there is none). 0 or -errno (creating the segment).
 */
int qp_spool_writer_begin(struct qp_spool_writer *w, uint64_t *seg, uint64_t *off) CORE_MUST_CHECK;
/** Appends to the record (a qp_member_sink_fn; ctx is the writer). 0 or -errno (-ENOSPC). */
int qp_spool_writer_append(void *w, const void *data, size_t len) CORE_MUST_CHECK;
/**
 * Ends the record: it holds data_len + hdr_len bytes (written by append, or by another
 * process at the place begin gave), becomes live, and *rec describes it.
 */
void qp_spool_writer_commit(struct qp_spool_writer *w, uint64_t data_len, uint32_t hdr_len,
                            struct qp_spool_rec *rec);
/** Drops the record begun last; its bytes are overwritten by the next one. */
void qp_spool_writer_abort(struct qp_spool_writer *w);

/**
 * Appends a live record to the archive file out_fd at its current offset, header frame
 * first (see member.h), and adds the bytes to *bytes. 0 or -errno.
 */
int qp_spool_copy(struct qp_spool *sp, const struct qp_spool_rec *rec, int out_fd,
                  uint64_t *bytes) CORE_MUST_CHECK;
/** Reads len bytes of segment seg at off into buf (recover.c's check). 0 or -errno (-EIO short). */
int qp_spool_pread(struct qp_spool *sp, uint64_t seg, uint64_t off, void *buf,
                   size_t len) CORE_MUST_CHECK;
/** The record is archived (or dropped): its segment may go. */
void qp_spool_release(struct qp_spool *sp, const struct qp_spool_rec *rec);

/** Keeps a record an earlier run wrote: -ENOENT when its segment is missing or too short. */
int qp_spool_adopt(struct qp_spool *sp, const struct qp_spool_rec *rec) CORE_MUST_CHECK;
/** Deletes every file in the spool but the segments of adopted records. 0 or -errno. */
int qp_spool_prune(struct qp_spool *sp) CORE_MUST_CHECK;
/** Removes the spool directory if it is empty (the end of a complete run). */
void qp_spool_finish(struct qp_spool *sp);

/** Segment files that exist now, and the most there were at once (stats and tests). */
void qp_spool_counts(struct qp_spool *sp, size_t *segments, size_t *peak);

#endif
