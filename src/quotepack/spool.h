// SPDX-License-Identifier: MIT
/* The spool: converted XML waiting in DIR/.spool/<symbol>.xml until its batch is packed. */
#ifndef QP_SPOOL_H
#define QP_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

struct qp_catalog;

/*
 * Files are written as <symbol>.xml.tmp and renamed, so a <symbol>.xml is always complete as
 * far as this process knows; after a power loss its contents are checked against the
 * catalog's size and CRC-32 before reuse. write/read/remove/check may be called from any
 * thread at once (each touches only its own symbol's file); open/prune/finish/close from the
 * owner thread.
 */
struct qp_spool;

/** Creates DIR/.spool if needed. *out NULL on failure. */
int qp_spool_open(struct qp_spool **out, const char *dir) CORE_MUST_CHECK;
/** Frees. Accepts NULL. */
void qp_spool_close(struct qp_spool *sp);

/** Writes the XML of symbol (data borrowed): temp file, then rename. 0 or -errno (-ENOSPC). */
int qp_spool_write(struct qp_spool *sp, const char *symbol, const void *data,
                   size_t len) CORE_MUST_CHECK;
/** Reads the XML of symbol into a new malloc'd buffer (caller frees). 0 or -errno. */
int qp_spool_read(struct qp_spool *sp, const char *symbol, char **data,
                  size_t *len) CORE_MUST_CHECK;
/** 0 when the XML of symbol exists with exactly size bytes and that CRC-32, else -errno. */
int qp_spool_check(struct qp_spool *sp, const char *symbol, uint64_t size, uint32_t crc);
/** Deletes the XML of symbol (and its temp file); a missing file is fine. */
void qp_spool_remove(struct qp_spool *sp, const char *symbol);
/**
 * Deletes every temp file and every XML file whose symbol the catalog does not hold as
 * converted (left by an interrupted run). 0 or -errno.
 */
int qp_spool_prune(struct qp_spool *sp, struct qp_catalog *cat) CORE_MUST_CHECK;
/** Removes the spool directory if it is empty (the end of a complete run). */
void qp_spool_finish(struct qp_spool *sp);

#endif
