// SPDX-License-Identifier: MIT
/* One archive file written crash-safely: temp name, fsync, rename, directory fsync. */
#ifndef ARC_WRITER_H
#define ARC_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

/*
 * The shared archive writer (issue 14). An archive DIR/NAME is written as DIR/.NAME.tmp;
 * arc_writer_commit() fsyncs the file, closes it, renames it to DIR/NAME and fsyncs DIR. So a
 * crash at any moment leaves either no DIR/NAME and perhaps a temp file (which the owner's
 * recovery removes), or the complete archive under its final name. arc_writer_close() frees
 * the writer and, unless the archive was committed, unlinks the temp file (the abort).
 *
 * The writer knows bytes, not formats: a caller appends whatever the archive holds (already
 * compressed frames, tar blocks from tar.h, ...). What is listed where (a catalog) is the
 * program's business, done after commit returns. Depends on libc only.
 *
 * Errors are negative errnos (-ENOSPC for a full disk). Not thread-safe: one owner thread.
 */
struct arc_writer;

/** Starts DIR/.NAME.tmp (replacing a stale one). *out is NULL on failure. */
int arc_writer_open(struct arc_writer **out, const char *dir, const char *name) CORE_MUST_CHECK;

/** Appends len bytes (borrowed), retrying short writes and EINTR. */
int arc_writer_write(struct arc_writer *w, const void *data, size_t len) CORE_MUST_CHECK;

/** Writes len bytes (borrowed) at offset off of the file, which must already be written. */
int arc_writer_pwrite(struct arc_writer *w, const void *data, size_t len,
                      uint64_t off) CORE_MUST_CHECK;

/**
 * The temp file's descriptor, for callers that copy into it with their own I/O (a spool's
 * copy_file_range); they report what they appended with arc_writer_count().
 */
int arc_writer_fd(const struct arc_writer *w);
/** Adds n to the bytes appended (after writing through arc_writer_fd()). */
void arc_writer_count(struct arc_writer *w, uint64_t n);

/** Bytes appended so far. */
uint64_t arc_writer_bytes(const struct arc_writer *w);
/** "DIR/.NAME.tmp" and "DIR/NAME" (owned by the writer). */
const char *arc_writer_tmp_path(const struct arc_writer *w);
const char *arc_writer_final_path(const struct arc_writer *w);

/**
 * fsync, close, rename into place, fsync DIR. After 0 the archive survives a crash. On an
 * error before the rename the temp file stays until arc_writer_close() unlinks it; an error
 * from the directory fsync comes after the rename (the archive is in place but may not
 * survive a power loss).
 */
int arc_writer_commit(struct arc_writer *w) CORE_MUST_CHECK;

/** Frees; unlinks the temp file unless committed (abort). Accepts NULL. */
void arc_writer_close(struct arc_writer *w);

/** fsyncs the directory DIR. 0 or -errno. Any thread. */
int arc_fsync_dir(const char *dir);

/**
 * A function called right before each durable step the writer takes, with its kind: "fsync"
 * (the file or the directory), "rename", "unlink" (an aborted temp file). A program's crash
 * tests use it (quotepack's failpoints); NULL (the default) calls nothing. Set it once
 * before any thread starts; the hook itself must be thread-safe.
 */
typedef void (*arc_step_hook_fn)(const char *kind);
void arc_set_step_hook(arc_step_hook_fn hook);

#endif
